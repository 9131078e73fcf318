"""The claims register (tests/facts/claims.yml): every markdown cell of every page accounts for its facts.

The rule, which a page cannot pass silently:

1. **Every markdown cell has one entry**, keyed by the cell's `id` (zh and en share ids: the cells are the
   same, only the language differs). A new cell without an entry fails; an entry whose cell is gone fails.
2. An entry either lists its **claims** (each sentence that states a behaviour, a default, a signature, a rule
   or a change since the notes, in short) with one piece of **evidence** each, or says **`none: <kind>`**:
   `heading` (the cell is only headings), `references` (only headings and list items with links),
   `narrative` (what the page or section is about, no fact) or `pointer` (a sentence that only announces
   the next cell). A `none: narrative` or `none: pointer` cell may not contain `$`, so math cannot be hidden
   behind it, and at most three sentences, so a long cell cannot hide behind it.
3. **Fingerprints**: each entry stores the fingerprint of the cell's zh and en text. When either changes, the
   entry fails until someone re-reads the claims and refreshes it (`python tests/facts/test_claims.py
   --refresh` rewrites the fingerprints and the 1-based cell numbers and prints which entries changed: review
   those claims before committing).
4. **Evidence must resolve**:
   - `output: <cell id>`: a code cell of the same notebook whose output shows it (usually the next one); the
     cell must print (print/display/plt.show, or a final expression);
   - `test: tests/facts/<file>.py::<function>`: the test function exists;
   - `source: <url>`: a source line at a fixed revision — a GitHub `blob/<40-hex commit or vX.Y.Z tag>/…#L<n>`
     link, or documentation of one release (`/docs/<X.Y>/`); `main`, `master` and `stable` move and are refused;
   - `cites: <url>`: the weakest kind, only for a sentence the page itself attributes to an outside document
     that has no fixed revision (the CUDA documentation, a tutorial); the page must link that URL;
   - `notes: "<verbatim excerpt>"`: the claim is about what the notes say; the excerpt must occur in the notes
     (checked when the notes file is present: `$PYTORCH_NOTES`, default
     `../shared/source/pytorch-docs-01.zh.txt` beside the repository; the notes are not part of it).
   - `compat: "<version>.json::<key> <passed|failed|skipped>[: <excerpt>]"`: a version claim, from a committed
     record of the torch-version matrix (compat/, written by tools/compat.py). `<key>` is the page's own topic
     (the record must be for the page's current code: same code key) or a fact test `test_<x>.py::test_<y>` that
     still exists in tests/facts; the record must give that outcome, and the excerpt, if any, must occur in the
     error (topic) or message (fact) it recorded.
"""
from __future__ import annotations

import ast
import os
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tools.notebooks import NOTEBOOKS, cell_hash, read_notebook  # noqa: E402

REGISTER = ROOT / "tests" / "facts" / "claims.yml"
NOTES = Path(os.environ.get("PYTORCH_NOTES", ROOT.parent / "shared/source/pytorch-docs-01.zh.txt"))
NONE_KINDS = {"heading", "references", "narrative", "pointer"}
EVIDENCE_KINDS = {"output", "test", "source", "notes", "cites", "compat"}
COMPAT = ROOT / "compat"
COMPAT_POINTER = re.compile(r"(\d+\.\d+\.\d+)\.json::(\S+) (passed|failed|skipped)(?:: (.+))?", re.DOTALL)
FIXED_SOURCE = re.compile(
    r"^https://github\.com/[\w.-]+/[\w.-]+/blob/(?:[0-9a-f]{40}|v\d+\.\d+\.\d+(?:\.\d+)?)/[^#\s]+#L\d+(?:-L\d+)?$"
    r"|^https://(?:docs\.)?pytorch\.org/docs/\d+\.\d+(?:\.\d+)?/\S+$"
    r"|^https://docs\.python\.org/3\.\d+/\S+$"
    r"|^https://peps\.python\.org/pep-\d+/\S*$"
    r"|^https://arxiv\.org/abs/\d+\.\d+(?:v\d+)?\S*$")


