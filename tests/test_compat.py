"""The torch-version matrix (tools/compat.py): the committed records, and what a page says from them.

Nothing here installs a torch: the records are checked as data, the page logic on small fixtures, and the
execution path once with .venv's own python on a two-cell notebook.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import nbformat
import pytest

from tools import compat
from tools.notebooks import Notebook, code_key, topics
from tools.paths import ROOT

RECORDS = sorted((ROOT / "compat").glob("*.json"))
KEY_A, KEY_B = "0123456789abcdef", "fedcba9876543210"


def _record(version: str, **topics_: dict) -> dict:
    return {"schema": 1, "torch": version, "python": "3.11.7", "date": "2026-12-02", "topics": topics_,
            "facts": {"test_x.py::test_y": {"outcome": "passed", "message": ""}}}


# ------------------------------------------------------------------------------------------ committed records

@pytest.mark.parametrize("path", RECORDS, ids=[p.name for p in RECORDS])
def test_committed_record_is_valid_and_deterministic(path):
    text = path.read_text(encoding="utf-8")
    record = json.loads(text)
    assert compat.validate(record) == [], path.name
    assert path.stem == record["torch"]
    assert text == json.dumps(record, sort_keys=True, indent=1, ensure_ascii=False) + "\n", "not written by write_record"
    assert set(record["topics"]) == set(topics()), f"{path.name}: topics missing or extra"
    for topic, e in record["topics"].items():
        assert e["notebook"] == f"notebooks/zh/{topic}.ipynb"
    assert record["facts"], "no fact test recorded"


def test_records_cover_the_baseline_and_two_other_versions():
    versions = {p.stem for p in RECORDS}
    assert compat.pinned_torch() in versions
    assert len(versions - {compat.pinned_torch()}) >= 2, versions


# ------------------------------------------------------------------------------------------------ validation

def test_validate_names_what_is_wrong():
    assert compat.validate(_record("2.9.1", t={"status": "passed", "code_key": KEY_A})) == []
    assert compat.validate({"torch": "2.9.1"})  # nearly everything missing
    bad = _record("2.9.1", t={"status": "failed", "code_key": KEY_A})
    assert any("cell number" in p for p in compat.validate(bad))
    assert any("status" in p for p in compat.validate(_record("2.9.1", t={"status": "ok", "code_key": KEY_A})))
    assert any("path of this machine" in p for p in
               compat.validate(_record("2.9.1", t={"status": "failed", "code_key": KEY_A, "cell": 1, "error": f"{ROOT}/x"})))


def test_load_records_names_a_malformed_file(tmp_path):
    (tmp_path / "2.9.1.json").write_text("{", encoding="utf-8")
    with pytest.raises(compat.BuildError, match=r"2\.9\.1\.json"):
        compat.load_records(tmp_path)


def test_records_sort_by_version_not_by_name(tmp_path):
    for v in ("2.15.0", "2.9.1", "2.13.0"):
        compat.write_record(_record(v), tmp_path / f"{v}.json")
    assert [r["torch"] for r in compat.load_records(tmp_path)] == ["2.9.1", "2.13.0", "2.15.0"]


# ------------------------------------------------------------------------------------------------- page line

def test_page_line_counts_only_records_for_the_current_code():
    records = [
        _record("2.9.1", t={"status": "failed", "code_key": KEY_A, "cell": 7, "code_cell": 4, "cell_id": "abc",
                            "error": "AttributeError: module 'torch' has no attribute 'x'\nmore"}),
        _record("2.13.0", t={"status": "passed", "code_key": KEY_A}),
        _record("2.15.0", t={"status": "passed", "code_key": KEY_B}),  # made for older code: not shown
    ]
    line = compat.page_line("t", KEY_A, "zh", records)
    assert line == {"ok": ["2.13"], "failed": [{"torch": "2.9", "cell": 7, "cell_id": "abc",
                                                 "error": "AttributeError: module 'torch' has no attribute 'x'\nmore"}]}
    assert compat.page_line("t", KEY_B, "zh", records) == {"ok": ["2.15"], "failed": []}
    assert compat.page_line("t", "ffffffffffffffff", "zh", records) is None
    assert compat.page_line("other-topic", KEY_A, "zh", records) is None


def test_a_record_for_older_code_is_not_shown_on_the_page():
    nb = Notebook("zh", "parameter", ROOT / "notebooks/zh/parameter.ipynb").read()
    current = code_key(nb)
    nb.cells[[c.cell_type for c in nb.cells].index("code")].source += "\n# edited"
    older = code_key(nb)
    assert older != current
    records = [_record("2.9.1", parameter={"status": "passed", "code_key": older}),
               _record("2.15.0", parameter={"status": "passed", "code_key": current})]
    assert compat.page_texts("parameter", current, "en", {}, records) == ["runs on torch 2.15"]


def test_page_texts_use_the_languages_words_and_the_first_error_line():
    records = [_record("2.9.1", t={"status": "failed", "code_key": KEY_A, "cell": 7, "error": "KeyError: 'a'\nTraceback"}),
               _record("2.13.0", t={"status": "passed", "code_key": KEY_A}),
               _record("2.15.0", t={"status": "passed", "code_key": KEY_A})]
    zh = {"compat_ok": "已在 torch {versions} 上运行", "compat_fail": "在 torch {torch} 上失败：第 {cell} 个单元：{error}"}
    assert compat.page_texts("t", KEY_A, "zh", zh, records) == ["已在 torch 2.13 · 2.15 上运行",
                                                                "在 torch 2.9 上失败：第 7 个单元：KeyError: 'a'"]
    assert compat.page_texts("t", KEY_A, "en", {}, records) == ["runs on torch 2.13 · 2.15",
                                                                "fails on torch 2.9: cell 7: KeyError: 'a'"]


def test_two_patch_releases_of_one_minor_keep_their_full_versions():
    records = [_record("2.9.0", t={"status": "passed", "code_key": KEY_A}),
               _record("2.9.1", t={"status": "passed", "code_key": KEY_A})]
    assert compat.page_line("t", KEY_A, "zh", records)["ok"] == ["2.9.0", "2.9.1"]


def test_a_translation_gets_its_own_cell_number():
    """The record counts the zh notebook's cells; en's page names the same code cell by en's numbering."""
    en = Notebook("en", "parameter", ROOT / "notebooks/en/parameter.ipynb").read()
    code = [(i + 1, c.get("id")) for i, c in enumerate(en.cells) if c.cell_type == "code"]
    records = [_record("2.9.1", parameter={"status": "failed", "code_key": KEY_A, "cell": 999, "code_cell": 2,
                                           "cell_id": "zh-id", "error": "E: x"})]
    failed = compat.page_line("parameter", KEY_A, "en", records)["failed"][0]
    assert (failed["cell"], failed["cell_id"]) == code[1]
    assert compat.page_line("parameter", KEY_A, "zh", records)["failed"][0]["cell"] == 999


