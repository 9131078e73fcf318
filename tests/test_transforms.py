"""The page transforms of tools/site_hooks.py (`TRANSFORMS`), each on a tiny HTML fixture.

Each transform is `(root, ctx) -> None` over the page's parsed content; `_run` parses a fixture the way
`on_page_content` does, runs the transforms given, and returns the serialized content and the context.
"""
from __future__ import annotations

import ast
import base64
from pathlib import Path

import pytest
from mkdocs.exceptions import PluginError
from selectolax.lexbor import LexborHTMLParser

from tools import site_hooks as hooks
from tools.page_context import PageContext

ROOT = Path(__file__).resolve().parent.parent

NB = {"cells": [{"id": "md1", "cell_type": "markdown", "metadata": {}},
                {"id": "fig", "cell_type": "code", "metadata": {"alt": "A bell curve"}},
                {"id": "nofig", "cell_type": "code", "metadata": {}}]}

STRINGS = {"executed_on": "executed on", "recorded": "recorded GPU output", "built": "executed by this build",
           "stale": "These cells may be out of date: {cells}.", "untranslated": "Not translated yet.",
           "see_source": "Read the original"}


def _ctx(nb: dict | None = NB, **kw) -> PageContext:
    return PageContext(lang="en", nb=nb, source_name="notebooks/en/t.ipynb" if nb else "docs/en/p.md", **kw)


def _run(html: str, *transforms, ctx: PageContext | None = None) -> tuple[str, PageContext]:
    ctx = ctx or _ctx()
    return hooks.run_transforms(html, ctx, list(transforms)), ctx


def _doc(html: str) -> LexborHTMLParser:
    return LexborHTMLParser(f"<body>{html}")


def _cell(cell_id: str, inner: str) -> str:
    return f'<div class="jp-Cell" id="cell-id={cell_id}">{inner}</div>'


# --- heading ids and the table of contents ---------------------------------------------------------------

def test_a_chinese_heading_gets_an_id_and_its_anchor_follows():
    out, _ = _run('<h2 id="">概述<a class="anchor-link" href="#">¶</a></h2>', hooks.heading_ids)
    h2 = _doc(out).css_first("h2")
    assert h2.attributes["id"] == "概述"
    assert h2.css_first("a.anchor-link").attributes["href"] == "#概述"


def test_headings_keep_their_own_ids_and_repeats_are_made_unique():
    html = ('<h2 id="Same-outputs">Same outputs</h2><p id="x">p</p>'
            '<h3 id="Same-outputs">Same 输出</h3><h3 id="">x</h3>')
    out, _ = _run(html, hooks.heading_ids)
    assert [h.attributes["id"] for h in _doc(out).css("h2, h3")] == ["Same-outputs", "same-输出", "x_1"]


def test_the_toc_nests_by_level_keeps_code_text_and_math():
    html = ('<h1 id="t">Title<a class="anchor-link" href="#t">¶</a></h1>'
            '<h2 id="a"><code>batch_size</code> and <code>drop_last</code><a class="anchor-link" href="#a">¶</a></h2>'
            '<h3 id="b">The gain <math><mi>g</mi></math> &amp; more</h3><h2 id="c">C</h2><h2 id="">no id</h2>')
    _, ctx = _run(html, hooks.toc_from_headings)
    (title,) = ctx.toc
    assert [c["name"] for c in title["children"]] == ["batch_size and drop_last", "C"]
    (gain,) = title["children"][0]["children"]
    assert gain == {"level": 3, "id": "b", "name": "The gain <math><mi>g</mi></math> &amp; more", "children": []}


def test_markdown_pages_keep_mkdocs_headings_and_toc():
    out, ctx = _run('<h2 id="">x</h2>', hooks.heading_ids, hooks.toc_from_headings, ctx=_ctx(None))
    assert out == '<h2 id="">x</h2>' and ctx.toc is None


# --- figures ---------------------------------------------------------------------------------------------

PNG = base64.b64encode(b"\x89PNG fake bytes").decode()