def load_register(path: Path = REGISTER) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def pages(root: Path = NOTEBOOKS) -> dict[str, tuple]:
    """topic -> (zh notebook, en notebook)."""
    return {p.stem: (read_notebook(p), read_notebook(root / "en" / p.name)) for p in sorted((root / "zh").glob("*.ipynb"))}


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("test")}


def _only_headings(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def _only_references(text: str) -> bool:
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not (re.match(r"^(\d+\.|[-*])\s", s) or line.startswith("   ")) and "](" not in s:  # noqa: SIM102 - two reasons, two conditions
            if not s.lower().startswith(("related topics", "相关主题", "on this site", "本站")):
                return False
    return True


def _sentences(text: str) -> int:
    return len(re.findall(r"[.!?。！？](?:\s|$)|[。！？]", text))


def register_problems(register: dict, nbs: dict, notes_text: str | None, facts_dir: Path = ROOT / "tests" / "facts",
                      compat_dir: Path = COMPAT) -> list[str]:
    problems: list[str] = []
    tests_cache: dict[Path, set[str]] = {}
    for topic, (zh, en) in nbs.items():
        entries = register.get(topic) or []
        by_id = {}
        for e in entries:
            if e.get("cell") in by_id:
                problems.append(f"claims.yml: {topic}: two entries for cell {e.get('cell')}")
            by_id[e.get("cell")] = e
        ids = [c.get("id") for c in zh.cells]
        for n, (zc, ec) in enumerate(zip(zh.cells, en.cells, strict=False), start=1):
            if zc.cell_type != "markdown":
                continue
            where = f"notebooks/zh/{topic}.ipynb cell {n} ({zc.id})"
            e = by_id.pop(zc.id, None)
            if e is None:
                problems.append(f"{where}: markdown cell has no entry in tests/facts/claims.yml")
                continue
            if e.get("n") != n:
                problems.append(f"{where}: claims.yml says this is cell {e.get('n')}; cells moved, refresh and re-check")
            fp = e.get("fingerprint") or {}
            for lang, cell in (("zh", zc), ("en", ec)):
                if fp.get(lang) != cell_hash(cell.source):
                    problems.append(f"notebooks/{lang}/{topic}.ipynb cell {n} ({zc.id}): text changed since its claims "
                                    f"were registered; re-read them in claims.yml and refresh the fingerprint")
            if "none" in e:
                kind = str(e["none"]).split(":")[0].strip()
                if kind not in NONE_KINDS:
                    problems.append(f"{where}: 'none: {e['none']}' is not one of {sorted(NONE_KINDS)}")
                elif kind == "heading" and not (_only_headings(zc.source) and _only_headings(ec.source)):
                    problems.append(f"{where}: marked 'none: heading' but has text besides headings")
                elif kind == "references" and not _only_references(ec.source):
                    problems.append(f"{where}: marked 'none: references' but has lines that are not references")
                elif kind in ("narrative", "pointer"):
                    body = "\n".join(ln for ln in ec.source.splitlines() if not ln.lstrip().startswith("#"))
                    if "$" in body:
                        problems.append(f"{where}: marked 'none: {kind}' but contains math; register its claims")
                    if _sentences(body) > 3:
                        problems.append(f"{where}: marked 'none: {kind}' but has {_sentences(body)} sentences; "
                                        f"register its claims")
                if e.get("claims"):
                    problems.append(f"{where}: has both 'none' and 'claims'")
                continue
            claims = e.get("claims") or []
            if not claims:
                problems.append(f"{where}: entry has neither claims nor 'none: <kind>'")
            for k, c in enumerate(claims, start=1):
                what = f"{where}: claim {k}"
                if not str(c.get("claim", "")).strip():
                    problems.append(f"{what}: no claim text")
                ev = c.get("evidence") or {}
                if not ev or set(ev) - EVIDENCE_KINDS:
                    problems.append(f"{what}: evidence must be one or more of {sorted(EVIDENCE_KINDS)}, got {sorted(ev)}")
                for kind, ptrs in ev.items():
                    for ptr in ptrs if isinstance(ptrs, list) else [ptrs]:
                        if kind == "cites":
                            page = "\n".join(c.source for c in en.cells)
                            if not str(ptr).startswith("https://") or str(ptr) not in page:
                                problems.append(f"{what}: cites {ptr}, which the page does not link")
                            continue
                        if kind == "compat":
                            problems += _compat_problem(what, str(ptr), topic, zh, compat_dir, facts_dir, tests_cache)
                            continue
                        problems += _evidence_problem(what, kind, str(ptr), topic, ids, zh, n, notes_text, facts_dir, tests_cache)
        for cid in by_id:
            problems.append(f"claims.yml: {topic}: entry for cell {cid}, which is not a markdown cell of the page")
    for topic in set(register) - set(nbs):
        problems.append(f"claims.yml: topic {topic} has no notebook")
    return problems


def _evidence_problem(what, kind, ptr, topic, ids, zh, n, notes_text, facts_dir, cache) -> list[str]:
    if kind == "output":
        if ptr not in ids:
            return [f"{what}: output cell {ptr} does not exist in {topic}"]
        i = ids.index(ptr)
        if zh.cells[i].cell_type != "code":
            return [f"{what}: output cell {ptr} is not a code cell"]
        if not _prints(zh.cells[i].source):
            return [f"{what}: output cell {ptr} prints nothing (no print/display/plt.show, no final expression)"]
        return []
    if kind == "test":
        m = re.fullmatch(r"tests/facts/([\w]+\.py)::(\w+)", ptr)
        if not m:
            return [f"{what}: test pointer {ptr!r} is not tests/facts/<file>.py::<function>"]
        path = facts_dir / m.group(1)
        if not path.exists():
            return [f"{what}: test file {ptr.split('::')[0]} does not exist"]
        if path not in cache:
            cache[path] = _test_functions(path)
        return [] if m.group(2) in cache[path] else [f"{what}: no test function {m.group(2)} in {m.group(1)}"]
    if kind == "source":
        return [] if FIXED_SOURCE.match(ptr) else [f"{what}: source {ptr} is not a line at a fixed revision"]
    if kind == "notes":
        if notes_text is not None and _squash(ptr) not in _squash(notes_text):
            return [f"{what}: the notes do not contain {ptr!r}"]
        return []
    return [f"{what}: unknown evidence kind {kind}"]


def _compat_problem(what, ptr, topic, zh, compat_dir, facts_dir, cache) -> list[str]:
    """A `compat:` pointer resolves when the committed record says what the pointer says."""
    import json

    from tools.notebooks import code_key
    m = COMPAT_POINTER.fullmatch(ptr.strip())
    if not m:
        return [f"{what}: compat pointer {ptr!r} is not '<version>.json::<topic or test_x.py::test_y> <outcome>[: <excerpt>]'"]
    version, key, outcome, excerpt = m.groups()
    path = compat_dir / f"{version}.json"
    if not path.exists():
        return [f"{what}: there is no compat record compat/{path.name}"]
    record = json.loads(path.read_text(encoding="utf-8"))
    if ".py::" in key:
        file, func = key.split("::", 1)
        if not (facts_dir / file).exists() or func not in cache.setdefault(facts_dir / file, _test_functions(facts_dir / file)):
            return [f"{what}: compat cites {key}, which is not a test in tests/facts"]
        entry = record.get("facts", {}).get(key)
        if entry is None:
            return [f"{what}: compat/{path.name} has no fact {key}"]
        got, text = entry.get("outcome"), entry.get("message", "")
    else:
        if key != topic:
            return [f"{what}: compat cites topic {key}; a page may cite only its own topic ({topic})"]
        entry = record.get("topics", {}).get(key)
        if entry is None:
            return [f"{what}: compat/{path.name} has no topic {key}"]
        if entry.get("code_key") != code_key(zh):
            return [f"{what}: compat/{path.name} was made for older code of {key}; re-run the matrix before citing it"]
        got, text = entry.get("status"), entry.get("error", "")
    if got != outcome:
        return [f"{what}: compat/{path.name} says {key} {got}, not {outcome}"]
    if excerpt and excerpt not in text:
        return [f"{what}: compat/{path.name}'s record of {key} does not contain {excerpt!r}"]
    return []


def _prints(code: str) -> bool:
    """Whether a code cell shows something: a print/display/show call, or a final bare expression."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        return True
    return any(isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", "")) in
               {"print", "display", "show"} for n in ast.walk(tree))


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def notes_text() -> str | None:
    return NOTES.read_text(encoding="utf-8") if NOTES.exists() else None


# The tests -------------------------------------------------------------------------------------------

def test_every_markdown_cell_is_registered_and_its_evidence_resolves():
    problems = register_problems(load_register(), pages(), notes_text())
    assert not problems, "\n".join(problems)


def test_the_notes_excerpts_are_checked_when_the_notes_are_present():
    if notes_text() is None:
        pytest.skip(f"the notes are not at {NOTES} (set PYTORCH_NOTES)")
    quoted = [ptr for entries in load_register().values() for e in entries for c in e.get("claims") or []
              for kind, p in (c.get("evidence") or {}).items() if kind == "notes" for ptr in (p if isinstance(p, list) else [p])]
    assert quoted and all(_squash(q) in _squash(notes_text()) for q in quoted)


@pytest.fixture()
def planted(tmp_path):
    """A copy of the init notebooks with one planted sentence, and the register as it is."""
    import shutil
    root = tmp_path / "notebooks"
    for lang in ("zh", "en"):
        (root / lang).mkdir(parents=True)
        shutil.copy(NOTEBOOKS / lang / "init.ipynb", root / lang / "init.ipynb")
    return root


def _edit(root, lang, cell_id, new_source=None, insert_after=None):
    import nbformat

    from tools.notebooks import write_notebook
    path = root / lang / "init.ipynb"
    nb = read_notebook(path)
    i = [c.id for c in nb.cells].index(cell_id)
    if insert_after:
        nb.cells.insert(i + 1, nbformat.v4.new_markdown_cell(new_source, id="planted"))
    else:
        nb.cells[i].source = new_source
    write_notebook(nb, path)


def test_a_planted_sentence_in_a_registered_cell_fails(planted):
    register = {"init": load_register()["init"]}
    assert register_problems(register, pages(planted), None) == []
    _edit(planted, "en", "init-03", read_notebook(planted / "en" / "init.ipynb").cells[3].source
          + "\n\nEvery function in `torch.nn.init` is differentiable.")
    problems = register_problems(register, pages(planted), None)
    assert problems == [("notebooks/en/init.ipynb cell 4 (init-03): text changed since its claims were registered; "
                         "re-read them in claims.yml and refresh the fingerprint")]


def test_a_planted_cell_without_an_entry_fails(planted):
    register = {"init": load_register()["init"]}
    for lang in ("zh", "en"):
        _edit(planted, lang, "init-03", "`zeros_` always returns a new tensor.", insert_after=True)
    problems = register_problems(register, pages(planted), None)
    assert "notebooks/zh/init.ipynb cell 5 (planted): markdown cell has no entry in tests/facts/claims.yml" in problems


def test_none_cannot_hide_a_factual_cell(planted):
    register = {"init": [dict(e) for e in load_register()["init"]]}
    entry = next(e for e in register["init"] if e["cell"] == "init-03")
    entry.pop("claims", None)
    entry["none"] = "narrative"
    problems = register_problems(register, pages(planted), None)
    assert any("init-03): marked 'none: narrative' but" in p for p in problems)


def test_dangling_evidence_fails(planted):
    register = {"init": [dict(e) for e in load_register()["init"]]}
    entry = next(e for e in register["init"] if e.get("claims"))
    entry["claims"] = [{"claim": "x", "evidence": {"test": "tests/facts/test_init.py::test_no_such_test"}},
                       {"claim": "y", "evidence": {"output": "no-such-cell"}},
                       {"claim": "z", "evidence": {"source": "https://github.com/pytorch/pytorch/blob/main/torch/nn/init.py#L1"}},
                       {"claim": "w", "evidence": {"notes": "a sentence the notes never had"}}]
    problems = register_problems(register, pages(planted), "the notes")
    assert len([p for p in problems if entry["cell"] in p]) == 4


def test_a_compat_pointer_must_match_the_record(planted, tmp_path):
    """A version claim resolves only when the committed record says so: outcome, excerpt, current code."""
    import json

    from tools.notebooks import code_key
    nbs = pages(planted)
    key = code_key(nbs["init"][0])
    record = {"topics": {"init": {"status": "failed", "code_key": key, "error": "AttributeError: no x"}},
              "facts": {"test_init.py::test_gains": {"outcome": "failed", "message": "AssertionError: 1 != 2"}}}
    (tmp_path / "2.9.1.json").write_text(json.dumps(record), encoding="utf-8")
    register = {"init": [dict(e) for e in load_register()["init"]]}
    entry = next(e for e in register["init"] if e.get("claims"))
    good = ["2.9.1.json::init failed: no x", "2.9.1.json::test_init.py::test_gains failed: 1 != 2"]
    bad = ["2.9.1.json::init passed", "2.9.1.json::init failed: no y", "2.8.0.json::init failed",
           "2.9.1.json::upsample failed", "2.9.1.json::test_init.py::test_no_such_test failed",
           "2.9.1.json::test_init.py::test_gains passed", "2.9.1.json init failed"]
    entry["claims"] = [{"claim": p, "evidence": {"compat": p}} for p in good + bad]
    problems = [p for p in register_problems(register, nbs, None, compat_dir=tmp_path) if entry["cell"] in p]
    assert len(problems) == len(bad), "\n".join(problems)
    record["topics"]["init"]["code_key"] = "0" * 16  # a record for older code is no evidence
    (tmp_path / "2.9.1.json").write_text(json.dumps(record), encoding="utf-8")
    assert any("older code" in p for p in register_problems(register, nbs, None, compat_dir=tmp_path))


def test_an_output_pointer_must_print():
    assert _prints("print(1)") and _prints("x = 2\nx") and _prints("plt.show()")
    assert not _prints("def f():\n    return 1\n") and not _prints("x = 2")


# Refreshing fingerprints (run by hand after re-reading the changed cells' claims) ------------------------

def refresh(path: Path = REGISTER) -> list[str]:
    text = path.read_text(encoding="utf-8")
    nbs = pages()
    changed = []
    for topic, (zh, en) in nbs.items():
        for n, (zc, ec) in enumerate(zip(zh.cells, en.cells, strict=False), start=1):
            if zc.cell_type != "markdown":
                continue
            pat = re.compile(rf'(- cell: {re.escape(zc.id)}\n\s+n: )(\d+)(\n\s+fingerprint: \{{zh: ")(\w*)(", en: ")(\w*)("\}})')
            m = pat.search(text)
            if not m:
                continue
            new = (m.group(1) + str(n) + m.group(3) + cell_hash(zc.source) + m.group(5) + cell_hash(ec.source) + m.group(7))
            if new != m.group(0):
                changed.append(f"{topic} cell {n} ({zc.id})")
                text = text[:m.start()] + new + text[m.end():]
    path.write_text(text, encoding="utf-8")
    return changed


if __name__ == "__main__":
    if "--refresh" in sys.argv:
        for line in refresh():
            print("refreshed:", line)
    else:
        for p in register_problems(load_register(), pages(), notes_text()):
            print(p)
