"""Recorded GPU outputs: used while the code is unchanged, invalidated by a code edit, stamped on the page."""
from __future__ import annotations

import re

import nbformat
from conftest import run_tools
from test_execute import mini_repo  # noqa: F401 - a fixture

from tools.notebooks import code_key, code_view


def _record(repo, topic: str, device: str) -> None:
    """Plant a recording as `make execute-gpu` writes it, with its outputs taken from a CPU build of the copy.

    The stamp names a device we did not run on only inside this throw-away copy, to prove that the build uses
    and shows it; the committed recorded/ folder only ever holds real runs.
    """
    nb = nbformat.read(repo / f"notebooks/zh/{topic}.ipynb", 4)
    executed = nbformat.read(repo / f"build/executed/zh/{topic}.ipynb", 4)
    rec = code_view(executed, keep_outputs=True)
    rec.metadata["pytorch_docs"] = {"code_key": code_key(nb), "execution": {
        "device": device, "gpu": True, "torch": "2.13.0", "cuda": "13.0", "python": "3.12.3",
        "date": "2026-11-27", "seconds": 4.2}}
    (repo / "recorded").mkdir(exist_ok=True)
    nbformat.write(rec, repo / f"recorded/{topic}.ipynb")


def test_recorded_output_is_used_then_invalidated_by_a_code_edit(built_copy):
    repo_copy = built_copy
    run_tools(repo_copy, "execute")
    _record(repo_copy, "parameter", "Test GPU (planted in a temporary copy)")
    out = run_tools(repo_copy, "build").stdout
    assert re.search(r"zh/parameter\.ipynb … recorded on Test GPU", out), out
    assert "0 executed" in out and "2 from recorded GPU outputs" in out
    page = (repo_copy / "site/en/topics/parameter/index.html").read_text(encoding="utf-8")
    stamp = re.search(r'class="nb-stamp">(.*?)</div>', page, re.DOTALL)[1]
    assert "Test GPU" in stamp and "CUDA 13.0" in stamp and "recorded GPU output" in stamp

    for lang in ("zh", "en"):  # a code edit: the recording no longer applies, the notebook runs here
        p = repo_copy / f"notebooks/{lang}/parameter.ipynb"
        nb = nbformat.read(p, 4)
        next(c for c in reversed(nb.cells) if c.cell_type == "code" and not c.metadata.get("tags")  # not an exercise cell
             and not c.source.startswith("# snippet:")).source += "\nprint('edited')"  # nor a snippet copy
        nbformat.write(nb, p)
    out = run_tools(repo_copy, "build").stdout
    assert re.search(r"zh/parameter\.ipynb … executed in", out) and "0 from recorded" in out
    page = (repo_copy / "site/en/topics/parameter/index.html").read_text(encoding="utf-8")
    stamp = re.search(r'class="nb-stamp">(.*?)</div>', page, re.DOTALL)[1]
    assert "Test GPU" not in stamp and "executed by this build" in stamp


def test_committed_recordings_match_a_topic_and_are_real_gpu_runs():
    from tools.paths import RECORDED

    for path in sorted(RECORDED.glob("*.ipynb")):
        meta = nbformat.read(path, 4).metadata["pytorch_docs"]
        assert meta["execution"]["gpu"] is True and meta["execution"]["cuda"], path
        assert (RECORDED.parent / "notebooks/zh" / path.name).exists(), f"{path}: no such topic"


def test_a_malformed_recording_is_named_not_a_traceback(mini_repo):
    """Recordings come from outside like any contribution: one without its stamp stops the build, named."""
    nb = nbformat.read(mini_repo / "notebooks/zh/a.ipynb", 4)
    rec = code_view(nb, keep_outputs=True)
    rec.metadata["pytorch_docs"] = {"code_key": code_key(nb), "execution": "GPU, trust me"}
    (mini_repo / "recorded").mkdir()
    nbformat.write(rec, mini_repo / "recorded/a.ipynb")
    proc = run_tools(mini_repo, "execute", check=False)
    assert proc.returncode == 1 and "recorded/a.ipynb: not a valid recording" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