def test_figures_become_files_with_the_cell_alt_text(tmp_path):
    html = (_cell("fig", f'<img alt="No description has been provided for this image" src="data:image/png;base64,{PNG}" width="40">')
            + _cell("md1", f'<img alt="my own" src="data:image/png;base64,{PNG}">')
            + _cell("nofig", '<img src="data:image/gif;base64,R0lG">'))
    out, _ = _run(html, hooks.figures_to_files, ctx=_ctx(out_dir=tmp_path))
    first, second, gif = _doc(out).css("img")
    assert first.attributes == {"alt": "A bell curve", "src": "figure-1.png", "width": "40", "loading": "lazy",
                                "decoding": "async"}
    assert (tmp_path / "figure-1.png").read_bytes() == b"\x89PNG fake bytes"
    assert second.attributes["src"] == "figure-2.png" and second.attributes["alt"] == "my own"
    assert gif.attributes["src"].startswith("data:image/gif"), "only svg, png and jpeg become files"


def test_a_figure_with_a_script_fails_naming_the_notebook_figure_and_cell(tmp_path):
    svg = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>').decode()
    with pytest.raises(PluginError, match=r"notebooks/en/t\.ipynb: figure 1 \(cell id fig\): a <script> element .*in a figure"):
        _run(_cell("fig", f'<img src="data:image/svg+xml;base64,{svg}">'), hooks.figures_to_files, ctx=_ctx(out_dir=tmp_path))
    assert not list(tmp_path.iterdir()), "a refused figure is not written"


# --- the search index and the description ---------------------------------------------------------------

def test_outputs_prompts_and_editors_are_marked_unindexed():
    html = ('<div class="jp-InputPrompt jp-InputArea-prompt">In [1]:</div>'
            '<div class="jp-OutputArea jp-Cell-outputArea"><div class="jp-OutputArea-output">1</div></div>'
            '<div class="jp-RenderedMarkdown"><p>prose</p></div>')
    out, _ = _run(html, hooks.mark_unindexed)
    marked = [d.attributes["class"].split()[0] for d in _doc(out).css("[data-search-exclude]")]
    assert marked == ["jp-InputPrompt", "jp-OutputArea"]


def test_the_search_copy_is_prose_with_headings_at_the_top_level():
    html = ('<div class="jp-Cell"><div><h2 id="a">A</h2><p>prose</p></div>'
            '<div data-search-exclude class="jp-OutputArea"><div><pre>tensor([[1]])</pre></div></div></div>')
    out, ctx = _run(html, hooks.search_copy)
    assert ctx.search_html == '<h2 id="a">A</h2><p>prose</p>'
    assert out == _doc(html).body.inner_html, "the page itself keeps everything"


def test_the_description_skips_stamps_notices_and_outputs():
    html = ('<h1 id="t">T</h1><div data-search-exclude class="nb-stamp">executed on CPU</div>'
            '<div class="admonition warning nb-stale"><p>stale</p></div>'
            '<div data-search-exclude class="jp-OutputArea"><p>an output paragraph</p></div>'
            '<p>The first sentence of the page, <math alttext="x^2"><msup><mi>x</mi><mn>2</mn></msup></math> '
            'included, long enough to stand alone as a description.</p><p>Second.</p>')
    out, ctx = _run(html, hooks.describe)
    assert ctx.first_paragraph == "The first sentence of the page, x^2 included, long enough to stand alone as a description."
    assert "<math" in out, "the page keeps its formula"


# --- math --------------------------------------------------------------------------------------------------

def test_math_in_text_becomes_mathml_and_code_and_attributes_are_left_alone():
    html = ('<p title="$a$">Let $x_1 &lt; y$ and $$\\frac{a}{b}$$ hold; it costs $5.</p>'
            '<pre>$x$</pre><p><code>$y$</code></p>')
    out, _ = _run(html, hooks.render_math)
    doc = _doc(out)
    inline, display = doc.css("p math")
    assert inline.attributes["alttext"] == "x_1 < y" and inline.attributes["display"] == "inline"
    assert display.attributes["display"] == "block" and display.css_first("mfrac") is not None
    assert doc.css_first("p").attributes["title"] == "$a$" and "it costs $5." in doc.css_first("p").text()
    assert doc.css_first("pre").text() == "$x$" and doc.css_first("code").text() == "$y$"


# --- code cells, styles, scripts ------------------------------------------------------------------------------

