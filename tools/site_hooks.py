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

Loaded by mkdocs from a file path (mkdocs.yml `hooks:`), so it imports the project's modules by path.
"""
from __future__ import annotations

import base64
import html as htmllib
import json
import re
import sys
from html import escape
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mkdocs.exceptions import PluginError  # noqa: E402
from mkdocs.plugins import CombinedEvent, event_priority  # noqa: E402
from mkdocs.structure.toc import get_toc  # noqa: E402
from pymdownx import slugs  # noqa: E402

from selectolax.lexbor import LexborHTMLParser  # noqa: E402

from tools import code_markup, notebook_css, seo  # noqa: E402
from tools.csp import add_csp  # noqa: E402
from tools.math_render import render_math  # noqa: E402
from tools.paths import SOURCE_LANG  # noqa: E402
from tools.sanitize import check_svg_bytes, clean_html, line_of  # noqa: E402

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


def _stamp_html(meta: dict) -> str:
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
    return (f'<div data-search-exclude class="nb-stamp">{escape(s.get("executed_on", "executed on"))} '
            f'{escape(" · ".join(parts))} <span class="nb-stamp__how">({escape(how or "")})</span></div>'
            + "".join(f'<div data-search-exclude class="nb-stamp nb-compat">{escape(t)}</div>' for t in versions))


def _notice_html(meta: dict) -> str:
    s, tr = meta["strings"], meta["pytorch_docs"].get("translation", {})
    link = f' <a href="{escape(meta["source_url"])}">{escape(s.get("see_source", "source"))}</a>'
    if tr.get("untranslated"):
        return f'<div data-search-exclude class="admonition warning nb-untranslated"><p>{escape(s["untranslated"])}{link}</p></div>'
    if tr.get("stale"):
        text = s["stale"].format(cells=", ".join(map(str, tr["stale"])))
        return f'<div data-search-exclude class="admonition warning nb-stale"><p>{escape(text)}{link}</p></div>'
    return ""


_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)
_CELL = re.compile(r'id="cell-id=(?P<id>[^"]+)"')
_DATA_IMG = re.compile(r'<img(?P<pre>[^>]*?)\ssrc="data:image/(?P<type>svg\+xml|png|jpeg);base64,(?P<data>[^"]+)"(?P<post>[^>]*)>')
_UNINDEXED = re.compile(r'<div class="(?P<cls>jp-OutputArea[ "]|jp-InputPrompt|jp-OutputPrompt|jp-CodeMirrorEditor|zeroclipboard-container)')
_EXT = {"svg+xml": "svg", "png": "png", "jpeg": "jpg"}


def _drop_script(m: re.Match) -> str:
    """mkdocs-jupyter's MathJax (empty src, or its config) and CDN loaders go; its copy-button script stays."""
    attrs, body = m["attrs"].lower(), m["body"]
    empty_src = re.search(r"""\bsrc=(""|'')""", attrs) is not None
    if empty_src or "mathjax" in attrs or "cdnjs" in body or "mermaid" in body or "require.js" in body:
        return ""
    return m.group(0)


def _figures_to_files(html: str, nb: dict, out_dir: Path) -> str:
    """Each figure becomes a file beside the page (cached, gzip-served), with the cell's alt text.

    Why: mkdocs-jupyter inlines figures as base64 data URIs, which do not compress, are not cached and make
    the page (and the search plugin's parse) several times heavier.
    """
    alts = {c.get("id"): c.get("metadata", {}).get("alt", "") for c in nb["cells"] if c["cell_type"] == "code"}
    out, last, cell_id, n = [], 0, None, 0
    marks = [(m.start(), m["id"]) for m in _CELL.finditer(html)]
    for m in _DATA_IMG.finditer(html):
        while marks and marks[0][0] < m.start():
            cell_id = marks.pop(0)[1]
        n += 1
        name = f"figure-{n}.{_EXT[m['type']]}"
        data = base64.b64decode(m["data"])
        if m["type"] == "svg+xml" and (problems := check_svg_bytes(data)):
            raise PluginError(f"figure {n} (cell id {cell_id}): " + "; ".join(problems) + " is not allowed in a figure")
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / name).write_bytes(data)
        attrs = re.sub(r'\s(alt|loading|decoding)="[^"]*"', "", m["pre"] + m["post"])
        out.append(html[last:m.start()])
        out.append(f'<img src="{name}" alt="{escape(alts.get(cell_id) or "")}" loading="lazy" decoding="async"{attrs}>')
        last = m.end()
    out.append(html[last:])
    return "".join(out)


_HEADING = re.compile(r'<h(?P<level>[1-6]) id="(?P<id>[^"]+)"[^>]*>(?P<body>.*?)</h(?P=level)>', re.S)


