"""Parallel execution (`--jobs N`): the same executed notebooks as a serial run, one execution per distinct
code, a failure named as serially and no kernel left behind, and a clear error for a bad `--jobs`."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell
from test_execute import _counts, _write, mini_repo  # noqa: F401 - mini_repo is a fixture

TOPICS = ("a", "b", "c", "d")


def _topics(repo: Path, failing: str | None = None) -> None:
    """Four topics in zh and en; each sleeps a little so that several kernels really run at once."""
    for topic in TOPICS:
        for lang in ("zh", "en"):
            cells = [new_markdown_cell(f"# {topic} ({lang})", id="m1"),
                     new_code_cell(f"import time\ntime.sleep(1.5)\nprint('{topic}', {len(topic)} * 7)", id="c1"),
                     new_code_cell("1 / 0" if topic == failing else f"sorted({{'{topic}': 1, 'z': 2}})", id="c2")]
            _write(repo, lang, topic, cells)


def _tools(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTORCH_DOCS_ROOT": str(repo), "PYTHONPATH": str(repo), **env}
    return subprocess.run([sys.executable, "-m", "tools", *args], cwd=repo, env=env, capture_output=True, text=True)


def _executed(repo: Path) -> dict[str, dict]:
    """build/executed/, each notebook with its stamp's timing (date, seconds) taken out."""
    found = {}
    for p in sorted((repo / "build/executed").glob("*/*.ipynb")):
        nb = json.loads(p.read_text(encoding="utf-8"))
        for k in ("date", "seconds"):
            nb["metadata"]["pytorch_docs"]["execution"].pop(k)
        found[p.relative_to(repo).as_posix()] = nb
    return found


def test_parallel_and_serial_write_the_same_notebooks(mini_repo, tmp_path):
    for p in (mini_repo / "notebooks").glob("*/*.ipynb"):
        p.unlink()
    _topics(mini_repo)
    twin = tmp_path / "twin"
    shutil.copytree(mini_repo, twin)

    serial = _tools(mini_repo, "execute", "--jobs", "1")
    parallel = _tools(twin, "execute", "--jobs", "3")
    assert serial.returncode == 0 and parallel.returncode == 0, serial.stderr + parallel.stderr
    assert _counts(serial.stdout) == _counts(parallel.stdout) == (4, 4)  # zh and en: one execution per topic
    lines = re.findall(r"^\[(\d)/8\] (\w\w/\w\.ipynb) … (.*)$", parallel.stdout, re.MULTILINE)
    assert sorted(int(n) for n, _, _ in lines) == list(range(1, 9)), parallel.stdout  # one line per notebook
    assert sorted(name for _, name, _ in lines) == sorted(f"{lang}/{t}.ipynb" for t in TOPICS for lang in ("zh", "en"))
    ran = [name for _, name, what in lines if what.startswith("executed in ")]
    assert sorted(ran) == [f"zh/{t}.ipynb" for t in TOPICS], parallel.stdout  # never the same code twice

    one, other = _executed(mini_repo), _executed(twin)
    assert len(one) == 8 and one.keys() == other.keys()
    for name in one:
        assert one[name] == other[name], name
    assert "".join(one["build/executed/en/c.ipynb"]["cells"][1]["outputs"][0]["text"]) == "c 7\n"

    again = _tools(twin, "execute", "--jobs", "3")  # the parallel run filed every execution in the cache
    assert again.returncode == 0 and _counts(again.stdout) == (0, 8)


def _kernels(marker: str) -> list[str]:
    """Command lines of live processes that mention `marker` (the test's own TMPDIR: its kernels)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in text:
            found.append(f"{cmdline.parent.name}: {text}")
    return found


def test_failing_cell_among_concurrent_notebooks(mini_repo, tmp_path):
    for p in (mini_repo / "notebooks").glob("*/*.ipynb"):
        p.unlink()
    _topics(mini_repo, failing="c")
    tmpdir = tmp_path / "tmpdir"  # the kernels' connection files live here, so their command lines name it
    tmpdir.mkdir()

    proc = _tools(mini_repo, "execute", "--jobs", "4", TMPDIR=str(tmpdir))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "notebooks/zh/c.ipynb: cell 3 failed" in proc.stderr and "ZeroDivisionError" in proc.stderr
    assert "Traceback (most recent call last):\n  File" not in proc.stderr  # a message, not a crash of the tool
    assert not (mini_repo / "build/executed/zh/c.ipynb").exists()
    assert _kernels(str(tmpdir)) == []
    assert list(tmpdir.iterdir()) == []  # every kernel's socket folder removed


def test_the_first_failure_in_notebook_order_is_reported(mini_repo):
    for p in (mini_repo / "notebooks").glob("*/*.ipynb"):
        p.unlink()
    _topics(mini_repo, failing="d")
    for lang in ("zh", "en"):  # b fails too, later than d would: still the one named, as in a serial run
        _write(mini_repo, lang, "b", [new_markdown_cell("# b"), new_code_cell("import time\ntime.sleep(3)"),
                                      new_code_cell("x = 1"), new_code_cell("undefined_name")])
    proc = _tools(mini_repo, "execute", "--jobs", "4")
    assert proc.returncode == 1
    assert "notebooks/zh/b.ipynb: cell 4 failed" in proc.stderr and "NameError" in proc.stderr, proc.stderr
    assert "d.ipynb" not in proc.stderr


@pytest.mark.parametrize("args, env, said", [
    (("--jobs", "0"), {}, "--jobs '0'"),
    (("--jobs", "-2"), {}, "--jobs '-2'"),
    (("--jobs", "two"), {}, "--jobs 'two'"),
    (("--jobs=1.5",), {}, "--jobs '1.5'"),
    (("--jobs",), {}, "--jobs takes one value"),
    ((), {"JOBS": "0"}, "JOBS '0'"),
])
def test_jobs_must_be_a_positive_whole_number(mini_repo, args, env, said):
    for command in ("execute", "build"):
        proc = _tools(mini_repo, command, *args, **env)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert said in proc.stderr, proc.stderr
        if said.endswith("'"):
            assert "expected a whole number of notebooks to execute at once, 1 or more" in proc.stderr
        assert not (mini_repo / "build/executed").exists()  # nothing ran
