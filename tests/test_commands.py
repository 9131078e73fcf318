"""Commands that never lose work: remove-language, new-language, sync-snippets, mark-translated.

Each data-loss case is run through `python -m tools` on a throw-away copy; the cases that depend on what
git knows make the copy a git repository with one commit.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from conftest import run_tools

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def commit_all(repo: Path, message: str = "commit") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture()
def git_copy(repo_copy: Path) -> Path:
    """The repository copy as a git repository with everything committed."""
    git(repo_copy, "init", "-q")
    (repo_copy / ".gitignore").write_text("/build/\n/site/\n__pycache__/\n", encoding="utf-8")
    commit_all(repo_copy, "init")
    return repo_copy


def snapshot(*paths: Path) -> dict[str, bytes]:
    """Every file under `paths`, with its bytes: to assert that a refused command changed nothing."""
    files = {}
    for p in paths:
        for f in ([p] if p.is_file() else sorted(p.rglob("*")) if p.exists() else []):
            if f.is_file():
                files[str(f)] = f.read_bytes()
    return files


# remove-language ------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["zh"], ["zh", "--force"]])
def test_remove_language_refuses_the_source(repo_copy, args):
    before = snapshot(repo_copy / "notebooks", repo_copy / "mkdocs.yml")
    proc = run_tools(repo_copy, "remove-language", *args, check=False)
    assert proc.returncode == 1 and "zh is the source language" in proc.stderr and "Traceback" not in proc.stderr
    assert snapshot(repo_copy / "notebooks", repo_copy / "mkdocs.yml") == before


@pytest.mark.parametrize("args", [["en"], ["en", "--force"]])
def test_remove_language_refuses_the_last_translation(git_copy, args):
    before = snapshot(git_copy / "notebooks", git_copy / "docs", git_copy / "mkdocs.en.yml", git_copy / "mkdocs.yml")
    proc = run_tools(git_copy, "remove-language", *args, check=False)
    assert proc.returncode == 1 and "en is the only translation" in proc.stderr, proc.stderr
    assert snapshot(git_copy / "notebooks", git_copy / "docs", git_copy / "mkdocs.en.yml", git_copy / "mkdocs.yml") == before


def test_remove_language_refuses_uncommitted_work_and_force_keeps_a_backup(git_copy):
    mkdocs_before = (git_copy / "mkdocs.yml").read_bytes()
    run_tools(git_copy, "new-language", "ja")
    commit_all(git_copy, "ja")
    edited = git_copy / "notebooks/ja/init.ipynb"
    nb = nbformat.read(edited, 4)
    nb.cells[0].source = "# 初期化\n\n翻訳しました。"
    nbformat.write(nb, edited)
    (git_copy / "docs/ja/about.md").write_text("# 新しいページ\n", encoding="utf-8")
    work = snapshot(git_copy / "notebooks/ja", git_copy / "docs/ja", git_copy / "mkdocs.ja.yml")

    proc = run_tools(git_copy, "remove-language", "ja", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "notebooks/ja/init.ipynb (uncommitted changes)" in proc.stderr, proc.stderr
    assert "docs/ja/about.md (untracked)" in proc.stderr
    assert "--force" in proc.stderr
    assert snapshot(git_copy / "notebooks/ja", git_copy / "docs/ja", git_copy / "mkdocs.ja.yml") == work

    # a mistyped option is an error, not a removal without the check
    proc = run_tools(git_copy, "remove-language", "ja", "--forse", check=False)
    assert proc.returncode == 2 and "unknown option --forse" in proc.stderr
    assert (git_copy / "notebooks/ja/init.ipynb").exists()

    out = run_tools(git_copy, "remove-language", "ja", "--force").stdout
    assert not (git_copy / "notebooks/ja").exists() and not (git_copy / "docs/ja").exists()
    assert not (git_copy / "mkdocs.ja.yml").exists()
    assert (git_copy / "mkdocs.yml").read_bytes() == mkdocs_before
    backup = re.search(r"the removed files are in (build/removed/ja-[\w-]+)/", out)
    assert backup, out
    kept = git_copy / backup[1]
    assert (kept / "notebooks/ja/init.ipynb").read_bytes() == work[str(edited)]
    assert (kept / "docs/ja/about.md").read_text(encoding="utf-8") == "# 新しいページ\n"
    assert (kept / "mkdocs.ja.yml").exists() and "lang: ja" in (kept / "mkdocs.yml.switcher-entry").read_text(encoding="utf-8")


def test_remove_language_of_committed_files_needs_no_force(git_copy):
    sources = lambda: snapshot(git_copy / "notebooks", git_copy / "docs", *git_copy.glob("mkdocs*.yml"))  # noqa: E731
    before = sources()
    run_tools(git_copy, "new-language", "fr")
    commit_all(git_copy, "fr")
    out = run_tools(git_copy, "remove-language", "fr").stdout
    assert "removed notebooks/fr/" in out and "removed docs/fr/" in out and "removed mkdocs.fr.yml" in out
    assert sources() == before  # exactly the tree before new-language


def test_remove_language_outside_git_requires_force(repo_copy):
    run_tools(repo_copy, "new-language", "ja")
    proc = run_tools(repo_copy, "remove-language", "ja", check=False)
    assert proc.returncode == 1 and "not a git repository" in proc.stderr and "--force" in proc.stderr, proc.stderr
    assert (repo_copy / "notebooks/ja").is_dir() and (repo_copy / "mkdocs.ja.yml").exists()
    run_tools(repo_copy, "remove-language", "ja", "--force")
    assert not (repo_copy / "notebooks/ja").exists()


# new-language ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("existing", ["docs/ja/index.md", "mkdocs.ja.yml"])
def test_new_language_never_overwrites_and_writes_nothing(repo_copy, existing):
    (repo_copy / existing).parent.mkdir(parents=True, exist_ok=True)
    (repo_copy / existing).write_text("my own work\n", encoding="utf-8")
    mkdocs_before = (repo_copy / "mkdocs.yml").read_bytes()
    proc = run_tools(repo_copy, "new-language", "ja", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"would be overwritten: {existing}" in proc.stderr, proc.stderr
    assert (repo_copy / existing).read_text(encoding="utf-8") == "my own work\n"
    assert not (repo_copy / "notebooks/ja").exists()
    assert (repo_copy / "mkdocs.yml").read_bytes() == mkdocs_before
    assert not (repo_copy / "mkdocs.ja.yml").exists() or existing == "mkdocs.ja.yml"
    assert not (repo_copy / "docs/ja/index.md").exists() or existing == "docs/ja/index.md"


def test_new_language_takes_back_what_it_wrote_when_it_fails_half_way(repo_copy):
    """docs/ja is a file, so writing docs/ja/index.md fails after the notebooks and the config were written."""
    (repo_copy / "docs/ja").write_text("not a folder\n", encoding="utf-8")
    mkdocs_before = (repo_copy / "mkdocs.yml").read_bytes()
    proc = run_tools(repo_copy, "new-language", "ja", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "everything it had written was taken back" in proc.stderr, proc.stderr
    assert not (repo_copy / "notebooks/ja").exists() and not (repo_copy / "mkdocs.ja.yml").exists()
    assert (repo_copy / "mkdocs.yml").read_bytes() == mkdocs_before
    assert (repo_copy / "docs/ja").read_text(encoding="utf-8") == "not a folder\n"


def test_new_language_refuses_an_existing_language(repo_copy):
    proc = run_tools(repo_copy, "new-language", "en", check=False)
    assert proc.returncode == 1 and "en exists already" in proc.stderr


# sync-snippets --------------------------------------------------------------------------------------

def no_snippet_drift(repo: Path) -> bool:
    """`check` reports no snippet copy that differs (other checks may fail on content others are editing)."""
    proc = run_tools(repo, "check", check=False)
    return "Traceback" not in proc.stderr and "is a copy of snippets/" not in proc.stderr


def _snippet_copies(repo: Path, file: str = "device.py") -> list[tuple[Path, int]]:
    """(notebook, 0-based cell index) of every copy of snippets/`file`."""
    found = []
    for path in sorted((repo / "notebooks").glob("*/*.ipynb")):
        for i, c in enumerate(nbformat.read(path, 4).cells):
            if c.cell_type == "code" and c.source.startswith(f"# snippet: {file}"):
                found.append((path, i))
    return found


def test_sync_snippets_refuses_a_copy_with_local_edits_and_names_the_cell(git_copy):
    path, i = next((p, i) for p, i in _snippet_copies(git_copy) if "/en/" in p.as_posix())
    nb = nbformat.read(path, 4)
    nb.cells[i].source += "\nprint('my experiment')"
    nbformat.write(nb, path)
    before = path.read_bytes()
    proc = run_tools(git_copy, "sync-snippets", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    rel = path.relative_to(git_copy).as_posix()
    assert (f"{rel}: cell {i + 1} is a copy of snippets/device.py with local edits; "
            f"move them out of the copy or re-run with --force") in proc.stderr, proc.stderr
    assert path.read_bytes() == before

    out = run_tools(git_copy, "sync-snippets", "--force").stdout
    assert f"rewrote {rel} cell {i + 1}" in out
    saved = re.search(r"is in (build/removed/snippet-copies-[\w-]+)/", out)
    assert saved and "my experiment" in (git_copy / saved[1] / f"en-{path.stem}-cell{i + 1}.py").read_text(encoding="utf-8")
    assert no_snippet_drift(git_copy)


def test_sync_snippets_rewrites_a_plain_stale_copy(git_copy):
    """The snippet changed and was committed: copies equal to its previous committed text are rewritten."""
    snippet = git_copy / "snippets/device.py"
    snippet.write_text(snippet.read_text(encoding="utf-8") + "# a line added to the snippet\n", encoding="utf-8")
    commit_all(git_copy, "snippet changed")
    copies = _snippet_copies(git_copy)
    out = run_tools(git_copy, "sync-snippets").stdout
    assert f"{len(copies)} snippet copies rewritten" in out and len(copies) >= 2
    for path, i in copies:
        assert nbformat.read(path, 4).cells[i].source.endswith("# a line added to the snippet")


def test_sync_snippets_without_git_history_requires_force(repo_copy):
    snippet = repo_copy / "snippets/device.py"
    snippet.write_text(snippet.read_text(encoding="utf-8") + "# changed\n", encoding="utf-8")
    before = snapshot(repo_copy / "notebooks")
    proc = run_tools(repo_copy, "sync-snippets", check=False)
    assert proc.returncode == 1 and "no git history" in proc.stderr, proc.stderr
    assert snapshot(repo_copy / "notebooks") == before
    run_tools(repo_copy, "sync-snippets", "--force")
    assert no_snippet_drift(repo_copy)


# mark-translated ------------------------------------------------------------------------------------

def _cells(repo: Path, topic: str = "init") -> list:
    return nbformat.read(repo / f"notebooks/zh/{topic}.ipynb", 4).cells


@pytest.mark.parametrize("case", ["abc", "0", "-1", "beyond", "code-without-alt", "2.5"])
def test_mark_translated_rejects_a_bad_cell_number(repo_copy, case):
    cells = _cells(repo_copy)
    code = next(i for i, c in enumerate(cells, start=1) if c.cell_type == "code" and not c.metadata.get("alt"))
    arg = {"beyond": str(len(cells) + 1), "code-without-alt": str(code)}.get(case, case)
    path = repo_copy / "notebooks/en/init.ipynb"
    before = path.read_bytes()
    proc = run_tools(repo_copy, "mark-translated", "en", "init", "1", arg, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    expected = {
        "abc": "notebooks/en/init.ipynb: 'abc' is not a cell number",
        "2.5": "notebooks/en/init.ipynb: '2.5' is not a cell number",
        "0": f"notebooks/en/init.ipynb: there is no cell 0 (its cells are numbered 1 to {len(cells)})",
        "-1": "notebooks/en/init.ipynb: there is no cell -1",
        "beyond": f"notebooks/en/init.ipynb: there is no cell {len(cells) + 1}",
        "code-without-alt": f"notebooks/en/init.ipynb: cell {code} is a code cell without alt text",
    }[case]
    assert expected in proc.stderr, proc.stderr
    assert path.read_bytes() == before  # cell 1 was valid, but nothing is written when any cell is bad


@pytest.mark.parametrize("args, expected", [
    (["xx", "init"], "'xx' is not a language of this site"),
    (["zh", "init"], "zh is the source language"),
    (["en", "no-such-topic"], "notebooks/en/no-such-topic.ipynb: no such notebook"),
])
def test_mark_translated_rejects_unknown_languages_and_topics(repo_copy, args, expected):
    proc = run_tools(repo_copy, "mark-translated", *args, check=False)
    assert proc.returncode == 1 and expected in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_mark_translated_rejects_an_unknown_option(repo_copy):
    proc = run_tools(repo_copy, "mark-translated", "en", "init", "--all", check=False)
    assert proc.returncode == 2 and "unknown option --all" in proc.stderr


def test_mark_translated_marks_a_figure_alt_text_cell(repo_copy):
    """The good path still works for the one kind of code cell that is translatable."""
    cells = _cells(repo_copy)
    alt = next((i for i, c in enumerate(cells, start=1) if c.cell_type == "code" and c.metadata.get("alt")), None)
    if alt is None:
        pytest.skip("init has no figure with alt text")
    path = repo_copy / "notebooks/en/init.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"][alt - 1]["metadata"].pop("translation", None)
    path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    out = run_tools(repo_copy, "mark-translated", "en", "init", str(alt)).stdout
    assert "marked 1 cells" in out
    assert "translation" in nbformat.read(path, 4).cells[alt - 1].metadata