_HEADING_ANY = re.compile(r'<h(?P<level>[1-6]) id="(?P<id>[^"]*)"(?P<attrs>[^>]*)>(?P<body>.*?)</h(?P=level)>', re.S)
_slug = slugs.slugify(case="lower")


def _heading_ids(html: str) -> str:
    """Give every heading an id of its own. nbconvert's slugs keep ASCII only, so a Chinese heading such as
    "## 概述" gets id="" (neither linkable nor in the table of contents), and two headings that differ only
    in Chinese get the same id."""
    taken = set(re.findall(r'\bid="([^"]+)"', html))
    seen: set[str] = set()

    def fix(m: re.Match) -> str:
        if m["id"] and m["id"] not in seen:  # an id of its own: keep it (links to it stay valid)
            seen.add(m["id"])
            return m.group(0)
        text = re.sub(r"<[^>]+>", "", re.sub(r'<a class="anchor-link".*?</a>', "", m["body"], flags=re.S))
        base = _slug(htmllib.unescape(text), "-") or f"section-{m['level']}"
        new, n = base, 1
        while new in taken:
            new, n = f"{base}_{n}", n + 1
        taken.add(new)
        seen.add(new)
        body = m["body"].replace(f'class="anchor-link" href="#{m["id"]}"', f'class="anchor-link" href="#{new}"')
        return f'<h{m["level"]} id="{new}"{m["attrs"]}>{body}</h{m["level"]}>'

    return _HEADING_ANY.sub(fix, html)


def _toc_tokens(html: str) -> list[dict]:
    """The table of contents from the rendered headings themselves.

    mkdocs-jupyter derives its TOC from a markdown export that drops inline code, so a heading such as
    "`batch_size` and `drop_last`" links to #and while the heading's id is #batch_size-and-drop_last.
    """
    root: list[dict] = []
    stack: list[dict] = []
    for m in _HEADING.finditer(html):
        body = re.sub(r'<a class="anchor-link".*?</a>', "", m["body"], flags=re.S)
        parts = re.split(r"(<math\b.*?</math>)", body, flags=re.S)  # formulas stay, as MathML
        name = "".join(p if p.startswith("<math") else re.sub(r"<[^>]+>", "", p) for p in parts).strip()
        token = {"level": int(m["level"]), "id": m["id"], "name": name, "children": []}
        while stack and stack[-1]["level"] >= token["level"]:
            stack.pop()
        (stack[-1]["children"] if stack else root).append(token)
        stack.append(token)
    return root


def _source_name(page, config) -> str:
    """The file a contributor edits for this page, for error messages."""
    src, lang = page.file.src_path, config.theme["language"]
    if src.endswith(".ipynb"):
        return f"notebooks/{lang}/{Path(src).name}"
    generated = {"glossary.md": "glossary.yml", "translation-status.md": "the notebooks' translation metadata"}
    return f"{src} (generated from {generated[src]})" if src in generated else f"docs/{lang}/{src}"


def _sanitize_page(html: str, page, config) -> str:
    """A markdown page's content (python-markdown's output: all of it comes from the page's text) through
    the allowlist; anything the sanitizer would remove fails the build, with the line where it can say."""
    cleaned, removed = clean_html(html)
    if removed:
        text = page.markdown or ""
        raise PluginError("\n".join(
            f"{_source_name(page, config)}{f' (line {n})' if (n := line_of(text, r)) else ''}: {r} is not allowed "
            "(see \"HTML in content\" in CONTRIBUTING.md)" for r in removed))
    return cleaned


def _sanitize_cells(html: str, nb: dict, page, config) -> str:
    """Every piece of a notebook page that comes from the notebook -- each markdown cell and each output,
    which nbconvert marks with data-mime-type -- replaced by what the allowlist sanitizer makes of it.
    Templates' own markup (cell wrappers, prompts, code input rendered by Pygments) is left as it is."""
    doc = LexborHTMLParser(html, is_fragment=True)
    numbers = {c.get("id"): i for i, c in enumerate(nb["cells"], start=1)}
    problems = []
    for node in doc.css("[data-mime-type]"):
        cleaned, removed = clean_html(node.inner_html or "")
        if removed:
            cell = node.parent
            while cell is not None and not (cell.attributes.get("id") or "").startswith("cell-id="):
                cell = cell.parent
            number = numbers.get((cell.attributes["id"] or "")[8:]) if cell is not None else None
            at = f"cell {number}" if number else "a cell"
            problems += [f"{_source_name(page, config)}: {at} ({node.attributes.get('data-mime-type')}): {r} is not allowed "
                         "(see \"HTML in content\" in CONTRIBUTING.md)" for r in removed]
        else:
            node.inner_html = cleaned
    if problems:
        raise PluginError("\n".join(problems))
    return doc.html


