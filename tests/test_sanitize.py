"""The allowlist sanitizer (tools/sanitize.py), the page's CSP (tools/csp.py) and the page-time pass in
tools/site_hooks.py, each on a small fixture."""
from __future__ import annotations

import base64
import hashlib
from types import SimpleNamespace

import pytest
from mkdocs.exceptions import PluginError

from tools import csp, sanitize
from tools.safety import lint_notebook, markdown_problems
from tools.site_hooks import _sanitize_cells, _sanitize_page

# What the renderers themselves put into content must pass untouched, or every page would fail.
ALLOWED = [
    '<h2 id="Same-outputs">Same outputs<a class="anchor-link" href="#Same-outputs">¶</a></h2>',
    '<h2 id="">概述</h2>',  # nbconvert's id for a Chinese heading (the hooks give it one afterwards)
    '<table><thead><tr><th style="text-align: right;">a</th></tr></thead><tbody><tr><td style="text-align:left">1</td></tr></tbody></table>',
    '<div class="highlight"><pre><span></span><span class="kn">import</span><span class="w"> </span><span class="nn">torch</span></pre></div>',
    '<p><math alttext="a^2" xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><msup><mi>a</mi><mn>2</mn></msup></math></p>',
    '<p><a href="https://pytorch.org/docs">docs</a> <a href="#x">x</a> <a href="../init/">init</a> <img src="figure-1.svg" alt="a"></p>',
    '<details><summary>s</summary><p>d</p></details><div class="admonition warning"><p class="admonition-title">W</p></div>',
    '<pre><span class="ansi-red-fg">Error</span> a &lt;b&gt;</pre>',
]


@pytest.mark.parametrize("fragment", ALLOWED)
def test_what_the_renderers_make_passes(fragment):
    assert sanitize.clean_html(fragment)[1] == []


@pytest.mark.parametrize("fragment, removed", [
    ('<p>x<script>alert(1)</script></p>', "a <script> element"),
    ('<a href="&#106;avascript:alert(1)">x</a>', 'the href="javascript:alert(1)" attribute of <a>'),
    ('<img src="https://example.org/x.png" alt="x">', 'the src="https://example.org/x.png" attribute of <img>'),
    ('<h2 id="__drawer">x</h2>', 'the id="__drawer" attribute of <h2>'),
    ('<div id="notes">x</div>', 'the id="notes" attribute of <div>'),
    ('<table><tr><td style="text-align:left;position:fixed">x</td></tr></table>', 'the style="text-align:left;position:fixed" attribute of <td>'),
    ('<math><mtext><svg onload="alert(1)"></svg></mtext></math>', "a <svg> element"),
])
def test_removals_are_reported(fragment, removed):
    cleaned, found = sanitize.clean_html(fragment)
    assert removed in [str(r) for r in found]
    assert "alert" not in cleaned and "example.org" not in cleaned and "__drawer" not in cleaned and "notes" not in cleaned


def test_line_of_points_at_the_source_line():
    source = "first line\n\nsecond <iframe src='x'></iframe>\n"
    _, found = sanitize.clean_html("<p>first line</p><p>second <iframe src='x'></iframe></p>")
    assert sanitize.line_of(source, found[0]) == 3


def test_plain_text():
    assert sanitize.plain_text_problem("张量 & tensor \"quoted\" a > b") is None
    assert sanitize.plain_text_problem("<b>x</b>")
    assert sanitize.plain_text_problem("a<img src=x onerror=alert(1)")


MATPLOTLIB_SVG = """<?xml version="1.0" encoding="utf-8" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"
  "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns:xlink="http://www.w3.org/1999/xlink" width="10pt" height="10pt" viewBox="0 0 10 10" xmlns="http://www.w3.org/2000/svg" version="1.1">
 <metadata><rdf:RDF xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:cc="http://creativecommons.org/ns#" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><cc:Work><dc:type rdf:resource="http://purl.org/dc/dcmitype/StillImage"/></cc:Work></rdf:RDF></metadata>
 <defs><style type="text/css">*{stroke-linejoin: round; stroke-linecap: butt}</style><clipPath id="p1"><rect x="0" y="0" width="5" height="5"/></clipPath></defs>
 <g id="figure_1"><path d="M 0 0 L 1 1" clip-path="url(#p1)" style="fill: #1f77b4; opacity: 0.55"/><use xlink:href="#figure_1" x="1"/>
 <image width="1" height="1" xlink:href="data:image/png;base64,iVBORw0KGgo="/><text x="1" y="1" style="font: 10px 'DejaVu Sans'">张量</text></g>
</svg>"""


def test_figures_as_matplotlib_draws_them_pass():
    assert sanitize.check_svg_bytes(MATPLOTLIB_SVG) == []


