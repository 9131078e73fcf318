"""A safety lint for contributed content: markdown cells and outputs may not carry active or insecure HTML.

Notebook prose and outputs are rendered as raw HTML on the site, so a contributed cell could run script on
every reader's page. Rejected: <script>, <iframe>, <object>, <embed>, on…= event attributes, javascript:
URLs and links or sources on plain-http hosts. Every finding names the file and the cell.
"""
from __future__ import annotations

import re

from nbformat import NotebookNode

RULES: list[tuple[str, re.Pattern[str]]] = [
    ("a <script> element", re.compile(r"<\s*script\b", re.I)),
    ("an <iframe> element", re.compile(r"<\s*iframe\b", re.I)),
    ("an <object> element", re.compile(r"<\s*object\b", re.I)),
    ("an <embed> element", re.compile(r"<\s*embed\b", re.I)),
    ("an on…= event attribute", re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)),
    ("a javascript: URL", re.compile(r"javascript\s*:", re.I)),
    ("a link to a plain-http host", re.compile(r"(\]\(\s*|(?:href|src|action|formaction|poster)\s*=\s*['\"]?)http://", re.I)),
]

#: Output types rendered as HTML (or SVG, which can carry script) on the page.
RICH = ("text/html", "text/markdown", "image/svg+xml")


def _texts(cell: NotebookNode) -> list[tuple[str, str]]:
    """(where, text) pairs of a cell that end up as HTML on the page."""
    if cell.cell_type == "markdown":
        return [("markdown", cell.source)]
    found = []
    for n, out in enumerate(cell.get("outputs", []), start=1):
        for mime in RICH:
            if mime in out.get("data", {}):
                data = out["data"][mime]
                found.append((f"output {n} ({mime})", "".join(data) if isinstance(data, list) else str(data)))
    return found


def lint_notebook(nb: NotebookNode, display_path: str) -> list[str]:
    problems = []
    for i, cell in enumerate(nb.cells, start=1):
        for where, text in _texts(cell):
            for what, rule in RULES:
                if rule.search(text):
                    problems.append(f"{display_path}: cell {i} ({where}) contains {what}, which is not allowed in contributed content")
    return problems
