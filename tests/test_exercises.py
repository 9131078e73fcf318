"""Exercises (issue 16, item 1; format and lint: tools/exercises.py).

- every topic, in every language, ends with its exercises in the fixed format (the lint), tags shared by zh/en;
- the lint rejects each way of breaking the format, naming the file and the cell;
- the build runs every worked solution through its check and leaves starters and checks unexecuted: in the
  executed notebooks, and in a tiny repository where a planted wrong solution must fail the build, naming
  the file and the cell (and a starter that would raise is never run);
- the site folds each solution into a closed <details> (`fold_solutions`), and the page shows starter and
  check cells without any sign of a run.
"""
from __future__ import annotations

import ast
import copy
import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from conftest import KERNEL, ROOT, make_mini_repo, run_tools
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools.exercises import CHECK_FUNCTIONS, check_notebooks, fold_solutions, folded_html, lint_exercises, summary_text, tag_parity
from tools.notebooks import all_notebooks, read_notebook, topics
from tools.snippets import snippet_text

NOTEBOOKS = all_notebooks()


# Every page --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("nbf", NOTEBOOKS, ids=lambda n: f"{n.lang}-{n.topic}")
def test_every_topic_ends_with_exercises_in_the_format(nbf):
    """Required for every topic (this test does not accept a page without exercises, unlike `tools check`
    while `REQUIRE_IN_CHECK` is off)."""
    problems = lint_exercises(nbf.read(), nbf.rel, require=True)
    assert not problems, "\n".join(problems)


def test_tags_are_shared_by_every_language():
    problems = [p for p in check_notebooks(NOTEBOOKS, require=False) if "tagged" in p or "has id" in p]
    assert not problems, "\n".join(problems)


# The lint rejects each broken variant --------------------------------------------------------------------

CHECK = 'expect_equal("answer", answer, 6 * 7)'


def _exercise(k: int, lang: str = "zh", predict: bool = False) -> list:
    head = f"### 练习 {k}：题目" if lang == "zh" else f"### Exercise {k}: title"
    text = ("先预测，再运行。" if lang == "zh" else "Predict first, then run.") if predict else "Task."
    return [new_markdown_cell(f"{head}\n\n{text}", id=f"t-ex{k}"),
            new_code_cell(f"answer = ...  # exercise {k}", id=f"t-ex{k}-starter",
                          metadata={"tags": ["skip-execution", "exercise-starter"]}),
            new_code_cell(CHECK, id=f"t-ex{k}-check", metadata={"tags": ["skip-execution", "exercise-check"]}),
            new_code_cell(f"answer = 42  # worked out for exercise {k}\nprint(answer)\n\n{CHECK}",
                          id=f"t-ex{k}-solution", metadata={"tags": ["solution"]})]


def _valid(lang: str = "zh", n: int = 3) -> nbformat.NotebookNode:
    heading = "## 练习" if lang == "zh" else "## Exercises"
    cells = [new_markdown_cell("# t", id="t-00"), new_code_cell("print(1)", id="t-01"),
             new_markdown_cell(f"{heading}\n\nHow to use them.", id="t-exercises"),
             new_code_cell(snippet_text("selfcheck.py"), id="t-selfcheck")]
    for k in range(1, n + 1):
        cells += _exercise(k, lang, predict=k == 2)
    return new_notebook(cells=cells, metadata=KERNEL)


def _lint(nb, lang: str = "zh") -> list[str]:
    return lint_exercises(nb, f"notebooks/{lang}/t.ipynb")


def _cell(nb, cid: str):
    return next(c for c in nb.cells if c.get("id") == cid)


def test_the_fixture_passes_in_both_languages():
    assert _lint(_valid("zh")) == [] and _lint(_valid("en"), "en") == []


def _broken(change) -> list[str]:
    nb = _valid()
    change(nb)
    return _lint(nb)


def _drop_tag(nb):
    _cell(nb, "t-ex1-starter").metadata["tags"] = ["exercise-starter"]


def _check_not_last(nb):
    s = _cell(nb, "t-ex2-solution")
    s.source = f"{CHECK}\nprint('after the check')"


