"""Lighter markup for notebook code cells: the same look with a third fewer elements.

Why: a phone's main thread spends most of a notebook page's load on style and layout, in proportion to the
number of elements (benchmarks/pages.py, Lighthouse). nbconvert wraps every pygments token in a <span>,
including names, builtins and whitespace, which JupyterLab's theme leaves in the default colour; and
mkdocs-jupyter repeats each cell's source in a hidden <div> for its copy button. Here:

- a token <span> whose class has no style of its own in the page's notebook stylesheet becomes its bare
  text (the styled classes are read from that stylesheet, so a theme that colours names keeps them);
- the copy button copies the highlighted <pre> itself (it gets the hidden copy's id) and the copy goes.

No library does this: it is a rewrite of nbconvert's and mkdocs-jupyter's own markup, done with regular
expressions because that markup is regular (flat token spans, escaped text, one <pre> per code cell).
"""
from __future__ import annotations

import functools
import re
from collections.abc import Set

import tinycss2
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


_CODE_BLOCK = re.compile(rf'(<div class="{HIGHLIGHT_CLASS}[^"]*"><pre>)(?P<code>.*?)(</pre>)', re.S)
_TOKEN = re.compile(r'<span class="(?P<cls>[\w-]+)">(?P<text>[^<]*)</span>|<span></span>')


def _unwrap_plain_tokens(code: str, styled: Set[str]) -> str:
    return _TOKEN.sub(lambda m: m.group(0) if m["cls"] in styled else (m["text"] or ""), code)


_COPY_SOURCE = re.compile(
    r'(?P<head><div class="CodeMirror cm-s-jupyter">.*?<clipboard-copy[^>]*\bfor="(?P<id>[\w-]+)".*?'
    rf'<div class="{HIGHLIGHT_CLASS}[^"]*"><pre)>(?P<body>.*?</pre></div>)\s*'
    r'<div class="clipboard-copy-txt" id="(?P=id)">[^<]*</div>', re.S)


def slim_code_cells(html: str, styled: Set[str]) -> str:
    """The page's code cells with plain tokens unwrapped and the copy button pointed at the <pre>."""
    html = _CODE_BLOCK.sub(lambda m: m.group(1) + _unwrap_plain_tokens(m["code"], styled) + m.group(3), html)
    return _COPY_SOURCE.sub(lambda m: f'{m["head"]} id="{m["id"]}">{m["body"]}', html)