@pytest.mark.parametrize("change, found", [
    (("<g id=\"figure_1\">", "<g id=\"figure_1\"><script>alert(1)</script>"), "a <script> element"),
    (("<g id=\"figure_1\">", "<g id=\"figure_1\" onclick=\"alert(1)\">"), 'the onclick="alert(1)" attribute of <g>'),
    (("xlink:href=\"#figure_1\"", "xlink:href=\"https://example.org/x.svg#a\""), 'the href="https://example.org/x.svg#a" of <use>'),
    (("*{stroke-linejoin", "@import url(https://example.org/x.css); *{stroke-linejoin"), "an @import rule in a <style> element"),
    (("opacity: 0.55", "background: url(https://example.org/t)"), "url(https://example.org/t) in the style of <path>"),
    (("<metadata>", "<!DOCTYPE x [<!ENTITY a \"b\">]><metadata>"), "no entities"),
    (("<g id=\"figure_1\">", "<g id=\"figure_1\"><foreignObject/>"), "a <foreignObject> element"),
])
def test_hostile_figures_are_found(change, found):
    bad = MATPLOTLIB_SVG.replace(*change)
    assert bad != MATPLOTLIB_SVG
    problems = sanitize.check_svg_bytes(bad)
    assert any(found in p for p in problems), problems


def test_markdown_is_checked_as_the_page_will_carry_it():
    assert markdown_problems("x.ipynb: cell 1", "markdown", "a $x^2$ and `<script>` in code") == []
    assert "a <svg> element" in markdown_problems("x.ipynb: cell 1", "markdown", r"$\text{<svg/onload=alert(1)>}$")[0]


def test_lint_notebook_names_file_cell_and_output():
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    nb = new_notebook(cells=[new_markdown_cell("ok"), new_code_cell("x", outputs=[
        new_output("display_data", data={"application/javascript": "alert(1)", "text/plain": "x"})])])
    nb.metadata["widgets"] = {}
    nbformat.validate(nb)
    problems = lint_notebook(nb, "notebooks/zh/t.ipynb")
    assert any(p.startswith("notebooks/zh/t.ipynb: cell 2 (output 1): output type application/javascript") for p in problems), problems
    assert any('metadata "widgets"' in p for p in problems), problems


# --- the page's Content-Security-Policy -------------------------------------------------------------------

PAGE = """<!doctype html><html><head><meta charset="utf-8"><script>var a = 1;</script>
<script id="__config" type="application/json">{"x": 1}</script><script src="assets/b.js"></script></head>
<body><script>var a = 1;</script><script>
  go();
</script></body></html>"""


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_csp_hashes_each_inline_script_once():
    out = csp.add_csp(PAGE)
    assert out.index('http-equiv="Content-Security-Policy"') > out.index('<meta charset="utf-8">')
    assert out.index('http-equiv="Content-Security-Policy"') < out.index("<script>")
    policy = out.split('content="', 1)[1].split('"', 1)[0]
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert script_src.split()[1:] == ["'self'", _sha("var a = 1;"), _sha("\n  go();\n")]
    for directive in ("object-src 'none'", "base-uri 'none'", "form-action 'none'", "default-src 'none'"):
        assert directive in policy
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in policy
    with pytest.raises(ValueError):
        csp.add_csp(out)  # a second policy would be a second, separately enforced one: refused


# --- the page-time pass (site_hooks) --------------------------------------------------------------------

CONFIG = SimpleNamespace(theme={"language": "en"})
NB = {"cells": [{"id": "aaa", "cell_type": "markdown"}, {"id": "bbb", "cell_type": "code"}]}


def _page(src: str, markdown: str = ""):
    return SimpleNamespace(file=SimpleNamespace(src_path=src), markdown=markdown, meta={})


def _cells(output: str) -> str:
    return ('<div class="jp-Cell" id="cell-id=aaa"><div class="jp-RenderedMarkdown" data-mime-type="text/markdown">'
            '<p>fine</p></div></div><div class="jp-Cell" id="cell-id=bbb"><div class="jp-InputArea"><pre>code</pre></div>'
            f'<div class="jp-OutputArea-output" data-mime-type="text/html">{output}</div></div>')


def test_page_pass_keeps_the_template_and_cleans_content():
    out = _sanitize_cells(_cells("<b>ok</b>"), NB, _page("topics/t.ipynb"), CONFIG)
    assert 'id="cell-id=bbb"' in out and 'class="jp-InputArea"' in out and "<b>ok</b>" in out


def test_page_pass_names_the_notebook_and_cell():
    with pytest.raises(PluginError, match=r"notebooks/en/t\.ipynb: cell 2 \(text/html\): a <script> element"):
        _sanitize_cells(_cells("<script>alert(1)</script>"), NB, _page("topics/t.ipynb"), CONFIG)


def test_page_pass_on_markdown_pages_names_the_line():
    page = _page("index.md", markdown="# T\n\n<iframe src=x></iframe>\n")
    with pytest.raises(PluginError, match=r"docs/en/index\.md \(line 3\): a <iframe> element"):
        _sanitize_page('<h1 id="t">T</h1><iframe src="x"></iframe>', page, CONFIG)
    glossary = _page("glossary.md", markdown="| <b onclick=x>t</b> |")
    with pytest.raises(PluginError, match=r"glossary\.md \(generated from glossary\.yml\)"):
        _sanitize_page('<p><b onclick="x">t</b></p>', glossary, CONFIG)