def _two_exercises(nb):
    del nb.cells[-4:]


def _six_exercises(nb):
    for k in (4, 5, 6):
        nb.cells += _exercise(k)


def _check_computes(nb):
    c = _cell(nb, "t-ex1-check")
    c.source = f"answer = 42\n{CHECK}"
    s = _cell(nb, "t-ex1-solution")
    s.source = f"print(1)\n\n{c.source}"


def _not_last_section(nb):
    nb.cells.append(new_markdown_cell("## 参考资料\n\n1. [x](https://example.org)", id="t-refs"))


def _wrong_heading(nb):
    _cell(nb, "t-ex3").source = "### 练习 4：题目\n\nTask."


def _section_heading(nb):
    _cell(nb, "t-exercises").source = "## 习题\n\nHow to use them."


def _no_placeholder(nb):
    _cell(nb, "t-ex1-starter").source = "answer = 42"


def _solution_is_only_the_check(nb):
    _cell(nb, "t-ex1-solution").source = CHECK


def _skip_on_page_code(nb):
    nb.cells[1].metadata["tags"] = ["skip-execution"]


def _repeats_page_code(nb):
    _cell(nb, "t-ex1-starter").source = "print(1)"


def _no_prediction(nb):
    _cell(nb, "t-ex2").source = "### 练习 2：题目\n\nTask."


def _cell_order(nb):
    i = [c.id for c in nb.cells].index("t-ex1-check")
    nb.cells[i], nb.cells[i + 1] = nb.cells[i + 1], nb.cells[i]


def _no_section(nb):
    del nb.cells[2:]


def _solution_skipped(nb):
    _cell(nb, "t-ex3-solution").metadata["tags"] = ["solution", "skip-execution"]


BROKEN = {  # variant: (what is done, a piece of the message expected, naming the cell)
    "missing tag": (_drop_tag, "cell 6 (t-ex1-starter): tags must be ['skip-execution', 'exercise-starter']"),
    "check text not at the end": (_check_not_last, "cell 12 (t-ex2-solution): must end with the check cell's text verbatim"),
    "2 exercises": (_two_exercises, "it must be 3–5 exercises of 4 cells each"),
    "6 exercises": (_six_exercises, "it must be 3–5 exercises of 4 cells each"),
    "check cell computes": (_check_computes, "cell 7 (t-ex1-check): line 1 is not a call of expect_close"),
    "not the last section": (_not_last_section, "nothing after them: it is the page's last section"),
    "exercise heading": (_wrong_heading, "cell 13 (t-ex3): must start with the heading '### 练习 3：<title>'"),
    "section heading": (_section_heading, "cell 3 (t-exercises): must start with the line '## 练习'"),
    "starter without ...": (_no_placeholder, "cell 6 (t-ex1-starter): a starter leaves the reader's part as `...`"),
    "solution is only the check": (_solution_is_only_the_check, "cell 8 (t-ex1-solution): the worked solution comes first"),
    "skip-execution on page code": (_skip_on_page_code, "cell 2 (t-01): tagged 'skip-execution' before the exercise section"),
    "repeats page code": (_repeats_page_code, "cell 6 (t-ex1-starter): repeats a code cell of the page verbatim"),
    "no prediction": (_no_prediction, "no exercise asks for a prediction"),
    "cells out of order": (_cell_order, "cell 7 (t-ex1-solution): expected the code cell id 't-ex1-check' here"),
    "no section": (_no_section, "notebooks/zh/t.ipynb: no exercise section"),
    "solution skipped": (_solution_skipped, "cell 16 (t-ex3-solution): tags must be ['solution']"),
}


@pytest.mark.parametrize("variant", BROKEN)
def test_the_lint_rejects(variant):
    change, expected = BROKEN[variant]
    problems = _broken(change)
    assert any(expected in p and p.startswith("notebooks/zh/t.ipynb") for p in problems), "\n".join(problems) or "no problem found"


def test_a_page_without_exercises_passes_only_when_not_required():
    nb = _valid()
    del nb.cells[2:]
    assert lint_exercises(nb, "notebooks/zh/t.ipynb", require=False) == []
    assert lint_exercises(nb, "notebooks/zh/t.ipynb", require=True)


