"""Shared fixtures: the built site (built once per session through the same command as `make build`)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def built_site() -> Path:
    """Run `python -m tools build` (strict) and return site/; the build's output is shown if it fails."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTORCH_DOCS_ROOT", "SITE_URL")}
    proc = subprocess.run([sys.executable, "-m", "tools", "build"], cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"`python -m tools build` failed:\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    return ROOT / "site"


def copy_repo(parent: Path) -> Path:
    """A throw-away copy of the repository's sources under `parent`, for tests that edit or break things."""
    dst = parent / "repo"
    ignore = shutil.ignore_patterns(".venv", ".git", "build", "site", "__pycache__", ".pytest_cache", "node_modules")
    shutil.copytree(ROOT, dst, ignore=ignore)
    return dst


#: What a built copy leaves out of build/: side environments of other torch versions (gigabytes), what
#: remove-language moved aside, and the lock file of the tree it was copied from.
_BUILD_SKIP = ("compat", "removed", ".lock")


def copy_built(parent: Path) -> Path:
    """A throw-away copy of the repository as the session's build left it: the sources, build/ (execution and
    render caches, executed notebooks, the render stamps) and site/. A build in it executes and renders only
    what the test changed: a language whose inputs are unchanged is not rendered again (with `seed_caches`
    alone, every language renders once from scratch). Call it only once `built_site` has run."""
    dst = parent / "repo"
    sources = shutil.ignore_patterns(".venv", ".git", "__pycache__", ".pytest_cache", "node_modules")

    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = set(sources(folder, names))
        if Path(folder) == ROOT / "build":
            skip |= {n for n in names if n in _BUILD_SKIP}
        return skip

    shutil.copytree(ROOT, dst, ignore=ignore, symlinks=True)
    return dst


#: The kernelspec every test notebook names.
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}


def make_mini_repo(parent: Path, codes: dict[str, dict[str, str]]) -> Path:
    """A repository with the real tools, requirements.txt and one tiny notebook per topic and language:
    a heading cell and one code cell, `codes[topic][lang]` (no torch: it executes in about a second)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    repo = parent / "mini"
    shutil.copytree(ROOT / "tools", repo / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "requirements.txt", repo / "requirements.txt")
    for topic, by_lang in codes.items():
        for lang, code in by_lang.items():
            (repo / "notebooks" / lang).mkdir(parents=True, exist_ok=True)
            nbformat.write(new_notebook(metadata=KERNEL, cells=[new_markdown_cell(f"# {topic} ({lang})", id="m1"),
                                                                new_code_cell(code, id="c1")]),
                           repo / "notebooks" / lang / f"{topic}.ipynb")
    return repo


def seed_caches(repo: Path) -> Path:
    """Give a copy the session build's execution and render caches, so building it executes only what a
    test changed (the caches are keyed on content, so sharing them is exact)."""
    for cache in ("jupyter-cache", "render-cache"):
        if (ROOT / "build" / cache).exists():
            shutil.copytree(ROOT / "build" / cache, repo / "build" / cache)
    return repo


@pytest.fixture()
def repo_copy(tmp_path: Path) -> Path:
    return copy_repo(tmp_path)


@pytest.fixture()
def built_copy(built_site: Path, tmp_path: Path) -> Path:
    """A repository copy as the session's build left it, built (see `copy_built`)."""
    return copy_built(tmp_path)


def run_tools(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`python -m tools ARGS` on a copy of the repository (PYTORCH_DOCS_ROOT points the tools at it)."""
    env = {**os.environ, "PYTORCH_DOCS_ROOT": str(repo), "PYTHONPATH": str(repo)}
    proc = subprocess.run([sys.executable, "-m", "tools", *args], cwd=repo, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"python -m tools {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


# The browser tests' server and chromium: one of each for the whole suite (tests/browser_support.py).

@pytest.fixture(scope="session")
def site(built_site: Path):
    """The built site, served on 127.0.0.1 in a thread, at the origin it was built for when that port is free."""
    from browser_support import serve_site

    with serve_site(built_site) as s:
        yield s


@pytest.fixture(scope="session")
def browser():
    """One Debian chromium for every browser test (playwright's sync API allows one at a time)."""
    from browser_support import launch_browser

    with launch_browser() as b:
        yield b
