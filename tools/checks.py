"""Structural checks on the source notebooks, run before every build and by the tests.

Each check returns a list of messages (empty when all is well), each naming the file and the cell.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from tools.notebooks import Notebook, all_notebooks, languages
from tools.paths import DOCS, NOTEBOOKS, ROOT, SNIPPETS, SOURCE_LANG


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
        for i, (a, b) in enumerate(zip(src, tr, strict=False), start=1):
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


#: Names that become URLs, nav entries and Colab links: nothing a browser or a shell could read as more.
TOPIC_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
LANG_NAME = re.compile(r"[a-z]{2,3}")
PAGE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\.md|[a-z0-9][a-z0-9_-]*\.(css|svg|png|jpg|ico|woff2)")


def file_names_and_links() -> list[str]:
    """Contributed files have plain names, and none is a symlink: a link under docs/ would publish the file
    it points to (anything on the build machine), and one under notebooks/ would be read as a notebook."""
    problems = []
    for top in (NOTEBOOKS, DOCS, SNIPPETS, ROOT / "overrides"):
        for path in sorted(top.rglob("*")) if top.is_dir() else ():
            rel = path.relative_to(ROOT).as_posix()
            if path.is_symlink():
                problems.append(f"{rel}: a symbolic link; commit the file itself (links could publish files from outside the repository)")
            elif top == NOTEBOOKS and path.is_dir() and path.parent == NOTEBOOKS and not LANG_NAME.fullmatch(path.name):
                problems.append(f"{rel}: a language folder is named by a 2–3 letter code (ja, fr …)")
            elif top == NOTEBOOKS and path.is_file() and path.suffix == ".ipynb" and not TOPIC_NAME.fullmatch(path.stem):
                problems.append(f"{rel}: topic names use lowercase letters, digits and hyphens (e.g. data-batching.ipynb)")
            elif top == DOCS and path.is_file() and not PAGE_NAME.fullmatch(path.name):
                problems.append(f"{rel}: page and asset names use lowercase letters, digits, '-' and '_' (.md, .css, images)")
            elif top == DOCS and path.suffix == ".svg":  # served from the site's origin, where it could run script
                from tools.sanitize import check_svg_bytes

                problems += [f"{rel}: {p} is not allowed in an image" for p in check_svg_bytes(path.read_bytes())]
    for name in ("glossary.yml", "languages.yml", "figure-text.yml", "mkdocs.yml", *(p.name for p in ROOT.glob("mkdocs.*.yml"))):
        if (ROOT / name).is_symlink():
            problems.append(f"{name}: a symbolic link; commit the file itself")
    return problems


def oversized_notebooks(notebooks: list[Notebook]) -> list[str]:
    """Source notebooks over the size limit, found from the file size alone (before anything parses them)."""
    from tools.safety import LIMITS

    limit = LIMITS["source notebook"]
    return [f"{n.rel}: {n.path.stat().st_size / 1024:,.0f} KiB, over the {limit // 1024:,} KiB limit for a source notebook"
            for n in notebooks if n.path.stat().st_size > limit]


class _AnyTagLoader(yaml.SafeLoader):
    """Reads mkdocs configs, whose `!ENV` and `!!python/name` tags only need to be looked at, not run."""


_AnyTagLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def _scalars(node: yaml.Node, path: str = ""):
    """(dotted key path, scalar node) for every string value in a YAML document, keys excluded."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _scalars(value, f"{path}.{key.value}" if path else str(key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            yield from _scalars(value, f"{path}[{i}]")
    elif isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
        yield path, node


def plain_text_values(names: list[str] | None = None) -> list[str]:
    """Glossary terms, the language table (languages.yml) and every string of the mkdocs configs generated from
    it (per-language words, titles, nav labels, the switcher's names) reach pages through templates: they must
    be plain text. Named by file, line and key."""
    from tools.sanitize import plain_text_problem

    problems = []
    for name in names or ["glossary.yml", "languages.yml", "mkdocs.yml", *sorted(p.name for p in ROOT.glob("mkdocs.*.yml"))]:
        path = ROOT / name
        if not path.is_file():
            continue
        try:
            doc = yaml.compose(path.read_text(encoding="utf-8"), Loader=_AnyTagLoader)
        except yaml.YAMLError as e:
            problems.append(f"{name}: not valid YAML: {e}")
            continue
        for key, node in _scalars(doc) if doc is not None else ():
            if why := plain_text_problem(node.value):
                problems.append(f"{name}: line {node.start_mark.line + 1} ({key}): {why}")
    return problems


def _markdown_config() -> tuple[list, dict]:
    """The markdown extensions mkdocs.yml gives hand-written pages, so pages are checked as mkdocs renders them."""
    cfg = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_AnyTagLoader) or {}
    names, configs = [], {}
    for ext in cfg.get("markdown_extensions", []):
        name, conf = next(iter(ext.items())) if isinstance(ext, dict) else (ext, None)
        names.append(name)
        if conf:
            configs[name] = conf
    return names, configs


def page_markup(paths: list[Path] | None = None) -> list[str]:
    """Hand-written pages (docs/<lang>/*.md) rendered with the site's markdown settings, through the sanitizer."""
    import markdown

    from tools.safety import LIMITS, html_problems

    names, configs = _markdown_config()
    problems = []
    for path in paths if paths is not None else sorted(DOCS.glob("*/*.md")):
        rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
        if path.is_symlink():
            continue  # reported by file_names_and_links
        text = path.read_text(encoding="utf-8", errors="replace")
        if len(text.encode()) > LIMITS["source notebook"]:
            problems.append(f"{rel}: over the {LIMITS['source notebook'] // 1024:,} KiB limit for a page")
            continue
        html = markdown.markdown(text, extensions=names, extension_configs=configs)
        problems += html_problems(rel, None, html, text)
    return problems


def run_all() -> list[str]:
    """Every source-level check, in the order a contributor should fix them."""
    from tools.exercises import check_notebooks as check_exercises
    from tools.safety import lint_notebook
    from tools.snippets import find_drift  # local: snippets imports this module's siblings
    from tools.terms import terms_lint

    notebooks = all_notebooks()
    langs = languages()
    problems: list[str] = []
    if SOURCE_LANG not in langs:
        return [f"{NOTEBOOKS}/{SOURCE_LANG}: the source language's folder is missing"]
    problems += file_names_and_links() + oversized_notebooks(notebooks)
    if problems:
        return problems  # nothing is parsed while a file is too big or not what its name says
    problems += structure_parity(notebooks)
    problems += committed_outputs(notebooks)
    problems += [str(d) for d in find_drift(notebooks)]
    for nbf in notebooks:
        problems += lint_notebook(nbf.read(), nbf.rel)
    problems += page_markup() + plain_text_values()
    problems += terms_lint(notebooks)
    problems += check_exercises(notebooks)  # the exercise format (issue 16, tools/exercises.py)
    return problems
