"""mkdocs hooks: what the site adds to, and removes from, the pages mkdocs-jupyter renders.

- per-language `site_url` (the language switcher looks the page up in the other language's sitemap), and
  the path of Material's script for overrides/main.html, which starts it on the reader's first interaction;
- on notebook pages: Open in Colab / Download / edit links built from `repo_url`, the execution stamp, the
  stale-translation or untranslated notice, alt text in the page's language on every figure (from the
  code cell's `alt` metadata), outputs kept out of the search index;
- light: plain code tokens lose their <span>s and the copy buttons their hidden source copies
  (tools/code_markup.py);
- safe: every piece of content (each cell's rendered markdown and outputs, hand-written and generated
  pages) passes the allowlist sanitizer (tools/sanitize.py); anything it would remove fails the build,
  naming the page and the cell; every page and template gets a Content-Security-Policy (tools/csp.py);
- offline and light: `$…$` math becomes MathML at build time (tools/math_render.py); mkdocs-jupyter's
  empty MathJax `<script src="">`, its CDN mermaid loader and the ~575 KB of JupyterLab CSS it inlines in
  every page are removed; the CSS is served once as `assets/notebook.css`.

How: `on_page_content` parses the page's content HTML once (selectolax, lexbor) and runs `TRANSFORMS`, an
ordered list of small functions `(root, ctx) -> None` over that tree (ctx: tools/page_context.py), then
serializes it once. No pattern is applied to HTML markup: a transform finds elements by CSS selector and
changes the tree. To add a step, write such a function (with a docstring saying why and a test in
tests/test_transforms.py) and add it to `TRANSFORMS` where its comments say.

Loaded by mkdocs from a file path (mkdocs.yml `hooks:`), so it imports the project's modules by path.
"""
from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from html import escape
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jinja2
from mkdocs.exceptions import PluginError
from mkdocs.plugins import CombinedEvent, event_priority
from mkdocs.structure.toc import get_toc
from pymdownx import slugs
from selectolax.lexbor import LexborHTMLParser, LexborNode

from tools import code_markup, math_render, notebook_css, seo
from tools.csp import add_csp
from tools.exercises import fold_solutions
from tools.explorers import mount as mount_explorers
from tools.page_context import PageContext
from tools.paths import ROOT, SOURCE_LANG
from tools.sanitize import check_svg_bytes, clean_html, line_of

Transform = Callable[[LexborNode, PageContext], None]

_css_seen: list[str] = []


def on_config(config, **kwargs):
    lang = config.theme["language"]
    base = (config.site_url or "").rstrip("/")
    if base and not base.endswith(f"/{lang}"):
        config.site_url = f"{base}/{lang}/"
    config.extra["theme_script"] = _theme_script(config)
    config.extra["site_root"] = seo.site_root(config.site_url or "", lang)  # overrides/404.html links the languages
    return config


def _theme_script(config) -> str:
    """Material's JavaScript bundle, as a site path: overrides/main.html starts it on the reader's first
    interaction. Its file name carries a content hash, so it is looked up in the theme, not written down."""
    found = sorted({f"assets/javascripts/{p.name}" for d in config.theme.dirs
                    for p in Path(d).glob("assets/javascripts/bundle.*.min.js")})
    if len(found) != 1:
        raise PluginError(f"expected one assets/javascripts/bundle.*.min.js in the theme, found {found or 'none'}")
    return found[0]


def _github_repo(repo_url: str) -> str:
    """owner/name of the repository, as Colab's GitHub URLs want it."""
    return urlparse(repo_url).path.strip("/").removesuffix(".git")


def _notebook_meta(page, config, nb) -> dict:
    lang = config.theme["language"]
    topic = Path(page.file.src_path).stem
    repo = _github_repo(config.repo_url)
    branch = config.edit_uri.strip("/").split("/")[-1] or "main"
    source = f"notebooks/{lang}/{topic}.ipynb"
    return {
        "lang": lang,
        "topic": topic,
        "colab_url": f"https://colab.research.google.com/github/{repo}/blob/{branch}/{source}",
        "download_url": f"{topic}.ipynb",  # include_source copies the executed notebook into the page's folder
        "download_name": f"{topic}.{lang}.ipynb",
        "edit_url": f"{config.repo_url.rstrip('/')}/edit/{branch}/{source}",
        "source_url": f"{config.repo_url.rstrip('/')}/blob/{branch}/notebooks/{SOURCE_LANG}/{topic}.ipynb",
        "strings": config.extra.get("strings", {}),
        "pytorch_docs": nb.get("metadata", {}).get("pytorch_docs", {}),
    }


