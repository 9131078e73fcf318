"""Math in page prose, turned into MathML when the site is built.

Why at build time: a client-side renderer (KaTeX, MathJax) costs every page with a formula its script
(~75 KB gzip), its fonts (~60–100 KB) and main-thread time. Browsers render MathML natively, so the formula
arrives as markup and nothing else is loaded. latex2mathml does the conversion (no JavaScript runtime).
Code, preformatted text and outputs are left alone.

The formulas are found in the *text nodes* of the parsed page (`render_math_tree`): the patterns below run
over plain text, never over markup, so a `$` inside an attribute or a tag cannot be taken for math.
"""
from __future__ import annotations

import html as htmllib
import re

from latex2mathml.converter import convert
from selectolax.lexbor import LexborHTMLParser, LexborNode

#: Elements whose text is never prose: `$` there is code, data or already math.
SKIP = frozenset({"pre", "code", "script", "style", "textarea", "math", "svg", "kbd", "samp"})
# Plain-text patterns (applied to the text of one text node).
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
_INLINE = re.compile(r"(?<![\\$\w])\$(?![\s$])(.+?)(?<![\s\\])\$(?![\w$])", re.DOTALL)


def _mathml(tex: str, display: bool) -> str:
    tex = tex.strip().replace(r"\_", "_")
    mathml = convert(tex, display="block" if display else "inline")
    return mathml.replace("<math ", f'<math alttext="{htmllib.escape(tex)}" ', 1)


def latex_to_mathml(latex: str, display: bool) -> str:
    """One formula (HTML-escaped, as it appears in markup) as MathML, with its LaTeX kept as alttext for
    assistive technology and copy-paste."""
    return _mathml(htmllib.unescape(latex), display)


def split_math(text: str) -> list[tuple[str, str]]:
    """Plain `text` cut into ("text", s) and ("math", mathml) pieces: $$…$$ (display) first, then $…$."""
    pieces: list[tuple[str, str]] = []
    for i, part in enumerate(_DISPLAY.split(text)):
        if i % 2:  # the captured group of a $$…$$
            pieces.append(("math", _mathml(part, display=True)))
            continue
        pos = 0
        for m in _INLINE.finditer(part):
            pieces += [("text", part[pos:m.start()]), ("math", _mathml(m[1], display=False))]
            pos = m.end()
        pieces.append(("text", part[pos:]))
    return [p for p in pieces if p[1]]


def _in_skipped(node: LexborNode, stop: LexborNode) -> bool:
    parent = node.parent
    while parent is not None and parent is not stop:
        if parent.tag in SKIP:
            return True
        parent = parent.parent
    return stop.tag in SKIP


def render_math_tree(root: LexborNode) -> int:
    """Replace $…$ and $$…$$ in the prose text under `root` (outside code, pre, scripts, …) with MathML
    elements, in place. Returns how many text nodes changed."""
    changed = 0
    texts = [n for n in root.traverse(include_text=True)
             if n.is_text_node and "$" in (n.text_content or "") and not _in_skipped(n, root)]
    for node in texts:
        pieces = split_math(node.text_content or "")
        if not any(kind == "math" for kind, _ in pieces):
            continue
        for kind, value in pieces:
            if kind == "text":
                node.insert_before(value)
            else:
                node.insert_before(LexborHTMLParser(f"<body>{value}", is_fragment=False).body.child)
        node.decompose()
        changed += 1
    return changed


def render_math(html: str) -> str:
    """`html` (a fragment) with its formulas as MathML: for callers that hold markup as text, such as the
    source check (tools/safety.py), which sees markdown cells as the page will carry them."""
    if "$" not in html:
        return html
    doc = LexborHTMLParser(f"<body>{html}")
    return doc.body.inner_html if render_math_tree(doc.body) else html
