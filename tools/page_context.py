"""What a page transform knows about the page it works on (tools/site_hooks.py `TRANSFORMS`).

Every transform is `(root, ctx) -> None`: `root` is the selectolax (lexbor) node that holds the page's
content, parsed once in `on_page_content`; `ctx` is a `PageContext`. A transform changes the tree in place
and leaves what it found for later steps (the table of contents, the collected stylesheets, the search
index's copy, the description) in `ctx`, so transforms stay small functions of their arguments and a unit
test needs nothing but a tiny HTML fixture and a `PageContext(lang=..., nb=...)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class PageContext:
    """One page being rendered. Only `lang` and `nb` are needed to build one (tests); the hooks fill the rest."""

    #: The site language being rendered ("zh", "en", …): mkdocs' `theme.language`.
    lang: str
    #: The executed notebook as JSON (nbformat 4), or None for a markdown page.
    nb: dict | None
    #: mkdocs' Page (None in unit tests).
    page: Any = None
    #: mkdocs' config (None in unit tests).
    config: Any = None
    #: The file a contributor edits for this page, as error messages name it ("notebooks/en/init.ipynb").
    source_name: str = "the page"
    #: A markdown page's source text, so sanitizer errors can name a line ("" for notebooks).
    markdown: str = ""
    #: Where the page's own files go (figures): the page's folder in the site being built.
    out_dir: Path | None = None
    #: A notebook page's links and metadata (site_hooks `notebook_meta`: urls, strings, pytorch_docs).
    meta: dict = field(default_factory=dict)
    # --- what transforms leave for later steps -------------------------------------------------------
    #: The text of the <style> elements taken out of the page (served once as assets/notebook.css).
    css: list[str] = field(default_factory=list)
    #: Table-of-contents tokens from the rendered headings (mkdocs' get_toc format), None: keep mkdocs'.
    toc: list[dict] | None = None
    #: The content as the search index should read it (prose only), None: the page as it is.
    search_html: str | None = None
    #: The plain text of the first prose paragraph(s), for the meta description ("" when none).
    first_paragraph: str = ""

    @property
    def is_notebook(self) -> bool:
        return self.nb is not None

    @property
    def strings(self) -> dict:
        """The language's UI strings (mkdocs.<lang>.yml `extra.strings`)."""
        return self.meta.get("strings") or (self.config.extra.get("strings", {}) if self.config is not None else {})
