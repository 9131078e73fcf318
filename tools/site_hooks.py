"""mkdocs hooks: what the site adds to, and removes from, the pages mkdocs-jupyter renders.

- per-language `site_url` (the language switcher looks the page up in the other language's sitemap);
- on notebook pages: Open in Colab / Download / edit links built from `repo_url`, the execution stamp, the
  stale-translation or untranslated notice, alt text in the page's language on every figure (from the
  code cell's `alt` metadata), outputs kept out of the search index;
- offline: mkdocs-jupyter's empty MathJax `<script src="">`, its CDN mermaid loader and the ~575 KB of
  JupyterLab CSS it inlines in every page are removed; the CSS is served once as `assets/notebook.css`.

Loaded by mkdocs from a file path (mkdocs.yml `hooks:`), so it imports the project's modules by path.
"""
from __future__ import annotations

import json
import re
import sys
from html import escape
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bs4 import BeautifulSoup  # noqa: E402  (nbconvert's own dependency)

from tools import notebook_css  # noqa: E402
from tools.paths import SOURCE_LANG  # noqa: E402

_css_seen: list[str] = []


def on_config(config, **kwargs):
    lang = config.theme["language"]
    base = (config.site_url or "").rstrip("/")
    if base and not base.endswith(f"/{lang}"):
        config.site_url = f"{base}/{lang}/"
    return config


def _repo_parts(repo_url: str) -> tuple[str, str]:
    """(owner/name, host) of the repository, for Colab's GitHub URLs."""
    u = urlparse(repo_url)
    return u.path.strip("/").removesuffix(".git"), u.netloc


def _notebook_meta(page, config, nb) -> dict:
    lang = config.theme["language"]
    topic = Path(page.file.src_path).stem
    repo, _host = _repo_parts(config.repo_url)
    branch = config.edit_uri.strip("/").split("/")[-1] or "main"
    source = f"notebooks/{lang}/{topic}.ipynb"
    return {
        "lang": lang,
        "topic": topic,
        "colab_url": f"https://colab.research.google.com/github/{repo}/blob/{branch}/{source}",
        "download_url": f"../{topic}.ipynb",  # include_source copies the executed notebook beside the page folder
        "download_name": f"{topic}.{lang}.ipynb",
        "edit_url": f"{config.repo_url.rstrip('/')}/edit/{branch}/{source}",
        "source_url": f"{config.repo_url.rstrip('/')}/blob/{branch}/notebooks/{SOURCE_LANG}/{topic}.ipynb",
        "strings": config.extra.get("strings", {}),
        "pytorch_docs": nb.get("metadata", {}).get("pytorch_docs", {}),
    }


def _stamp_html(meta: dict) -> str:
    s, ex = meta["strings"], meta["pytorch_docs"].get("execution")
    if not ex:
        return ""
    parts = [ex["device"], f"torch {ex['torch']}"]
    if ex.get("cuda"):
        parts.append(f"CUDA {ex['cuda']}")
    parts += [ex["date"], f"{ex['seconds']} s"]
    how = s.get("recorded") if ex.get("source") == "recorded" else s.get("built")
    return (f'<p class="nb-stamp" data-search-exclude>{escape(s.get("executed_on", "executed on"))} '
            f'{escape(" · ".join(parts))} <span class="nb-stamp__how">({escape(how or "")})</span></p>')


def _notice_html(meta: dict) -> str:
    s, tr = meta["strings"], meta["pytorch_docs"].get("translation", {})
    link = f' <a href="{escape(meta["source_url"])}">{escape(s.get("see_source", "source"))}</a>'
    if tr.get("state") == "untranslated":
        return f'<div class="admonition warning nb-untranslated" data-search-exclude><p>{escape(s["untranslated"])}{link}</p></div>'
    if tr.get("stale"):
        text = s["stale"].format(cells=", ".join(map(str, tr["stale"])))
        return f'<div class="admonition warning nb-stale" data-search-exclude><p>{escape(text)}{link}</p></div>'
    return ""


def on_page_content(html, page, config, files, **kwargs):
    if not page.file.src_path.endswith(".ipynb"):
        return html
    nb = json.loads(Path(page.file.abs_src_path).read_text(encoding="utf-8"))
    meta = _notebook_meta(page, config, nb)
    page.meta["notebook"] = meta
    page.edit_url = meta["edit_url"]

    soup = BeautifulSoup(html, "html.parser")
    # Offline: the inlined stylesheets (served once instead), the empty MathJax and the CDN loaders.
    for style in soup.find_all("style"):
        _css_seen.append(style.get_text())
        style.decompose()
    for script in soup.find_all("script"):
        src = script.get("src")
        if src is not None and not src.strip() or "cdnjs" in script.get_text() or "mermaid" in script.get_text() or "mathjax" in (src or "").lower():
            script.decompose()
    # Alt text from each code cell's `alt` metadata (cells carry their id in the HTML).
    alts = {c.get("id"): c.get("metadata", {}).get("alt", "") for c in nb["cells"] if c["cell_type"] == "code"}
    for cell in soup.select("div.jp-Cell"):
        cell_id = (cell.get("id") or "").removeprefix("cell-id=")
        for img in cell.select(".jp-OutputArea img"):
            img["alt"] = alts.get(cell_id) or ""
    # Outputs, prompts and copy notices stay out of the search index.
    for el in soup.select(".jp-OutputArea, .jp-InputPrompt, .jp-OutputPrompt, .zeroclipboard-container"):
        el["data-search-exclude"] = ""
    # Stamp and notice right under the title.
    h1 = soup.find("h1")
    extra = BeautifulSoup(_stamp_html(meta) + _notice_html(meta), "html.parser")
    if h1 is not None:
        h1.insert_after(extra)
    else:
        soup.insert(0, extra)
    return str(soup)


def on_post_build(config, **kwargs):
    if _css_seen:
        out = Path(config.site_dir) / "assets" / "notebook.css"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(notebook_css.shared_stylesheet(_css_seen, Path(config.site_dir)), encoding="utf-8")
        _css_seen.clear()