def _source_name(page, config) -> str:
    """The file a contributor edits for this page, for error messages."""
    src, lang = page.file.src_path, config.theme["language"]
    if src.endswith(".ipynb"):
        return f"notebooks/{lang}/{Path(src).name}"
    generated = {"glossary.md": "glossary.yml", "translation-status.md": "the notebooks' translation metadata"}
    return f"{src} (generated from {generated[src]})" if src in generated else f"docs/{lang}/{src}"


def page_context(page, config) -> PageContext:
    """The PageContext of a page mkdocs is rendering (reads the executed notebook of a notebook page)."""
    nb = None
    if page.file.src_path.endswith(".ipynb"):
        nb = json.loads(Path(page.file.abs_src_path).read_text(encoding="utf-8"))
    return PageContext(
        lang=config.theme["language"], nb=nb, page=page, config=config,
        source_name=_source_name(page, config), markdown=page.markdown or "",
        out_dir=Path(config.site_dir) / page.file.dest_uri.rsplit("/", 1)[0],
        meta=_notebook_meta(page, config, nb) if nb is not None else {},
    )


# --- our own markup, as templates (overrides/partials/) -------------------------------------------------

#: Our own templates (not Material's: these are rendered here, autoescaped, and inserted into the tree).
_templates = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent.parent / "overrides"),
                                autoescape=True,
                                undefined=jinja2.StrictUndefined)


def _stamp_html(meta: dict) -> str:
    """The execution stamp and the torch-version lines (overrides/partials/stamp.html), "" when the
    notebook carries no execution record."""
    s, ex = meta["strings"], meta["pytorch_docs"].get("execution")
    if not ex:
        return ""
    parts = [ex["device"], f"torch {ex['torch']}"]
    if ex.get("cuda"):
        parts.append(f"CUDA {ex['cuda']}")
    parts += [ex["date"], f"{ex['seconds']} s"]
    how = s.get("recorded") if ex.get("source") == "recorded" else s.get("built")
    from tools.compat import page_texts  # the torch versions this code ran on (compat/*.json, same code key only)
    versions = page_texts(meta["topic"], meta["pytorch_docs"].get("code_key", ""), meta["lang"], s)
    return _templates.get_template("partials/stamp.html").render(
        executed_on=s.get("executed_on", "executed on"), parts=parts, how=how or "", versions=versions)


def _notice_html(meta: dict) -> str:
    """The untranslated or stale-translation notice (overrides/partials/notice.html), or ""."""
    s, tr = meta["strings"], meta["pytorch_docs"].get("translation", {})
    if tr.get("untranslated"):
        kind, text = "untranslated", s["untranslated"]
    elif tr.get("stale"):
        kind, text = "stale", s["stale"].format(cells=", ".join(map(str, tr["stale"])))
    else:
        return ""
    return _templates.get_template("partials/notice.html").render(
        kind=kind, text=text, source_url=meta["source_url"], see_source=s.get("see_source", "source"))


# --- the transforms, each (root, ctx) -> None ------------------------------------------------------------

def _fragment(html: str) -> list[LexborNode]:
    """Our own markup (a rendered template) as nodes to insert into the page."""
    return list(LexborHTMLParser(f"<body>{html}").body.iter(include_text=True))


def _cell_of(node: LexborNode) -> str | None:
    """The notebook cell id of the nbconvert cell wrapper (id="cell-id=…") holding `node`, if any."""
    cell = node.parent
    while cell is not None and not (cell.attributes.get("id") or "").startswith("cell-id="):
        cell = cell.parent
    return (cell.attributes.get("id") or "")[len("cell-id="):] if cell is not None else None


