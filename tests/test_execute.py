"""Execution: once per distinct code, a failing cell named, and every notebook runs alone."""
from __future__ import annotations

import re

import nbformat
import pytest
from conftest import KERNEL, ROOT, make_mini_repo, run_tools
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools.notebooks import all_notebooks, code_key, is_skipped
from tools.paths import SOURCE_LANG


def _write(repo, lang, topic, cells):
    nb = new_notebook(metadata=KERNEL, cells=cells)
    nbformat.write(nb, repo / "notebooks" / lang / f"{topic}.ipynb")


@pytest.fixture()
def mini_repo(tmp_path):
    """A repository with the real tools and two tiny topics in zh and en."""
    return make_mini_repo(tmp_path, {t: dict.fromkeys(("zh", "en"), f"print('{t}', 6 * 7)") for t in ("a", "b")})


def _counts(out: str) -> tuple[int, int]:
    m = re.search(r"(\d+) executed, (\d+) from the cache", out)
    assert m, out
    return int(m[1]), int(m[2])


def test_once_per_distinct_code(mini_repo):
    assert _counts(run_tools(mini_repo, "execute").stdout) == (2, 2)  # zh and en of a topic: one execution
    assert _counts(run_tools(mini_repo, "execute").stdout) == (0, 4)  # nothing changed

    zh_a = mini_repo / "notebooks/zh/a.ipynb"  # prose-only edit: nothing executes
    nb = nbformat.read(zh_a, 4)
    nb.cells[0].source += "\n\n更多的说明。"
    nbformat.write(nb, zh_a)
    assert _counts(run_tools(mini_repo, "execute").stdout) == (0, 4)

    for lang in ("zh", "en"):  # a code edit in one topic: only that topic executes
        p = mini_repo / f"notebooks/{lang}/b.ipynb"
        nb = nbformat.read(p, 4)
        nb.cells[1].source = "print('b', 6 * 9)"
        nbformat.write(nb, p)
    out = run_tools(mini_repo, "execute").stdout
    assert _counts(out) == (1, 3)
    assert re.search(r"\[\d/4\] zh/b\.ipynb … executed in [\d.]+ s", out), out

    (mini_repo / "requirements.txt").write_text("# changed pins\n")  # environment changed: all again
    out = run_tools(mini_repo, "execute").stdout
    assert "requirements.txt changed" in out and _counts(out) == (2, 2)


def test_outputs_and_stamp_reach_the_executed_notebook(mini_repo):
    run_tools(mini_repo, "execute")
    nb = nbformat.read(mini_repo / "build/executed/en/b.ipynb", 4)
    assert nb.cells[1].outputs[0].text == "b 42\n"
    assert nb.cells[0].source == "# b (en)"  # en prose kept, outputs shared with zh
    stamp = nb.metadata.pytorch_docs.execution
    import torch
    assert stamp["torch"] == torch.__version__.split("+")[0] and stamp["gpu"] == torch.cuda.is_available()


def test_failing_cell_names_notebook_and_cell(mini_repo):
    _write(mini_repo, "zh", "a", [new_markdown_cell("# a"), new_code_cell("x = 1"), new_code_cell("x / 0")])
    proc = run_tools(mini_repo, "execute", check=False)
    assert proc.returncode == 1
    assert "notebooks/zh/a.ipynb: cell 3 failed" in proc.stderr and "ZeroDivisionError" in proc.stderr
    assert "Traceback (most recent call last):\n  File" not in proc.stderr  # a message, not a crash of the tool


def test_image_without_alt_text_fails_the_build(mini_repo):
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    code = f"from IPython.display import Image, display\nimport base64\ndisplay(Image(base64.b64decode('{png}')))"
    _write(mini_repo, "zh", "a", [new_markdown_cell("# a"), new_code_cell(code)])
    _write(mini_repo, "en", "a", [new_markdown_cell("# a"), new_code_cell(code)])
    proc = run_tools(mini_repo, "execute", check=False)
    assert proc.returncode == 1 and "notebooks/zh/a.ipynb: cell 2 outputs an image but has no alt text" in proc.stderr


def test_notebook_runs_in_an_empty_folder_without_the_repo(mini_repo):
    probe = ("import os, sys, importlib.util\n"
             "print(sorted(os.listdir('.')), importlib.util.find_spec('tools') is None, 'PYTORCH_DOCS_ROOT' in os.environ)")
    for lang in ("zh", "en"):
        _write(mini_repo, lang, "a", [new_markdown_cell("# a"), new_code_cell(probe)])
    run_tools(mini_repo, "execute")
    nb = nbformat.read(mini_repo / "build/executed/zh/a.ipynb", 4)
    assert nb.cells[1].outputs[0].text == "[] True False\n"


SOURCES = [n for n in all_notebooks() if n.lang == SOURCE_LANG]


@pytest.mark.parametrize("nbf", SOURCES, ids=lambda n: n.topic)
def test_every_notebook_executes_alone(built_site, nbf):
    """Each topic executed in a kernel of its own in the sandbox (tools.sandbox): torch, matplotlib, graphviz and
    DataLoader workers with shared memory must all work there. The session's build (`built_site`, the same
    command as `make build`) executed it, or filed its execution in the cache, which only a build writes; it is
    not executed a second time here. Its translations share this exact code."""
    executed = ROOT / "build" / "executed" / nbf.lang / f"{nbf.topic}.ipynb"
    assert executed.is_file(), f"the build published no executed {nbf.rel}"
    nb = nbformat.read(executed, 4)
    assert nb.metadata.pytorch_docs.code_key == code_key(nbf.read()), f"build/executed/ holds other code than {nbf.rel}"
    assert nb.metadata.pytorch_docs.execution.source == "build", "executed by a build, not taken from a GPU recording"
    errors = [i + 1 for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors, f"{nbf.rel}: error output in cell(s) {errors}"
    ran = [c for c in nb.cells if c.cell_type == "code" and not is_skipped(c)]
    assert all(c.execution_count for c in ran), f"{nbf.rel}: a code cell did not run"
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert re.search(r"device = (cpu|cuda)", "".join(o.get("text", "") for o in first.outputs))
