"""tools/code_markup.py: lighter code-cell markup that looks and copies the same."""
from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from tools.code_markup import slim_code_cells, styled_token_classes

CSS = """
.highlight-ipynb { background: var(--jp-cell-editor-background); color: var(--jp-mirror-editor-variable-color) }
/* Keyword */
.highlight-ipynb .k { color: var(--jp-mirror-editor-keyword-color); font-weight: bold }
.highlight-ipynb .p, .highlight-ipynb .pm { color: var(--jp-mirror-editor-punctuation-color) }
/* Text.Whitespace: the plain text colour, so no style of its own */
.highlight-ipynb .w { color: var(--jp-mirror-editor-variable-color) }
.jp-Cell .n { color: red }
"""

CELL = ('<div class="CodeMirror cm-s-jupyter">\n<div data-search-exclude class="zeroclipboard-container">\n'
        '<clipboard-copy for="cell-3"><div><span class="notice" hidden="">Copied!</span></div></clipboard-copy>\n'
        '</div>\n<div class="highlight-ipynb hl-python"><pre><span></span><span class="k">import</span>'
        '<span class="w"> </span><span class="n">torch</span><span class="p">(</span>&lt;<span class="p">)</span>\n'
        '</pre></div>\n<div class="clipboard-copy-txt" id="cell-3">import torch(&lt;)</div>\n</div>')


def test_styled_classes_are_read_from_the_stylesheet():
    """Classes with a style of their own under .highlight-ipynb; plain-coloured or other-scoped ones are not."""
    assert styled_token_classes(CSS) == {"k", "p", "pm"}


def _slim(html: str, styled: set[str]) -> str:
    """`slim_code_cells` works on the page's parsed tree: parse the fixture, slim it, serialize it."""
    doc = LexborHTMLParser(f"<body>{html}")
    slim_code_cells(doc.body, styled)
    return doc.body.inner_html


def test_plain_tokens_are_unwrapped_and_styled_ones_kept():
    out = _slim(CELL, {"k", "p"})
    assert '<pre id="cell-3"><span class="k">import</span> torch<span class="p">(</span>&lt;<span class="p">)</span>\n</pre>' in out
    assert "clipboard-copy-txt" not in out and 'for="cell-3"' in out
    assert out.count("<div") == out.count("</div>"), "the markup stays balanced"


@pytest.mark.parametrize("html", ["<p>no code here</p>", '<pre><span class="n">x</span></pre>'])
def test_other_markup_is_left_alone(html):
    assert _slim(html, {"k"}) == html


def test_a_copy_without_its_button_is_kept():
    """Only a hidden copy that a button in the same editor reads is replaced by the <pre>."""
    cell = CELL.replace('for="cell-3"', 'for="cell-9"')
    out = _slim(cell, {"k", "p"})
    assert 'class="clipboard-copy-txt" id="cell-3"' in out and "<pre>" in out