def slim_code(root: LexborNode, ctx: PageContext) -> None:
    """Fewer elements for a phone to style and lay out: plain code tokens unwrapped, no hidden source copies
    (tools/code_markup.py). Which tokens are plain is read from the notebook stylesheet mkdocs-jupyter
    inlined, so a markup or theme change that leaves no token colour fails the build instead of greying code.
    Before the math: the hidden source copies it drops are code, and `$` there is not math."""
    if not ctx.is_notebook:
        return
    styled = code_markup.styled_token_classes("\n".join(s.text(deep=True) or "" for s in root.css("style")))
    if not styled:
        raise PluginError(f"{ctx.source_name}: the notebook stylesheet mkdocs-jupyter inlined has no "
                          f".{code_markup.HIGHLIGHT_CLASS} token colours (did its markup change?)")
    code_markup.slim_code_cells(root, styled)


def render_math(root: LexborNode, ctx: PageContext) -> None:
    """`$…$` and `$$…$$` in prose become MathML (tools/math_render.py): no math script or font to load.
    Before the sanitizer, which checks the formulas too (they are made from TeX a contributor wrote)."""
    math_render.render_math_tree(root)


def _sanitize_problem(ctx: PageContext, where: str, removal) -> str:
    return f"{ctx.source_name}{where}: {removal} is not allowed (see \"HTML in content\" in CONTRIBUTING.md)"


def sanitize_cells(root: LexborNode, ctx: PageContext) -> None:
    """Every piece of a notebook page that comes from the notebook -- each markdown cell and each output,
    which nbconvert marks with data-mime-type -- replaced by what the allowlist sanitizer makes of it;
    anything it would remove fails the build, naming the notebook, the cell and the element. Templates' own
    markup (cell wrappers, prompts, code input rendered by Pygments) is left as it is."""
    if not ctx.is_notebook:
        return
    numbers = {c.get("id"): i for i, c in enumerate(ctx.nb["cells"], start=1)}
    problems = []
    for node in root.css("[data-mime-type]"):
        cleaned, removed = clean_html(node.inner_html or "")
        if removed:
            number = numbers.get(_cell_of(node))
            at = f": cell {number}" if number else ": a cell"
            problems += [_sanitize_problem(ctx, f"{at} ({node.attributes.get('data-mime-type')})", r) for r in removed]
        else:
            node.inner_html = cleaned  # publish what the sanitizer made (defence in depth, tools/sanitize.py)
    if problems:
        raise PluginError("\n".join(problems))


def sanitize_page(root: LexborNode, ctx: PageContext) -> None:
    """A markdown page's content (python-markdown's output: all of it comes from the page's text) through
    the allowlist; anything the sanitizer would remove fails the build, with the line where it can say."""
    if ctx.is_notebook:
        return
    cleaned, removed = clean_html(root.inner_html or "")
    if removed:
        raise PluginError("\n".join(
            _sanitize_problem(ctx, f" (line {n})" if (n := line_of(ctx.markdown, r)) else "", r) for r in removed))
    root.inner_html = cleaned


def collect_styles(root: LexborNode, ctx: PageContext) -> None:
    """The JupyterLab stylesheet mkdocs-jupyter inlines in every notebook page (~575 KB) leaves the page;
    `on_post_build` serves it once as assets/notebook.css. After the sanitizer: content can carry no
    <style> past it, so only mkdocs-jupyter's own are left to collect."""
    for style in root.css("style"):
        ctx.css.append(style.text(deep=True) or "")
        style.decompose()


def drop_scripts(root: LexborNode, ctx: PageContext) -> None:
    """Offline: mkdocs-jupyter's MathJax (an empty src, or its config) and its CDN loaders (mermaid,
    require.js) go; its copy-button script stays. Math is MathML already, and the site loads nothing
    from another origin."""
    for script in root.css("script"):
        attrs = script.attributes
        described = " ".join(f"{k}={v or ''}" for k, v in attrs.items()).lower()
        body = script.text(deep=True) or ""
        empty_src = "src" in attrs and not (attrs["src"] or "").strip()
        if empty_src or "mathjax" in described or any(s in body for s in ("cdnjs", "mermaid", "require.js")):
            script.decompose()


