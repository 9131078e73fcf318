"""Structural checks on the source notebooks, run before every build and by the tests.

Each check returns a list of messages (empty when all is well), each naming the file and the cell.
"""
from __future__ import annotations

from tools.notebooks import Notebook, all_notebooks, languages
from tools.paths import NOTEBOOKS, SOURCE_LANG


def committed_outputs(notebooks: list[Notebook]) -> list[str]:
    """Source notebooks are committed clean: outputs belong to the build tree, not to git."""
    problems = []
    for nbf in notebooks:
        for i, cell in enumerate(nbf.read().cells, start=1):
            if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
                problems.append(f"{nbf.rel}: cell {i} carries outputs or an execution count (clear them before committing)")
    return problems


def structure_parity(notebooks: list[Notebook]) -> list[str]:
    """A translation has the source's cells: same count, same kind at each position, identical code."""
    source = {n.topic: n for n in notebooks if n.lang == SOURCE_LANG}
    problems = []
    for nbf in notebooks:
        if nbf.lang == SOURCE_LANG:
            continue
        if nbf.topic not in source:
            problems.append(f"{nbf.rel}: no source notebook notebooks/{SOURCE_LANG}/{nbf.topic}.ipynb to translate")
            continue
        src, tr = source[nbf.topic].read().cells, nbf.read().cells
        for i, (a, b) in enumerate(zip(src, tr), start=1):
            if a.cell_type != b.cell_type:
                problems.append(f"{nbf.rel}: cell {i} is {b.cell_type}, but cell {i} of {source[nbf.topic].rel} is {a.cell_type}")
                break
            if a.cell_type == "code" and a.source != b.source:
                problems.append(f"{nbf.rel}: cell {i} (code) differs from cell {i} of {source[nbf.topic].rel}; code is shared by all languages")
                break
        else:
            if len(src) != len(tr):
                problems.append(f"{nbf.rel}: {len(tr)} cells, but {source[nbf.topic].rel} has {len(src)}; first mismatch at cell {min(len(src), len(tr)) + 1}")
    return problems


def missing_alt_text(nb_path: str, nb) -> list[str]:
    """An executed notebook's image outputs must have alt text (cell metadata `alt`) in the page's language."""
    problems = []
    for i, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        has_image = any(k.startswith("image/") for out in cell.get("outputs", []) for k in out.get("data", {}))
        if has_image and not str(cell.metadata.get("alt", "")).strip():
            problems.append(f"{nb_path}: cell {i} outputs an image but has no alt text (set cell metadata \"alt\")")
    return problems


def run_all() -> list[str]:
    """Every source-level check, in the order a contributor should fix them."""
    from tools.safety import lint_notebook
    from tools.snippets import find_drift  # local: snippets imports this module's siblings
    from tools.terms import terms_lint

    notebooks = all_notebooks()
    langs = languages()
    problems: list[str] = []
    if SOURCE_LANG not in langs:
        return [f"{NOTEBOOKS}/{SOURCE_LANG}: the source language's folder is missing"]
    problems += structure_parity(notebooks)
    problems += committed_outputs(notebooks)
    problems += [str(d) for d in find_drift(notebooks)]
    for nbf in notebooks:
        problems += lint_notebook(nbf.read(), nbf.rel)
    problems += terms_lint(notebooks)
    return problems