STYLE = "<style>.highlight-ipynb .k { color: green }</style>"
CODE = ('<div class="CodeMirror cm-s-jupyter"><clipboard-copy for="cell-1"></clipboard-copy>'
        '<div class="highlight-ipynb hl-python"><pre><span></span><span class="k">import</span><span class="w"> </span>'
        '<span class="n">torch</span>\n</pre></div>\n<div class="clipboard-copy-txt" id="cell-1">import torch</div></div>')


def test_code_is_slimmed_by_the_inlined_stylesheet():
    out, _ = _run(STYLE + CODE, hooks.slim_code)
    assert '<pre id="cell-1"><span class="k">import</span> torch\n</pre>' in out and "clipboard-copy-txt" not in out


def test_code_slimming_fails_when_the_stylesheet_colours_no_token():
    with pytest.raises(PluginError, match=r"notebooks/en/t\.ipynb: the notebook stylesheet .* no \.highlight-ipynb token colours"):
        _run("<style>.other { color: red }</style>" + CODE, hooks.slim_code)


def test_styles_are_collected_and_loaders_dropped():
    html = (STYLE + '<script type="text/x-mathjax-config">MathJax.Hub.Config({})</script><script src=""></script>'
            '<script>import("https://cdnjs.cloudflare.com/mermaid.js")</script>'
            '<script src="require.min.js"></script><script>document.querySelector("clipboard-copy")</script><p>x</p>')
    out, ctx = _run(html, hooks.collect_styles, hooks.drop_scripts)
    assert ctx.css == [".highlight-ipynb .k { color: green }"]
    scripts = _doc(out).css("script")
    assert [s.attributes.get("src") or s.text() for s in scripts] == ["require.min.js", 'document.querySelector("clipboard-copy")']
    assert "<style" not in out


# --- sanitizing --------------------------------------------------------------------------------------------

def test_cells_are_sanitized_and_a_refusal_names_the_cell():
    html = _cell("fig", '<div class="jp-OutputArea-output" data-mime-type="text/html"><b>ok</b></div>')
    out, _ = _run(html, hooks.sanitize_cells)
    assert "<b>ok</b>" in out and 'id="cell-id=fig"' in out
    bad = _cell("fig", '<div data-mime-type="text/html"><img src=x onerror="alert(1)"></div>')
    with pytest.raises(PluginError, match=r"notebooks/en/t\.ipynb: cell 2 \(text/html\): .*onerror"):
        _run(bad, hooks.sanitize_cells)


def test_a_markdown_page_is_sanitized_as_a_whole_and_a_refusal_names_the_line():
    ctx = _ctx(None, markdown="# T\n\ntext\n<iframe src=x></iframe>\n")
    with pytest.raises(PluginError, match=r"docs/en/p\.md \(line 4\): a <iframe> element"):
        _run('<h1 id="t">T</h1><p>text</p><iframe src="x"></iframe>', hooks.sanitize_page, ctx=ctx)
    out, _ = _run('<p>fine</p>', hooks.sanitize_page, ctx=_ctx(None))
    assert out == "<p>fine</p>"


def test_the_sanitizers_run_before_any_transform_that_adds_our_markup():
    """Our own markup (stamp, notice, data-search-exclude, figure files, exercise folds, explorers) is not
    in the allowlist: a transform that adds it must come after the sanitizers, or the build would refuse it
    -- or worse, a sanitizer moved later would pass content that looks like ours."""
    order = [t.__name__ for t in hooks.TRANSFORMS]
    last_sanitizer = max(order.index("sanitize_cells"), order.index("sanitize_page"))
    for name in order[last_sanitizer + 1:]:
        assert name not in ("render_math", "slim_code"), f"{name} changes content: it must run before the sanitizers"
    for name in ("figures_to_files", "mark_unindexed", "heading_ids", "insert_stamp_and_notice",
                 "fold_solutions", "mount"):
        if name in order:
            assert order.index(name) > last_sanitizer, f"{name} adds our markup before the sanitizers ran"
    assert order[-2:] == ["search_copy", "describe"], "the readers of the finished page run last"


# --- stamp and notice (templates in overrides/partials/) ----------------------------------------------------

def _meta(**pytorch_docs) -> dict:
    return {"strings": STRINGS, "topic": "t", "lang": "en", "source_url": "https://x.org/r/blob/main/notebooks/zh/t.ipynb?a=1&b=2",
            "pytorch_docs": pytorch_docs}


EXECUTION = {"device": "CPU <x86_64>", "torch": "2.13.0", "date": "2026-12-02", "seconds": 4.2}


