"""Code shared by several notebooks lives once in `snippets/` and is copied verbatim into each notebook.

Why copies and not an import: every notebook must run alone in Google Colab, where this repository is not
on the path. A copy is recognised by its first line, `# snippet: <file>.py`; `check` reports a copy that
drifted from its snippet, `sync` rewrites every copy from the files.

`sync` never throws away code that someone added inside a copy: a copy is rewritten only when it equals
some committed version of its snippet (a plain stale copy). A copy that equals none has local edits, and
`sync` refuses, naming the notebook and cell, unless `--force` (which saves the old cell text first).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from tools.notebooks import BuildError, Notebook, all_notebooks, write_notebook
from tools.paths import BUILD, ROOT, SNIPPETS
from tools.vcs import GitUnavailable, committed_versions

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


def known_versions(file: str) -> list[str]:
    """Every text snippet `file` has had: its current text and each committed version (as a cell holds it).
    Raises GitUnavailable where there is no git history to consult."""
    return [snippet_text(file), *(v.rstrip("\n") for v in committed_versions(f"snippets/{file}"))]


def locally_edited(drift: list[Drift]) -> tuple[list[Drift], str | None]:
    """The drifted copies that equal no known version of their snippet (someone edited inside the copy),
    and, where git history is unavailable, why: then every drifted copy counts as possibly edited."""
    try:
        versions = {file: set(known_versions(file)) for file in {d.file for d in drift}}
    except GitUnavailable as e:
        return list(drift), str(e)
    edited = []
    for d in drift:
        cell = d.notebook.read().cells[d.cell - 1]
        if cell.source not in versions[d.file]:
            edited.append(d)
    return edited, None


def _save_cells(cells: list[tuple[Drift, str]]) -> str:
    """Keep the text of copies that --force overwrites, so even that can be undone; returns the folder."""
    folder = BUILD / "removed" / f"snippet-copies-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S-%f}"
    folder.mkdir(parents=True)
    for d, text in cells:
        (folder / f"{d.notebook.lang}-{d.notebook.topic}-cell{d.cell}.py").write_text(text + "\n", encoding="utf-8")
    return folder.relative_to(ROOT).as_posix() if folder.is_relative_to(ROOT) else str(folder)


def sync(notebooks: list[Notebook] | None = None, force: bool = False) -> tuple[list[Drift], list[str]]:
    """Rewrite every drifted copy from its snippet file; returns what was rewritten and notes for the user.

    Nothing is written unless every drifted copy may be rewritten: a copy with local edits (or any drifted
    copy, where there is no git history to tell) raises a BuildError naming each one, unless `force`.
    """
    fixed = find_drift(notebooks)
    edited, no_history = locally_edited(fixed)
    if edited and not force:
        why = (f"there is no git history to tell a stale copy from local edits ({no_history})" if no_history
               else "its code matches neither the snippet nor any committed version of it")
        lines = [f"{d.notebook.rel}: cell {d.cell} is a copy of snippets/{d.file} with local edits; move them out of "
                 f"the copy or re-run with --force" for d in edited]
        raise BuildError("\n".join(lines) + f"\n({why}; nothing was rewritten)")
    notes = []
    if edited:
        saved = _save_cells([(d, d.notebook.read().cells[d.cell - 1].source) for d in edited])
        notes.append(f"--force: the previous text of {len(edited)} edited cop{'y' if len(edited) == 1 else 'ies'} is in {saved}/")
    for nbf in {d.notebook for d in fixed}:
        nb = nbf.read()
        for cell in nb.cells:
            m = MARKER.match(cell.source) if cell.cell_type == "code" else None
            if m:
                cell.source = snippet_text(m["file"])
        write_notebook(nb, nbf.path)
    return fixed, notes