_FIGURE_TYPES = {"svg+xml": "svg", "png": "png", "jpeg": "jpg"}


def figures_to_files(root: LexborNode, ctx: PageContext) -> None:
    """Each figure becomes a file beside the page (cached, gzip-served), with the alt text of its code cell
    (metadata `alt`, in the page's language). An SVG figure passes the SVG allowlist first: as a file on
    the site's origin, a script in it would run with the site's rights.

    Why: mkdocs-jupyter inlines figures as base64 data URIs, which do not compress, are not cached and make
    the page (and the search plugin's parse) several times heavier. An image outside any code cell keeps
    its own alt text.
    """
    if not ctx.is_notebook:
        return
    alts = {c.get("id"): c.get("metadata", {}).get("alt", "") for c in ctx.nb["cells"] if c["cell_type"] == "code"}
    n = 0
    for img in root.css('img[src^="data:image/"]'):
        head, sep, data = (img.attributes.get("src") or "").partition(";base64,")
        kind = head.removeprefix("data:image/")
        if not sep or kind not in _FIGURE_TYPES:
            continue
        n += 1
        cell_id = _cell_of(img)
        name = f"figure-{n}.{_FIGURE_TYPES[kind]}"
        raw = base64.b64decode(data)
        if kind == "svg+xml" and (problems := check_svg_bytes(raw)):
            raise PluginError(f"{ctx.source_name}: figure {n} (cell id {cell_id}): " + "; ".join(problems)
                              + " is not allowed in a figure")
        ctx.out_dir.mkdir(parents=True, exist_ok=True)
        (ctx.out_dir / name).write_bytes(raw)
        img.attrs["src"] = name
        if cell_id in alts:
            img.attrs["alt"] = alts[cell_id] or ""
        img.attrs["loading"] = "lazy"
        img.attrs["decoding"] = "async"


#: nbconvert / mkdocs-jupyter blocks that are not prose: outputs, prompts, code editors, copy notices.
UNINDEXED = frozenset({"jp-OutputArea", "jp-InputPrompt", "jp-OutputPrompt", "jp-CodeMirrorEditor",
                       "zeroclipboard-container"})


def mark_unindexed(root: LexborNode, ctx: PageContext) -> None:
    """Code, outputs, prompts and copy notices are marked data-search-exclude: the search index holds the
    prose (`search_copy` cuts them out), and the description skips them."""
    if not ctx.is_notebook:
        return
    for div in root.css("div[class]"):
        if UNINDEXED.intersection((div.attributes.get("class") or "").split()) and "data-search-exclude" not in div.attributes:
            div.attrs["data-search-exclude"] = ""


_slug = slugs.slugify(case="lower")
_HEADINGS = "h1[id], h2[id], h3[id], h4[id], h5[id], h6[id]"


def _heading_text(heading: LexborNode) -> str:
    copy = heading.clone()
    for anchor in copy.css("a.anchor-link"):
        anchor.decompose()
    return copy.text(deep=True) or ""


def heading_ids(root: LexborNode, ctx: PageContext) -> None:
    """Give every heading an id of its own. nbconvert's slugs keep ASCII only, so a Chinese heading such as
    "## 概述" gets id="" (neither linkable nor in the table of contents), and two headings that differ only
    in Chinese get the same id. A heading that has an id of its own keeps it (links to it stay valid); the
    others get a slug of their text, made unique, and their ¶ anchor follows."""
    if not ctx.is_notebook:
        return
    taken = {node.attributes.get("id") or "" for node in root.css("[id]")} - {""}
    seen: set[str] = set()
    for heading in root.css(_HEADINGS):
        old = heading.attributes.get("id") or ""
        if old and old not in seen:
            seen.add(old)
            continue
        base = _slug(_heading_text(heading), "-") or f"section-{heading.tag[1]}"
        new, n = base, 1
        while new in taken:
            new, n = f"{base}_{n}", n + 1
        taken.add(new)
        seen.add(new)
        heading.attrs["id"] = new
        for anchor in heading.css("a.anchor-link"):
            if anchor.attributes.get("href") == f"#{old}":
                anchor.attrs["href"] = f"#{new}"