def test_the_stamp_escapes_the_compat_lines(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("site_hooks_under_test", ROOT / "tools/site_hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    compat.write_record(_record("2.9.1", t={"status": "failed", "code_key": KEY_A, "cell": 3,
                                            "error": "ValueError: <script>alert(1)</script>"}), tmp_path / "2.9.1.json")
    monkeypatch.setattr(compat, "COMPAT", tmp_path)
    meta = {"strings": {}, "topic": "t", "lang": "zh",
            "pytorch_docs": {"code_key": KEY_A, "execution": {"device": "CPU", "torch": "2.13.0", "date": "2026-12-02", "seconds": 1.0}}}
    html = hooks._stamp_html(meta)
    assert "<script>" not in html
    assert 'class="nb-stamp nb-compat">fails on torch 2.9: cell 3: ValueError: &lt;script&gt;' in html
    meta["pytorch_docs"]["code_key"] = KEY_B
    assert "nb-compat" not in hooks._stamp_html(meta)


# ------------------------------------------------------------------------------------------- facts and diffs

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.facts.test_init" name="test_gains" time="0.1"/>
<testcase classname="tests.facts.test_init" name="test_sig" time="0.1"><failure message="assert &lt;function f at 0x7f3a2b1c0d40&gt; is None&#10;second line">tb</failure></testcase>
<testcase classname="tests.facts.test_data.TestPin" name="test_p[cuda]" time="0.0"><skipped type="pytest.skip" message="no CUDA">s</skipped></testcase>
<testcase classname="" name="tests.facts.test_new" time="0.0"><error message="collection failure">ImportError</error></testcase>
</testsuite></testsuites>"""


def test_parse_junit_keys_outcomes_and_scrubbed_messages():
    facts = compat.parse_junit(JUNIT.replace("f at", f"f in {ROOT}/tests at"))
    assert facts == {
        "test_init.py::test_gains": {"outcome": "passed", "message": ""},
        "test_init.py::test_sig": {"outcome": "failed", "message": "assert <function f in ./tests at 0x…> is None\nsecond line"},
        "test_data.py::TestPin::test_p[cuda]": {"outcome": "skipped", "message": "no CUDA"},
        "test_new.py": {"outcome": "failed", "message": "collection failure"},
    }


def test_fact_changes_lists_only_differences():
    base = {"facts": {"a": {"outcome": "passed"}, "b": {"outcome": "passed"}, "c": {"outcome": "skipped"}}}
    other = {"facts": {"a": {"outcome": "passed"}, "b": {"outcome": "failed", "message": "AssertionError: 2 != 3"},
                       "d": {"outcome": "passed"}}}
    assert compat.fact_changes(base, other) == [("b", "passed", "failed", "AssertionError: 2 != 3"),
                                                ("c", "skipped", "absent", ""), ("d", "absent", "passed", "")]


def test_scrub_removes_colours_paths_and_addresses():
    text = f"\x1b[0;31mValueError\x1b[0m at {ROOT}/x.py in /tmp/compat-run-abc123/f, {sys.base_prefix}/lib 0xdeadbeef12"
    assert compat.scrub(text) == "ValueError at ./x.py in <tmp>/f, <python>/lib 0x…"


# ------------------------------------------------------------------------------------------------ execution

def test_ensure_env_refuses_a_non_version_and_uses_venv_for_the_pin():
    with pytest.raises(compat.BuildError, match="not a torch version"):
        compat.ensure_env("2.15; rm -rf /")
    assert compat.ensure_env(compat.pinned_torch()) == ROOT / ".venv" / "bin" / "python"


def test_stale_topics_are_those_whose_code_changed():
    nbf = Notebook("zh", "parameter", ROOT / "notebooks/zh/parameter.ipynb")
    record = _record("2.9.1", parameter={"status": "passed", "code_key": code_key(nbf.read())})
    assert "parameter" not in compat.stale_topics(record)
    assert set(compat.stale_topics(record)) == set(topics()) - {"parameter"}  # not run at all: stale too
    record["topics"]["parameter"]["code_key"] = KEY_A
    assert "parameter" in compat.stale_topics(record)


def test_an_unknown_topic_is_refused_before_anything_is_installed():
    with pytest.raises(compat.BuildError, match="no such topic nope"):
        compat.run("2.15.0", ["nope"])


def test_execute_topic_names_the_first_failing_cell(tmp_path):
    """A real kernel (this environment's python): the record holds the cell number, id and error line, and
    the cells after the failure do not run."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# t", id="m1"), nbformat.v4.new_code_cell("x = 1", id="c1"),
                nbformat.v4.new_markdown_cell("text", id="m2"),
                nbformat.v4.new_code_cell("import os\nraise AttributeError(f'no such thing in {os.getcwd()}')", id="c2"),
                nbformat.v4.new_code_cell("open('ran-after-failure', 'w')", id="c3")]
    path = tmp_path / "zh" / "t.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    entry = compat.execute_topic(Path(sys.executable), Notebook("zh", "t", path))
    assert entry["status"] == "failed" and entry["code_key"] == code_key(nb)
    assert (entry["cell"], entry["code_cell"], entry["cell_id"]) == (4, 2, "c2")
    assert entry["error"] == "AttributeError: no such thing in <tmp>", entry["error"]
    assert not (tmp_path / "ran-after-failure").exists()
    nb.cells = nb.cells[:2]
    nbformat.write(nb, path)
    assert compat.execute_topic(Path(sys.executable), Notebook("zh", "t", path))["status"] == "passed"
