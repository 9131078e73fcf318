"""Code shared by several notebooks lives once in `snippets/` and is copied verbatim into each notebook.

Why copies and not an import: every notebook must run alone in Google Colab, where this repository is not
on the path. A copy is recognised by its first line, `# snippet: <file>.py`; `check` reports a copy that
drifted from its snippet, `sync` rewrites every copy from the files.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from tools.notebooks import BuildError, Notebook, all_notebooks, write_notebook
from tools.paths import SNIPPETS

MARKER = re.compile(r"^# snippet: (?P<file>[\w.-]+\.py)\b")


def snippet_text(file: str) -> str:
    """The text a notebook cell must hold for snippet `file` (the file without its final newline)."""
    path = SNIPPETS / file
    if not path.is_file():
        raise BuildError(f"snippets/{file}: no such snippet")
    return path.read_text(encoding="utf-8").rstrip("\n")


@dataclass
class Drift:
    notebook: Notebook
    cell: int  # 1-based, among all cells
    file: str

    def __str__(self) -> str:
        return f"{self.notebook.rel}: cell {self.cell} is a copy of snippets/{self.file} that differs from it (run `make sync-snippets`)"


def find_drift(notebooks: list[Notebook] | None = None) -> list[Drift]:
    """Every snippet copy that is not identical to its snippet file."""
    drift = []
    for nbf in notebooks or all_notebooks():
        for i, cell in enumerate(nbf.read().cells, start=1):
            m = MARKER.match(cell.source) if cell.cell_type == "code" else None
            if m and cell.source != snippet_text(m["file"]):
                drift.append(Drift(nbf, i, m["file"]))
    return drift


def sync(notebooks: list[Notebook] | None = None) -> list[Drift]:
    """Rewrite every drifted copy from its snippet file; returns what was rewritten."""
    fixed = find_drift(notebooks)
    for nbf in {d.notebook for d in fixed}:
        nb = nbf.read()
        for cell in nb.cells:
            m = MARKER.match(cell.source) if cell.cell_type == "code" else None
            if m:
                cell.source = snippet_text(m["file"])
        write_notebook(nb, nbf.path)
    return fixed