def _inline_html(node: LexborNode) -> str:
    """A heading's content as the TOC shows it: its text (escaped), with formulas kept as MathML."""
    out = []
    for child in node.iter(include_text=True):
        if child.is_text_node:
            out.append(escape(child.text_content or "", quote=False))
        elif child.tag == "math":
            out.append(child.html or "")
        elif not (child.tag == "a" and "anchor-link" in (child.attributes.get("class") or "").split()):
            out.append(_inline_html(child))
    return "".join(out)


def toc_from_headings(root: LexborNode, ctx: PageContext) -> None:
    """The table of contents from the rendered headings themselves (into ctx.toc; the hook hands it to
    mkdocs). mkdocs-jupyter derives its TOC from a markdown export that drops inline code, so a heading
    such as "`batch_size` and `drop_last`" links to #and while the heading's id is #batch_size-and-drop_last."""
    if not ctx.is_notebook:
        return
    tokens: list[dict] = []
    stack: list[dict] = []
    for heading in root.css(_HEADINGS):
        if not heading.attributes.get("id"):
            continue
        token = {"level": int(heading.tag[1]), "id": heading.attributes["id"], "name": _inline_html(heading).strip(),
                 "children": []}
        while stack and stack[-1]["level"] >= token["level"]:
            stack.pop()
        (stack[-1]["children"] if stack else tokens).append(token)
        stack.append(token)
    ctx.toc = tokens


def insert_stamp_and_notice(root: LexborNode, ctx: PageContext) -> None:
    """The execution stamp and the translation notice (templates in overrides/partials/) right under the
    page's title, where a reader sees on what the outputs ran and whether the prose is up to date."""
    if not ctx.is_notebook:
        return
    title, first = root.css_first("h1"), root.child
    for node in _fragment(_stamp_html(ctx.meta) + _notice_html(ctx.meta)):
        if title is not None:
            title.insert_after(node)  # after the title, then after what was just inserted
            title = title.next
        elif first is not None:
            first.insert_before(node)  # no title: at the top, in order
        else:
            root.insert_child(node)


def search_copy(root: LexborNode, ctx: PageContext) -> None:
    """The page as the search index should see it (ctx.search_html): prose only, headings at the top level.

    Material's search honours data-search-exclude in principle, but its parser loses track of nesting in
    nbconvert's output HTML and lets outputs through; cutting the marked blocks out of a copy of the tree is
    exact. The cells' <div>s are unwrapped: Material's indexer closes a section when its heading's parent
    element closes, so headings nested in cell wrappers would send the text after them to the page's top
    entry."""
    if not ctx.is_notebook:
        return
    copy = root.clone()
    for node in copy.css("[data-search-exclude]"):
        node.decompose()
    for div in copy.css("div"):
        div.unwrap()
    ctx.search_html = copy.inner_html or ""


def describe(root: LexborNode, ctx: PageContext) -> None:
    """The first prose paragraph as plain text (ctx.first_paragraph), for the page's meta description and
    Open Graph text (tools/seo.py; `_seo_meta` decides whether to use it)."""
    ctx.first_paragraph = seo.first_paragraph_of(root)


# TRANSFORMS: every page's content runs through these, in this order, each `(root, ctx) -> None`.
TRANSFORMS: list[Transform] = [
    slim_code,                # template markup only; before the math (its hidden source copies are code)
    render_math,              # before the sanitizer, which checks the formulas too
    sanitize_cells,           # notebook pages: each markdown cell and output through the allowlist
    sanitize_page,            # markdown pages: all of the content through the allowlist
    # ---- contributed content is clean from here on: transforms that add our own markup go below ----
    collect_styles,
    drop_scripts,
    figures_to_files,
    mark_unindexed,
    heading_ids,
    toc_from_headings,
    insert_stamp_and_notice,
    fold_solutions,  # exercises: each solution folded in a closed <details> (tools/exercises.py)
    mount_explorers,  # explorers: controls + the default figure after their cell (tools/explorers.py)
    # ---- these read the finished content: keep them last ----
    search_copy,
    describe,
]


