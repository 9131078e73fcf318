"""The source notebooks as committed: structure, parity, outputs, snippets, isolation from the repo."""
from __future__ import annotations

import json
import re
import runpy

import pytest
from conftest import ROOT, run_tools

from tools.checks import committed_outputs, structure_parity
from tools.notebooks import all_notebooks, code_sources, languages, topics
from tools.snippets import MARKER, find_drift

NOTEBOOKS = all_notebooks()


def test_every_topic_exists_in_every_language():
    for lang in languages():
        have = {n.topic for n in NOTEBOOKS if n.lang == lang}
        assert have == set(topics()), f"{lang}: missing {set(topics()) - have}, extra {have - set(topics())}"


def test_there_are_topics_in_zh_and_en():
    assert {"zh", "en"} <= set(languages()) and len(topics()) >= 2


def test_no_committed_outputs():
    assert committed_outputs(NOTEBOOKS) == []


def test_code_parity_between_languages():
    assert structure_parity(NOTEBOOKS) == []


def test_snippet_copies_are_identical():
    assert [str(d) for d in find_drift(NOTEBOOKS)] == []


@pytest.mark.parametrize("nbf", NOTEBOOKS, ids=lambda n: n.name)
def test_first_code_cell_is_the_device_snippet(nbf):
    first = code_sources(nbf.read())[0]
    assert MARKER.match(first) and MARKER.match(first)["file"] == "device.py"


@pytest.mark.parametrize("nbf", NOTEBOOKS, ids=lambda n: n.name)
def test_notebook_imports_nothing_from_the_repo(nbf):
    """Colab isolation, statically: no import of this repo's packages, no path into it."""
    for i, src in enumerate(code_sources(nbf.read()), start=1):
        assert not re.search(r"^\s*(from|import)\s+(tools|snippets|tests)\b", src, re.MULTILINE), f"{nbf.rel}: code cell {i} imports from the repo"
        assert "notebooks/" not in src and "snippets/" not in src.split("\n", 1)[-1], f"{nbf.rel}: code cell {i} reads a repo path"


def test_snippets_run_as_scripts(capsys):
    runpy.run_path(str(ROOT / "snippets" / "device.py"))
    out = capsys.readouterr().out
    assert re.search(r"device = (cpu|cuda)", out), out
    ns = runpy.run_path(str(ROOT / "snippets" / "plotting.py"))
    assert ns["plt"].rcParams["svg.fonttype"] == "none"


def test_device_snippet_picks_cuda_only_when_available():
    import torch

    ns = runpy.run_path(str(ROOT / "snippets" / "device.py"))
    assert ns["device"].type == ("cuda" if torch.cuda.is_available() else "cpu")


# Planted problems, on a copy ------------------------------------------------------------------------

def _first(repo, lang="en"):
    path = min((repo / "notebooks" / lang).glob("*.ipynb"))
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_check_names_file_and_cell_for_a_code_difference(repo_copy):
    path, nb = _first(repo_copy)
    i = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and i > 2)
    nb["cells"][i]["source"] = "print('changed only in en')"
    path.write_text(json.dumps(nb), encoding="utf-8")
    proc = run_tools(repo_copy, "check", check=False)
    assert proc.returncode == 1
    assert f"notebooks/en/{path.name}: cell {i + 1} (code) differs" in proc.stderr


def test_check_names_file_and_cell_for_a_committed_output(repo_copy):
    path, nb = _first(repo_copy, "zh")
    i = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
    nb["cells"][i]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]
    path.write_text(json.dumps(nb), encoding="utf-8")
    proc = run_tools(repo_copy, "check", check=False)
    assert proc.returncode == 1 and f"notebooks/zh/{path.name}: cell {i + 1} carries outputs" in proc.stderr


def test_check_reports_a_drifted_snippet_and_sync_repairs_it(repo_copy):
    path, nb = _first(repo_copy)
    i = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
    nb["cells"][i]["source"] = "".join(nb["cells"][i]["source"]) + "\nprint('edited by hand')"
    path.write_text(json.dumps(nb), encoding="utf-8")
    proc = run_tools(repo_copy, "check", check=False)
    assert f"notebooks/en/{path.name}: cell {i + 1} is a copy of snippets/device.py that differs" in proc.stderr
    run_tools(repo_copy, "sync-snippets", "--force")  # a copy with no git history: sync refuses without --force
    assert run_tools(repo_copy, "check", check=False).returncode == 0


def test_malformed_notebook_is_named(repo_copy):
    path, _ = _first(repo_copy)
    path.write_text('{"cells": [ oops', encoding="utf-8")
    proc = run_tools(repo_copy, "check", check=False)
    assert proc.returncode == 1
    assert f"notebooks/en/{path.name}: not a valid notebook: malformed JSON" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_gpu_notebooks_ask_colab_for_a_gpu_runtime():
    """The pinned-memory measurement needs a GPU: Colab should offer one (the notebook still runs on CPU)."""
    for lang in languages():
        nb = (ROOT / "notebooks" / lang / "data-pinning.ipynb")
        meta = json.loads(nb.read_text(encoding="utf-8"))["metadata"]
        assert meta.get("accelerator") == "GPU" and meta.get("colab", {}).get("gpuType"), nb


@pytest.mark.parametrize("nbf", NOTEBOOKS, ids=lambda n: n.name)
def test_no_defect_of_the_source_notes_reaches_a_reader(nbf):
    """The notes' conflict marker and typos are corrected, never reproduced (not even in a list of fixes)."""
    text = "\n".join(c.source for c in nbf.read().cells)
    assert not re.search(r"^(<{7}|>{7}|={7})", text, re.MULTILINE), f"{nbf.rel}: a git conflict marker"
    for typo in TYPOS:
        assert typo not in text, f"{nbf.rel}: the notes' typo {typo!r}"


# Spelled by code point / concatenation so that this file does not itself carry the typos.
TYPOS = ("\u60ed\u600d", "Parametr" + " ", "Parametr" + "`", "如何pinning", "gradient " + "decent")


def test_the_claims_register_names_typos_by_code_point():
    """tests/facts/claims.yml quotes the notes verbatim, typos included: as YAML escapes, so the file's text
    (what a reader of the repository sees, and what the project's typo guard scans) never carries them."""
    text = (ROOT / "tests" / "facts" / "claims.yml").read_text(encoding="utf-8")
    found = [typo for typo in TYPOS if typo in text]
    assert not found, f"tests/facts/claims.yml: write {found} as YAML escapes (\\uXXXX)"
