"""Lighter markup for notebook code cells: the same look with a third fewer elements.

Why: a phone's main thread spends most of a notebook page's load on style and layout, in proportion to the
number of elements (benchmarks/pages.py, Lighthouse). nbconvert wraps every pygments token in a <span>,
including names, builtins and whitespace, which JupyterLab's theme leaves in the default colour; and
mkdocs-jupyter repeats each cell's source in a hidden <div> for its copy button. Here:

- a token <span> whose class has no style of its own in the page's notebook stylesheet becomes its bare
  text (the styled classes are read from that stylesheet, so a theme that colours names keeps them);
- the copy button copies the highlighted <pre> itself (it gets the hidden copy's id) and the copy goes.

No library does this: it is a rewrite of nbconvert's and mkdocs-jupyter's own markup, on the page's parsed
tree (tools/site_hooks.py parses each page once). The stylesheet is read with tinycss2; the patterns below
run over CSS selectors, not over HTML.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Set

import tinycss2
from selectolax.lexbor import LexborNode
from tinycss2.ast import QualifiedRule

#: Where pygments puts a code cell's highlighted source (mkdocs-jupyter's class for it).
HIGHLIGHT_CLASS = "highlight-ipynb"

_TOKEN_RULE = re.compile(rf"(?:^|\s)\.{HIGHLIGHT_CLASS}\s+\.(?P<cls>[\w-]+)$")
_BASE_RULE = re.compile(rf"(?:^|\s)\.{HIGHLIGHT_CLASS}$")


def _declarations(rule: QualifiedRule) -> frozenset[str]:
    decls = tinycss2.parse_declaration_list(rule.content, skip_whitespace=True, skip_comments=True)
    return frozenset(f"{d.lower_name}:{tinycss2.serialize(d.value).strip()}" for d in decls if d.type == "declaration")


@functools.lru_cache(maxsize=4)  # every notebook page carries the same ~575 KB stylesheet: parse it once
def styled_token_classes(css: str) -> frozenset[str]:
    """Token classes that the stylesheet styles under `.highlight-ipynb` differently from plain code text."""
    base: frozenset[str] = frozenset()
    rules: list[tuple[str, frozenset[str]]] = []
    for rule in tinycss2.parse_stylesheet(css, skip_whitespace=True, skip_comments=True):
        if rule.type != "qualified-rule":
            continue  # a token rule inside @media (a dark theme) is still found by its own top-level rule
        for selector in tinycss2.serialize(rule.prelude).split(","):
            selector = " ".join(selector.split())
            if _BASE_RULE.search(selector):
                base |= {d for d in _declarations(rule) if d.startswith("color:")}
            elif m := _TOKEN_RULE.search(selector):
                rules.append((m["cls"], _declarations(rule)))
    return frozenset(cls for cls, decls in rules if decls - base)


def _unwrap_plain_tokens(pre: LexborNode, styled: Set[str]) -> None:
    """pygments' token <span>s in one <pre>: a span of one class that the stylesheet does not style becomes
    its bare text, an empty `<span></span>` (pygments' first token) goes."""
    for span in pre.css("span"):
        attrs = span.attributes
        if any(True for _ in span.iter()):
            continue  # it holds elements: not a flat token
        if not attrs and not span.text(deep=True):
            span.decompose()
        elif list(attrs) == ["class"] and (cls := attrs["class"] or "") and " " not in cls and cls not in styled:
            span.unwrap()


def _copy_from_pre(copy: LexborNode) -> None:
    """mkdocs-jupyter's hidden source copy (`div.clipboard-copy-txt#ID`, read by `clipboard-copy[for=ID]`)
    goes; its id moves to the highlighted <pre> of the same editor, which the button then copies."""
    editor, ident = copy.parent, copy.attributes.get("id") or ""
    if editor is None or "CodeMirror" not in (editor.attributes.get("class") or "").split():
        return
    pre = editor.css_first(f"div.{HIGHLIGHT_CLASS} > pre")
    button = next((b for b in editor.css("clipboard-copy") if b.attributes.get("for") == ident), None)
    if pre is None or button is None or "id" in pre.attributes:
        return
    pre.attrs["id"] = ident
    if copy.prev is not None and copy.prev.is_text_node and not (copy.prev.text_content or "").strip():
        copy.prev.decompose()  # the line break before it
    copy.decompose()


def slim_code_cells(root: LexborNode, styled: Set[str]) -> None:
    """The code cells under `root`, in place: plain tokens unwrapped and the copy button pointed at the <pre>."""
    for pre in root.css(f"div.{HIGHLIGHT_CLASS} > pre"):
        _unwrap_plain_tokens(pre, styled)
    for copy in root.css("div.clipboard-copy-txt[id]"):
        _copy_from_pre(copy)
