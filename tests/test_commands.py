"""Commands that never lose work: remove-language, new-language, sync-snippets, mark-translated; the command
line itself (every command has --help, nothing unknown is ignored); the lock; languages.yml and the configs
generated from it.

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
    def sources() -> dict[str, bytes]:
        return snapshot(git_copy / "notebooks", git_copy / "docs", git_copy / "languages.yml", *git_copy.glob("mkdocs*.yml"))

    before = sources()
    run_tools(git_copy, "new-language", "fr")
    commit_all(git_copy, "fr")
    out = run_tools(git_copy, "remove-language", "fr").stdout
    assert "removed notebooks/fr/" in out and "removed docs/fr/" in out and "removed mkdocs.fr.yml" in out
    assert sources() == before  # exactly the tree before new-language, languages.yml's comments and layout too


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


# the command line ----------------------------------------------------------------------------------------

def _main(capsys, *argv: str) -> tuple[int, str, str]:
    from tools.__main__ import main

    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_every_command_has_help_with_its_one_line_description(capsys):
    from tools.__main__ import COMMANDS

    rc, out, _ = _main(capsys, "--help")
    assert rc == 0
    for name, fn in COMMANDS.items():
        summary = fn.__doc__.strip().splitlines()[0]
        assert name in out, f"`python -m tools --help` does not list {name}"
        if name == "serve":
            continue  # tools/serve.py answers its own --help
        rc, text, _ = _main(capsys, name, "--help")
        assert rc == 0 and f"usage: python -m tools {name}" in text and summary in " ".join(text.split()), text


@pytest.mark.parametrize("argv, said", [
    (["execute", "--shard", "1/2", "extra"], "unexpected argument extra"),  # would have executed every notebook
    (["execute", "--ignore"], "unknown option --ignore (it knows --ignore-recorded, --jobs, --shard)"),  # no prefix matching
    (["build", "--job", "2"], "unknown option --job (it knows --jobs)"),
    (["check", "--fast"], "unknown option --fast (it takes none)"),
    (["translations", "en"], "unexpected argument en"),
    (["new-language"], "the following arguments are required: LANG"),
    (["merge-cache"], "the following arguments are required: DIR"),
    (["record-gpu", "--allow-gpu"], "unknown option --allow-gpu (it knows --allow-cpu)"),
    (["compat", "status", "init"], "`compat status` takes no topics"),
    (["no-such-command"], "invalid choice: 'no-such-command'"),
])
def test_an_unknown_option_or_argument_is_an_error_that_names_it(capsys, argv, said):
    rc, out, err = _main(capsys, *argv)
    assert rc == 2 and said in err and "Traceback" not in err, err
    assert "usage: python -m tools" in err or "compat status" in said
    assert out == ""  # nothing ran


def test_cell_numbers_may_look_like_negative_numbers():
    """mark-translated's CELL arguments reach its own check ("there is no cell -1"), not argparse's."""
    from tools.__main__ import parser

    args = parser().parse_args(["mark-translated", "en", "init", "1", "-1"])
    assert args.cells == ["1", "-1"]


def test_no_import_cycle_among_the_tools_modules():
    """`tools.run` holds run_notebook so that execute and recorded both import it and not each other; any
    cycle (a module importing, even inside a function, one that imports it back) fails here, named."""
    import ast

    from tools.paths import ROOT

    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "tools").glob("*.py")):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tools":
                deps |= {a.name for a in node.names} if node.module == "tools" else {node.module.split(".")[1]}
            elif isinstance(node, ast.Import):
                deps |= {a.name.split(".")[1] for a in node.names if a.name.startswith("tools.")}
        graph[path.stem] = deps - {path.stem}

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        seen = set()
        while stack:
            node, trail = stack.pop()
            for dep in sorted(graph.get(node, ())):
                if dep == start:
                    return [*trail, start]
                if dep not in seen:
                    seen.add(dep)
                    stack.append((dep, [*trail, dep]))
        return None

    cycles = [" -> ".join(c) for m in graph if (c := cycle_from(m))]
    assert not cycles, f"import cycles among tools/: {cycles}"
    assert "run" in graph["execute"] and "run" in graph["recorded"] and "execute" not in graph["recorded"]


# the lock --------------------------------------------------------------------------------------------------

def _lock() -> dict[str, list[str]]:
    """requirements.txt as {name==version: [sha256, …]} (pip-compile's layout: continuation lines)."""
    from tools.paths import ROOT

    text = (ROOT / "requirements.txt").read_text(encoding="utf-8").replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            pin, *opts = line.split()
            pins[pin] = [o.removeprefix("--hash=sha256:") for o in opts if o.startswith("--hash=sha256:")]
    return pins


def test_the_lock_pins_every_package_with_its_hashes():
    pins = _lock()
    assert len(pins) > 50
    unpinned = [p for p in pins if not re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][\w.+!-]*", p)]
    unhashed = [p for p, hashes in pins.items() if not hashes or any(not re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)]
    assert not unpinned and not unhashed, f"not exact pins: {unpinned}; without sha256 hashes: {unhashed}"


def test_the_lock_holds_what_requirements_in_asks_for():
    """Every package named in requirements.in is locked, at its exact pin where it has one (the theme stack)."""
    from packaging.utils import canonicalize_name

    from tools.paths import ROOT

    locked = {canonicalize_name(p.split("==")[0]): p.split("==")[1] for p in _lock()}
    for line in (ROOT / "requirements.in").read_text(encoding="utf-8").splitlines():
        req = line.split("#")[0].strip()
        if not req:
            continue
        name, _, version = req.partition("==")
        assert canonicalize_name(name) in locked, f"requirements.in names {name}, requirements.txt does not lock it: `make lock`"
        if version:
            assert locked[canonicalize_name(name)] == version, f"requirements.in pins {req}, the lock has {locked[canonicalize_name(name)]}"
    for pinned in ("mkdocs", "mkdocs-material", "mkdocs-jupyter", "nbconvert"):
        assert re.search(rf"^{pinned}==\S+", (ROOT / "requirements.in").read_text(encoding="utf-8"), re.MULTILINE), \
            f"the theme stack is pinned explicitly in requirements.in: {pinned}"


def test_torch_is_locked_as_the_cpu_wheel():
    """PyPI's torch 2.13.0 is a CUDA build with other hashes; the lock holds the +cpu wheel, and where that
    wheel lies on this disk (/opt/wheels), its hash is the one locked."""
    import hashlib

    torch = [p for p in _lock() if p.startswith("torch==")]
    assert len(torch) == 1 and torch[0].endswith("+cpu"), torch
    wheels = sorted(Path("/opt/wheels").glob(f"torch-{torch[0].split('==')[1]}-*.whl"))
    if not wheels:
        pytest.skip("no local torch wheel on this machine")
    digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    assert digest in _lock()[torch[0]], f"{wheels[0]}'s sha256 {digest} is not in the lock"


def test_setup_installs_the_lock_with_hash_checking():
    from tools.paths import ROOT

    setup = (ROOT / "tools/setup.sh").read_text(encoding="utf-8")
    install = [ln for ln in setup.splitlines() if "pip install" in ln and not ln.lstrip().startswith("#")]
    assert install and all("--require-hashes" in ln and "-r requirements.txt" in ln for ln in install), install


# languages.yml -----------------------------------------------------------------------------------------

def test_the_generated_configs_match_languages_yml():
    from tools.language_table import stale_generated

    assert stale_generated() == []


def test_a_hand_edit_of_a_generated_config_fails_the_check(repo_copy):
    cfg = repo_copy / "mkdocs.en.yml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('"Open in Colab"', '"Open in colab"'), encoding="utf-8")
    proc = run_tools(repo_copy, "check", check=False)
    assert proc.returncode == 1
    assert "mkdocs.en.yml: differs from languages.yml; run `python -m tools languages`" in proc.stderr, proc.stderr
    assert "wrote mkdocs.en.yml" in run_tools(repo_copy, "languages").stdout
    assert '"Open in Colab"' in cfg.read_text(encoding="utf-8")


def test_ui_string_reads_the_table_and_falls_back_to_english():
    from tools.language_table import TableError
    from tools.languages import hreflang, ui_string

    assert ui_string("zh", "solution") == "解答" and ui_string("en", "solution") == "Solution"
    assert ui_string("zh", "exercises") == "练习" and ui_string("en", "exercises") == "Exercises"
    assert ui_string("zh", "explorer_hint") and ui_string("en", "explorer_hint")
    assert ui_string("xx", "colab") == "Open in Colab"  # a language without the word: English
    assert hreflang("zh") == "zh-Hans" and hreflang("en") == "en"
    with pytest.raises(TableError, match="no string 'no_such_key'"):
        ui_string("zh", "no_such_key")


def test_new_language_adds_a_table_entry_and_keeps_the_tables_comments(repo_copy):
    table = repo_copy / "languages.yml"
    before = table.read_text(encoding="utf-8")
    run_tools(repo_copy, "new-language", "ja")
    after = table.read_text(encoding="utf-8")
    comments = [ln for ln in before.splitlines() if ln.lstrip().startswith("#") or " # " in ln]
    assert comments and all(c in after.splitlines() for c in comments), "new-language dropped a comment of languages.yml"
    assert "\n  ja:\n    name: 日本語\n" in after and "see_source: 原文を見る" in after
    assert "    - name: 日本語\n      link: ../ja/\n      lang: ja\n" in (repo_copy / "mkdocs.yml").read_text(encoding="utf-8")
    cfg = (repo_copy / "mkdocs.ja.yml").read_text(encoding="utf-8")
    assert "site_dir: site/ja" in cfg and '"原文を見る"' in cfg and "lang: [ja, en]" in cfg
    assert run_tools(repo_copy, "languages").stdout.strip() == "every generated config matches languages.yml"