def run_transforms(html: str, ctx: PageContext, transforms: list[Transform] | None = None) -> str:
    """`html` (a page's content) parsed once, passed through `transforms` (default: TRANSFORMS) and
    serialized once. The `<body>` start puts the parser in the state the content is in on the page, so a
    leading <style> or <script> stays in the content rather than moving to a <head>."""
    doc = LexborHTMLParser(f"<body>{html}")
    for transform in TRANSFORMS if transforms is None else transforms:
        transform(doc.body, ctx)
    return doc.body.inner_html or ""


def on_page_content(html, page, config, files, **kwargs):
    ctx = page_context(page, config)
    if ctx.is_notebook:
        page.meta["notebook"] = ctx.meta
        page.edit_url = ctx.meta["edit_url"]
    out = run_transforms(html, ctx)
    _css_seen.extend(ctx.css)
    if ctx.toc is not None:
        page.toc = get_toc(ctx.toc)
    if ctx.search_html is not None:
        page.meta["_search_content"] = ctx.search_html
    page.meta["_first_paragraph"] = ctx.first_paragraph
    return out


# String forms of the sanitizing steps, for tests/test_sanitize.py.
def _sanitize_cells(html: str, nb: dict, page, config) -> str:
    ctx = PageContext(lang=config.theme["language"], nb=nb, page=page, config=config, source_name=_source_name(page, config))
    return run_transforms(html, ctx, [sanitize_cells])


def _sanitize_page(html: str, page, config) -> str:
    ctx = PageContext(lang=config.theme["language"], nb=None, page=page, config=config,
                      source_name=_source_name(page, config), markdown=page.markdown or "")
    return run_transforms(html, ctx, [sanitize_page])


@event_priority(100)  # before the search plugin reads page.content …
def _stash_for_search(context, page, config, nav, **kwargs):
    if "_search_content" in page.meta:
        page.meta["_full_content"] = page.content
        page.content = page.meta["_search_content"]
    return context


@event_priority(-100)  # … and the full page back before the template renders it
def _restore_content(context, page, config, nav, **kwargs):
    if "_full_content" in page.meta:
        page.content = page.meta.pop("_full_content")
    return context


def _seo_meta(context, page, config, nav, **kwargs):
    """Description, Open Graph and hreflang alternates of the page (tools/seo.py; overrides/main.html)."""
    from tools.notebooks import languages

    lang = config.theme["language"]
    root = seo.site_root(config.site_url or "", lang)
    untranslated = page.meta.get("notebook", {}).get("pytorch_docs", {}).get("translation", {}).get("untranslated")
    text = page.meta.get("description") or ("" if untranslated else page.meta.get("_first_paragraph", ""))
    page.meta["seo"] = {  # plain text and URLs: overrides/main.html escapes them
        "description": seo.truncate(text or config.site_description or ""),
        "title": config.site_name if page.is_homepage else seo.plain_title(page.title or ""),
        "locale": seo.og_locale(lang),
        "locales": [seo.og_locale(other) for other in languages() if other != lang],
        "alternates": seo.alternates(root, page.url, languages(), default_lang=SOURCE_LANG, has_page=lambda other:
                                     seo.source_has_page(ROOT, other, page.file.src_path, SOURCE_LANG, seo.GENERATED)),
    }
    # The language switcher's links go straight to this page in each language (overrides/partials/alternate.html).
    by_tag = {seo.hreflang(other): other for other in languages()}
    page.meta["seo"]["same_page"] = {by_tag[a.hreflang]: a.href for a in page.meta["seo"]["alternates"] if a.hreflang in by_tag}
    return context


on_page_context = CombinedEvent(_stash_for_search, _seo_meta, _restore_content)


def on_post_page(output, page, config, **kwargs):
    # The page's second parse, and its last: the whole document (template, <head>, Material's scripts), which
    # did not exist at on_page_content, for the Content-Security-Policy's script hashes (tools/csp.py).
    return add_csp(output)


def on_post_template(output_content, template_name, config, **kwargs):
    return add_csp(output_content) if template_name.endswith(".html") else output_content


def on_post_build(config, **kwargs):
    if _css_seen:
        out = Path(config.site_dir) / "assets" / "notebook.css"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(notebook_css.shared_stylesheet(_css_seen, Path(config.site_dir)), encoding="utf-8")
        _css_seen.clear()