def test_tags_must_match_across_languages():
    zh, en = _valid("zh"), _valid("en")
    assert tag_parity(zh, en, "notebooks/en/t.ipynb", "notebooks/zh/t.ipynb") == []
    _cell(en, "t-ex1-check").metadata["tags"] = ["exercise-check"]
    assert tag_parity(zh, en, "notebooks/en/t.ipynb", "notebooks/zh/t.ipynb") == [
        ("notebooks/en/t.ipynb: cell 7 (t-ex1-check) is tagged ['exercise-check'], but cell 7 of notebooks/zh/t.ipynb "
         "is tagged ['skip-execution', 'exercise-check']; tags are shared by all languages, like code")]


# The build: solutions run through their checks, starters and checks never run -------------------------------

def _checks_in(source: str) -> int:
    return sum(isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and getattr(s.value.func, "id", "") in CHECK_FUNCTIONS
               for s in ast.parse(source).body)


def _executed(built_site: Path, lang: str, topic: str) -> nbformat.NotebookNode:
    return read_notebook(ROOT / "build" / "executed" / lang / f"{topic}.ipynb")


@pytest.mark.parametrize("topic", topics())
def test_executed_solutions_pass_and_starters_stay_unexecuted(built_site, topic):
    for lang in ("zh", "en"):
        nb = _executed(built_site, lang, topic)
        by_id = {c.get("id"): c for c in nb.cells}
        tagged = [c for c in nb.cells if c.cell_type == "code" and set(c.metadata.get("tags", [])) & {"exercise-starter", "exercise-check"}]
        solutions = [c for c in nb.cells if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])]
        assert len(tagged) >= 6 and len(solutions) >= 3, f"{lang}/{topic}: no exercises in the executed notebook"
        for c in tagged:
            assert c.outputs == [] and c.execution_count is None, f"{lang}/{topic}: {c.id} was executed by the build"
        for c in solutions:
            text = "".join(o.get("text", "") for o in c.outputs if o.get("output_type") == "stream")
            assert c.execution_count is not None and not [o for o in c.outputs if o.output_type == "error"], c.id
            check = by_id[c.id.removesuffix("-solution") + "-check"].source
            ticks = [line for line in text.splitlines() if line.startswith("✓ ")]
            assert len(ticks) == _checks_in(check), f"{lang}/{topic}: {c.id} printed {ticks}, its check has {_checks_in(check)} calls"
            assert "✗" not in text


@pytest.mark.parametrize("topic", topics())
def test_the_page_folds_solutions_and_shows_no_run_of_starters(built_site, topic):
    from selectolax.lexbor import LexborHTMLParser

    for lang in ("zh", "en"):
        path = next(p for p in (built_site / lang / "topics" / topic / "index.html", built_site / lang / topic / "index.html")
                    if p.exists())
        page = LexborHTMLParser(path.read_text(encoding="utf-8"))
        folded = page.css("details.solution")
        solutions = [c for c in _executed(built_site, lang, topic).cells if "solution" in c.metadata.get("tags", [])]
        assert len(folded) == len(solutions), f"{lang}/{topic}: {len(folded)} folded solutions for {len(solutions)} solution cells"
        for d in folded:
            assert "open" not in d.attributes and d.css_first("summary").text(strip=True) == summary_text(lang)
            assert d.css_first("div.jp-Cell[id$='-solution']") is not None
        for cell in page.css("div.celltag_exercise-starter, div.celltag_exercise-check, div.celltag_solution"):
            assert cell.css_first(".celltoolbar") is None, f"{lang}/{topic}: the tags show on the page"
        for cell in page.css("div.celltag_exercise-starter, div.celltag_exercise-check"):
            assert cell.css_first(".jp-OutputArea") is None, f"{lang}/{topic}: an output area on a starter or check cell"
            prompt = cell.css_first(".jp-InputPrompt")
            assert prompt is None or not re.search(r"\d", prompt.text()), f"{lang}/{topic}: a starter or check shows an execution count"


