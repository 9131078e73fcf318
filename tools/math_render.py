"""Math in page prose, turned into MathML when the site is built.

Why at build time: a client-side renderer (KaTeX, MathJax) costs every page with a formula its script
(~75 KB gzip), its fonts (~60–100 KB) and main-thread time. Browsers render MathML natively, so the formula
arrives as markup and nothing else is loaded. latex2mathml does the conversion (no JavaScript runtime).
Code, preformatted text and outputs are left alone.
"""
from __future__ import annotations

import html as htmllib
import re

from latex2mathml.converter import convert

_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)\b[^>]*?(/?)>")
_SKIP = {"pre", "code", "script", "style", "textarea", "math", "svg", "kbd", "samp"}
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$\w])\$(?![\s$])(.+?)(?<![\s\\])\$(?![\w$])", re.S)


def latex_to_mathml(latex: str, display: bool) -> str:
    """One formula as MathML, with its LaTeX kept as alttext for assistive technology and copy-paste."""
    tex = htmllib.unescape(latex).strip().replace(r"\_", "_")
    mathml = convert(tex, display="block" if display else "inline")
    return mathml.replace("<math ", f'<math alttext="{htmllib.escape(tex)}" ', 1)


def _convert_text(text: str) -> str:
    if "$" not in text:
        return text
    text = _DISPLAY.sub(lambda m: latex_to_mathml(m[1], display=True), text)
    return _INLINE.sub(lambda m: latex_to_mathml(m[1], display=False), text)


def render_math(html: str) -> str:
    """Replace $…$ and $$…$$ in the text of `html` (outside code, pre, scripts) with MathML."""
    out, pos, skipping = [], 0, []
    for m in _TAG.finditer(html):
        text = html[pos:m.start()]
        out.append(text if skipping else _convert_text(text))
        out.append(m.group(0))
        closing, tag, selfclosing = m[1] == "/", m[2].lower(), m[3] == "/"
        if tag in _SKIP and not selfclosing:
            if closing and skipping and skipping[-1] == tag:
                skipping.pop()
            elif not closing:
                skipping.append(tag)
        pos = m.end()
    out.append(html[pos:] if skipping else _convert_text(html[pos:]))
    return "".join(out)