def test_stamp_and_notice_go_right_under_the_title_escaped():
    ctx = _ctx(meta=_meta(execution=EXECUTION, code_key="none", translation={"stale": [3, 5]}))
    out, _ = _run('<h1 id="t">T</h1><p>first</p>', hooks.insert_stamp_and_notice, ctx=ctx)
    doc = _doc(out)
    title, stamp, notice, first = doc.body.iter()
    assert (title.tag, first.tag) == ("h1", "p")
    assert stamp.attributes["class"] == "nb-stamp" and "data-search-exclude" in stamp.attributes
    assert stamp.text() == "executed on CPU <x86_64> · torch 2.13.0 · 2026-12-02 · 4.2 s (executed by this build)"
    assert "CPU &lt;x86_64&gt;" in out, "text from the run is escaped"
    assert notice.attributes["class"] == "admonition warning nb-stale"
    assert notice.text() == "These cells may be out of date: 3, 5. Read the original"
    assert notice.css_first("a").attributes["href"] == ctx.meta["source_url"]


def test_an_untranslated_page_without_a_title_gets_the_notice_first():
    ctx = _ctx(meta=_meta(translation={"untranslated": True, "stale": [1]}))
    out, _ = _run("<p>source text</p>", hooks.insert_stamp_and_notice, ctx=ctx)
    notice, text = _doc(out).body.iter()
    assert notice.attributes["class"] == "admonition warning nb-untranslated" and text.text() == "source text"
    out, _ = _run("", hooks.insert_stamp_and_notice, ctx=ctx)
    assert [n.attributes["class"] for n in _doc(out).body.iter()] == ["admonition warning nb-untranslated"]


def test_a_page_without_execution_or_translation_record_gets_nothing():
    out, _ = _run('<h1 id="t">T</h1>', hooks.insert_stamp_and_notice, ctx=_ctx(meta=_meta()))
    assert out == '<h1 id="t">T</h1>'


# --- the whole pipeline, and the rule it is built on ------------------------------------------------------------

def test_a_notebook_page_through_every_transform(tmp_path):
    html = (STYLE + '<script src=""></script>'
            + _cell("md1", '<div data-mime-type="text/markdown"><h1 id="title">Title</h1><h2 id="">概述</h2>'
                           '<p>The weight $W$ is drawn from a normal distribution, which this page follows closely.</p></div>')
            + _cell("fig", CODE.replace("cell-1", "cell-2") + '<div class="jp-OutputArea jp-Cell-outputArea">'
                           f'<div data-mime-type="image/png"><img src="data:image/png;base64,{PNG}"></div></div>'))
    ctx = _ctx(out_dir=tmp_path, meta=_meta(execution=EXECUTION, code_key="none"))
    out = hooks.run_transforms(html, ctx)
    doc = _doc(out)
    assert [h.attributes["id"] for h in doc.css("h1, h2")] == ["title", "概述"]
    assert doc.css_first("h1").next.attributes["class"] == "nb-stamp"
    assert doc.css_first("p math") is not None and doc.css_first("img").attributes["alt"] == "A bell curve"
    assert not doc.css("style, script") and ctx.css
    assert "normal distribution" in ctx.search_html and "figure-1.png" not in ctx.search_html
    assert ctx.first_paragraph.startswith("The weight W is drawn")
    assert [t["id"] for t in ctx.toc] == ["title"] and ctx.toc[0]["children"][0]["id"] == "概述"


OURS = ["site_hooks.py", "code_markup.py", "math_render.py", "seo.py", "csp.py", "page_context.py"]


@pytest.mark.parametrize("name", OURS)
def test_no_pattern_is_applied_to_html_markup(name):
    """The rendering layer finds elements by parsing, not by pattern: no regular expression in these
    modules looks for a tag (patterns over plain text, CSS selectors or file names are fine)."""
    tree = ast.parse((ROOT / "tools" / name).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re" and node.args and isinstance(node.args[0], ast.Constant)):
            pattern = str(node.args[0].value)
            assert not any(pattern[i] == "<" and (pattern[i + 1: i + 2].isalpha() or pattern[i + 1: i + 2] == "/")
                           for i in range(len(pattern))), f"tools/{name}:{node.lineno}: {pattern!r} matches markup"