@pytest.fixture()
def exercise_repo(tmp_path):
    """A tiny repository whose topic `t` has one exercise; its starter and check would raise if run."""
    repo = make_mini_repo(tmp_path, {"t": dict.fromkeys(("zh", "en"), "print('t')")})

    def write(solution: str) -> None:
        for lang in ("zh", "en"):
            nb = _valid(lang, n=3)
            _cell(nb, "t-ex1-starter").source = "answer = ...\nraise RuntimeError('the build ran a starter')"
            _cell(nb, "t-ex1-solution").source = f"{solution}\n\n{CHECK}"
            nbformat.write(nb, repo / "notebooks" / lang / "t.ipynb")

    return SimpleNamespace(root=repo, write=write)


def test_a_wrong_solution_fails_the_build_naming_file_and_cell(exercise_repo):
    exercise_repo.write("answer = 6 * 9  # a planted mistake")
    proc = run_tools(exercise_repo.root, "execute", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "notebooks/zh/t.ipynb: cell 8 failed" in proc.stderr, proc.stderr
    assert "SelfCheckError" in proc.stderr and "✗ answer: 54 ≠ 42" in proc.stderr, proc.stderr


def test_a_right_solution_passes_and_the_starter_is_never_run(exercise_repo):
    exercise_repo.write("answer = 6 * 7")
    run_tools(exercise_repo.root, "execute")
    nb = read_notebook(exercise_repo.root / "build/executed/zh/t.ipynb")
    assert _cell(nb, "t-ex1-starter").outputs == [] and _cell(nb, "t-ex1-starter").execution_count is None
    assert "✓ answer" in "".join(o.get("text", "") for o in _cell(nb, "t-ex1-solution").outputs)


def test_every_runner_skips_starters():
    """The build and the GPU recordings run notebooks through tools/run.py, the torch-version matrix through
    tools/compat.py; both drive nbclient cell by cell with `execute_cell`, which skips `skip-execution`."""
    from nbclient import NotebookClient

    assert NotebookClient.skip_cells_with_tag.default_value == "skip-execution"
    for module in ("run.py", "compat.py"):
        text = (ROOT / "tools" / module).read_text(encoding="utf-8")
        assert "execute_cell(" in text and "skip_cells_with_tag" not in text, module
    assert "run_notebook" in (ROOT / "tools" / "recorded.py").read_text(encoding="utf-8")


# The site transform -------------------------------------------------------------------------------------

PAGE = ('<div class="jp-Notebook">'
        '<div class="jp-Cell jp-CodeCell celltag_exercise-check"><div id="cell-id=t-ex1-check" class="jp-Cell jp-CodeCell celltag_exercise-check"><div class="celltoolbar">skip-execution</div>check</div></div>'
        '<div class="jp-Cell jp-CodeCell celltag_solution"><div id="cell-id=t-ex1-solution" class="jp-Cell jp-CodeCell celltag_solution">'
        '<pre>a &lt; b</pre></div></div>'
        '<div class="jp-Cell jp-MarkdownCell"><div id="cell-id=t-ex2" class="jp-Cell jp-MarkdownCell"><p>next</p></div></div>'
        '</div>')
NB = {"cells": [{"cell_type": "code", "id": "t-ex1-check", "metadata": {"tags": ["skip-execution", "exercise-check"]}},
                {"cell_type": "code", "id": "t-ex1-solution", "metadata": {"tags": ["solution"]}},
                {"cell_type": "markdown", "id": "t-ex2", "metadata": {}}]}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_fold_solutions_wraps_the_solution_cell_in_a_closed_details(lang):
    from selectolax.lexbor import LexborHTMLParser

    out = LexborHTMLParser(folded_html(PAGE, lang, NB), is_fragment=True)
    details = out.css("details")
    assert len(details) == 1 and details[0].attributes == {"class": "solution"}  # closed: no `open`
    assert details[0].css_first("summary").text() == summary_text(lang) == {"zh": "解答", "en": "Solution"}[lang]
    inner = details[0].css("div.jp-Cell")
    assert [d.attributes.get("id") for d in inner] == [None, "cell-id=t-ex1-solution"]  # the whole cell, once
    assert details[0].css_first("pre").text() == "a < b" and "a &lt; b" in details[0].html
    assert len(out.css("[id='cell-id=t-ex1-solution']")) == 1  # moved, not copied
    order = [n.attributes.get("id") for n in out.css("div.jp-Cell[id]")]
    assert order == ["cell-id=t-ex1-check", "cell-id=t-ex1-solution", "cell-id=t-ex2"]  # in place
    assert folded_html(out.html, lang, NB).count("<details") == 1  # folding again changes nothing
    assert "celltoolbar" not in out.html and "skip-execution" not in out.html  # the tag chips are gone


def test_fold_solutions_leaves_markdown_pages_alone_and_names_a_missing_cell():
    from selectolax.lexbor import LexborHTMLParser

    doc = LexborHTMLParser(PAGE, is_fragment=True)
    fold_solutions(doc, SimpleNamespace(lang="en", nb=None))  # a markdown page: nothing to do
    assert "<details" not in doc.html
    nb = copy.deepcopy(NB)
    nb["cells"][1]["id"] = "t-ex9-solution"
    with pytest.raises(Exception, match=r"notebooks/en/t.ipynb: solution cell 't-ex9-solution' is not on the page"):
        fold_solutions(doc, SimpleNamespace(lang="en", nb=nb, source_name="notebooks/en/t.ipynb"))


def test_fold_solutions_is_a_site_transform_after_the_sanitizer():
    import tools.site_hooks as hooks

    names = [getattr(t, "__name__", "") for t in hooks.TRANSFORMS]
    assert "fold_solutions" in names and names.index("fold_solutions") > names.index("sanitize_cells")


def test_the_stylesheet_styles_the_folded_solution():
    css = (ROOT / "docs" / "assets" / "site.css").read_text(encoding="utf-8")
    assert re.search(r"details\.solution\b[^{]*\{", css) and re.search(r"details\.solution[^{]*>\s*summary", css)


def test_selfcheck_messages():
    """The snippet's answers: ✓ lines, and ✗ messages that show found and wanted (never another exception,
    even for a starter's `...` left as it is)."""
    ns: dict = {}
    exec(compile(snippet_text("selfcheck.py"), "selfcheck.py", "exec"), ns)
    err = ns["SelfCheckError"]
    import torch

    ns["expect_equal"]("x", [1, 2], [1, 2])
    ns["expect_close"]("y", torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-7])
    cases = [("expect_equal", ("x", 54, 42), "✗ x: 54 ≠ 42"),
             ("expect_equal", ("t", torch.zeros(2), torch.zeros(3)), "✗ t.shape: (2,) ≠ (3,)"),
             ("expect_close", ("y", ..., 1.0), "✗ type(y): 'ellipsis' ≠ 'number or Tensor'"),
             ("expect_close", ("y", 1.5, 1.0), "✗ y: 1.5 ≉ 1.0"),
             ("expect_true", ("w.grad is None", False), "✗ w.grad is None: False ≠ True"),
             ("expect_type", ("p", 1, float), "✗ type(p): 'int' ≠ 'float'")]
    for fn, args, message in cases:
        with pytest.raises(err) as e:
            ns[fn](*args)
        assert str(e.value) == message


def test_a_skip_execution_tag_is_part_of_the_code_key_and_of_a_cached_run():
    """jupyter-cache matches on sources only; tagging a cell `skip-execution` must still re-execute it."""
    from tools.notebooks import code_key, code_view, ran_as_expected

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("x")],
                                  metadata=copy.deepcopy(KERNEL))
    tagged = copy.deepcopy(nb)
    tagged.cells[1].metadata["tags"] = ["skip-execution"]
    assert code_key(nb) != code_key(tagged)
    assert code_view(tagged).cells[1].metadata["tags"] == ["skip-execution"]
    ran = copy.deepcopy(nb)
    ran.cells[0].execution_count, ran.cells[1].execution_count = 1, 2
    assert ran_as_expected(ran)
    ran.cells[1].metadata["tags"] = ["skip-execution"]  # an execution made before the tag: stale now
    assert not ran_as_expected(ran)