def on_page_content(html, page, config, files, **kwargs):
    if not page.file.src_path.endswith(".ipynb"):
        return _sanitize_page(render_math(html), page, config)
    nb = json.loads(Path(page.file.abs_src_path).read_text(encoding="utf-8"))
    meta = _notebook_meta(page, config, nb)
    page.meta["notebook"] = meta
    page.edit_url = meta["edit_url"]

    # Fewer elements for a phone to style and lay out: plain code tokens unwrapped, no hidden source copies.
    styled = code_markup.styled_token_classes("\n".join(m.group(1) for m in _STYLE.finditer(html)))
    if not styled:
        raise PluginError(f"{page.file.src_path}: the notebook stylesheet mkdocs-jupyter inlined has no "
                          f".{code_markup.HIGHLIGHT_CLASS} token colours (did its markup change?)")
    html = code_markup.slim_code_cells(html, styled)
    # After the slimming, which drops the hidden source copies: `$` in code there is not math.
    html = render_math(html)
    # Content through the allowlist (formulas included), before anything below takes from it.
    html = _sanitize_cells(html, nb, page, config)
    # Offline and light: the inlined stylesheets (served once as assets/notebook.css), MathJax, CDN loaders.
    # Only mkdocs-jupyter's own <style>s are left to collect: content can carry none past the sanitizer.
    _css_seen.extend(m.group(1) for m in _STYLE.finditer(html))
    html = _STYLE.sub("", html)
    html = _SCRIPT.sub(_drop_script, html)
    html = _figures_to_files(html, nb, Path(config.site_dir) / page.file.dest_uri.rsplit("/", 1)[0])
    # Code, outputs, prompts and copy notices stay out of the search index: it holds the prose.
    html = _UNINDEXED.sub(lambda m: f'<div data-search-exclude class="{m["cls"]}', html)
    html = _heading_ids(html)
    page.toc = get_toc(_toc_tokens(html))
    # Stamp and notice right under the title.
    extra = _stamp_html(meta) + _notice_html(meta)
    h1_end = html.find("</h1>")
    return html[: h1_end + 5] + extra + html[h1_end + 5:] if h1_end >= 0 else extra + html


_DIV = re.compile(r"<div\b|</div>")


def _without_unindexed(html: str) -> str:
    """The page as the search index should see it: prose only, headings at the top level.

    Material's search honours data-search-exclude in principle, but its parser loses track of nesting in
    nbconvert's output HTML and lets outputs through; cutting the blocks out (balancing <div>s) is exact.
    """
    out, pos = [], 0
    for m in re.finditer(r"<div data-search-exclude", html):
        if m.start() < pos:
            continue  # nested inside a block already cut
        depth, end = 0, len(html)
        for d in _DIV.finditer(html, m.start()):
            depth += 1 if d.group(0) == "<div" else -1
            if depth == 0:
                end = d.end()
                break
        out.append(html[pos:m.start()])
        pos = end
    out.append(html[pos:])
    # Unwrap the cells' <div>s: Material's indexer closes a section when its heading's parent element
    # closes, so headings nested in cell wrappers would send the text after them to the page's top entry.
    return re.sub(r"</?div\b[^>]*>", "", "".join(out))


@event_priority(100)  # before the search plugin reads page.content …
def _stash_for_search(context, page, config, nav, **kwargs):
    if page.meta.get("notebook"):
        page.meta["_full_content"] = page.content
        page.content = _without_unindexed(page.content)
    return context


@event_priority(-100)  # … and the full page back before the template renders it
def _restore_content(context, page, config, nav, **kwargs):
    if "_full_content" in page.meta:
        page.content = page.meta.pop("_full_content")
    return context


def _seo_meta(context, page, config, nav, **kwargs):
    """Description, Open Graph and hreflang alternates of the page (tools/seo.py; overrides/main.html)."""
    from tools.notebooks import languages
    from tools.paths import ROOT

    lang = config.theme["language"]
    root = seo.site_root(config.site_url or "", lang)
    untranslated = page.meta.get("notebook", {}).get("pytorch_docs", {}).get("translation", {}).get("untranslated")
    text = page.meta.get("description") or ("" if untranslated else seo.first_paragraph(page.content or ""))
    page.meta["seo"] = {  # plain text and URLs: overrides/main.html escapes them
        "description": seo.truncate(text or config.site_description or ""),
        "title": config.site_name if page.is_homepage else htmllib.unescape(re.sub(r"<[^>]+>", "", page.title or "")).strip(),
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
    return add_csp(output)


def on_post_template(output_content, template_name, config, **kwargs):
    return add_csp(output_content) if template_name.endswith(".html") else output_content


def on_post_build(config, **kwargs):
    if _css_seen:
        out = Path(config.site_dir) / "assets" / "notebook.css"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(notebook_css.shared_stylesheet(_css_seen, Path(config.site_dir)), encoding="utf-8")
        _css_seen.clear()
