"""Finding, reading and comparing the source notebooks (`notebooks/<lang>/<topic>.ipynb`).

Everything else in `tools` goes through this module, so that a malformed notebook is reported the same way
everywhere: as a `BuildError` naming the file (and the cell, where one is at fault).
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from tools.paths import NOTEBOOKS, ROOT, SOURCE_LANG


class BuildError(Exception):
    """An error in the project's content that must stop the build, with a message a person can act on."""


@dataclass(frozen=True)
class Notebook:
    """One notebook file: which language and topic it is, and where it lies."""

    lang: str
    topic: str
    path: Path

    @property
    def name(self) -> str:
        """Short display name, e.g. `zh/init.ipynb`."""
        return f"{self.lang}/{self.topic}.ipynb"

    @property
    def rel(self) -> str:
        """Path relative to the repository root, as used in messages and links."""
        return self.path.relative_to(ROOT).as_posix() if self.path.is_relative_to(ROOT) else str(self.path)

    def read(self) -> NotebookNode:
        return read_notebook(self.path)


def languages(root: Path = NOTEBOOKS) -> list[str]:
    """The languages present, the source language first."""
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    return sorted(found, key=lambda lang: (lang != SOURCE_LANG, lang))


def topics(root: Path = NOTEBOOKS) -> list[str]:
    """Topic names, from the source language's notebooks."""
    return sorted(p.stem for p in (root / SOURCE_LANG).glob("*.ipynb"))


def all_notebooks(root: Path = NOTEBOOKS) -> list[Notebook]:
    """Every notebook, source language first, then each translation, topics in name order."""
    return [
        Notebook(lang, p.stem, p)
        for lang in languages(root)
        for p in sorted((root / lang).glob("*.ipynb"))
    ]


def read_notebook(path: Path) -> NotebookNode:
    """Read and validate a notebook; any problem becomes a BuildError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BuildError(f"{path}: cannot read the notebook: {e}") from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise BuildError(f"{path}: not a valid notebook: malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}") from e
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        raise BuildError(f"{path}: not a valid notebook: expected a JSON object with \"nbformat\": 4")
    nb = nbformat.reads(text, as_version=4)  # joins multi-line sources, unlike from_dict
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "top level"
        raise BuildError(f"{path}: not a valid notebook ({where}): {e.message}") from e
    return nb


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Write a notebook the way the repository keeps them: nbformat's layout, one trailing newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


def code_sources(nb: NotebookNode) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


#: The cell tag nbclient (and so every runner here) honours by not executing the cell.
SKIP_TAG = "skip-execution"


def is_skipped(cell: NotebookNode) -> bool:
    """Whether the runners leave this code cell unexecuted (the exercises' starter and check cells)."""
    return SKIP_TAG in cell.get("metadata", {}).get("tags", [])


def ran_as_expected(executed: NotebookNode) -> bool:
    """Whether every code cell ran except those the runner skips (and blank ones, which nbclient skips too)."""
    return all((c.execution_count is not None) == (not is_skipped(c) and bool(c.source.strip()))
               for c in executed.cells if c.cell_type == "code")


def code_view(nb: NotebookNode, keep_outputs: bool = False) -> NotebookNode:
    """The part of a notebook that decides its outputs: code cells (without metadata) and the kernelspec.

    zh and en of a topic have the same code view, so they share one execution; prose and alt text are left
    out on purpose, so editing them executes nothing. With `keep_outputs`, the cells keep their outputs
    (what the execution cache stores).
    """
    view = nbformat.v4.new_notebook(metadata={"kernelspec": copy.deepcopy(nb.metadata.get("kernelspec", {}))})
    for cell in nb.cells:
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source)
            if is_skipped(cell):  # kept so a cached execution can be checked against it (execute.lookup)
                new.metadata["tags"] = [SKIP_TAG]
            if keep_outputs:
                new.outputs, new.execution_count = copy.deepcopy(cell.outputs), cell.execution_count
            view.cells.append(new)
    return view


def code_key(nb: NotebookNode) -> str:
    """A short, stable fingerprint of a notebook's code (see `code_view`)."""
    h = hashlib.sha256()
    h.update(json.dumps(nb.metadata.get("kernelspec", {}), sort_keys=True).encode())
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        # A cell the runner skips (nbclient's `skip-execution` tag: the exercises' starter and check cells)
        # produces no output, so skipping is part of what decides the outputs: tagging a cell re-executes.
        h.update((b"\x00skip\x00" if is_skipped(cell) else b"\x00cell\x00") + cell.source.encode())
    return h.hexdigest()[:16]


def cell_hash(source: str) -> str:
    """Fingerprint of one cell's text, used to tell whether a translation is stale."""
    return hashlib.sha256(source.strip().encode()).hexdigest()[:12]
