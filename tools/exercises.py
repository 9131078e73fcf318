"""Exercises at the end of every topic page (issue 16, item 1): the format's lint and the site transform that
folds each worked solution into a `<details>`.

The format (fixed; zh and en follow it cell for cell, with identical code and tags). The LAST section of a
topic notebook is `## 练习` / `## Exercises`:

1. markdown `<topic>-exercises`: the heading and how to use the exercises;
2. code `<topic>-selfcheck`: a verbatim copy of `snippets/selfcheck.py` (its functions print `✓ what` or raise
   `SelfCheckError("✗ what: found ≠ wanted")`; the copy is kept in step by `sync-snippets`);
3. for k = 1..N, N = 3–5, four cells:
   - markdown `<topic>-ex<k>`: `### 练习 k：<title>` / `### Exercise k: <title>` and the task;
   - code `<topic>-ex<k>-starter`, tags `skip-execution` + `exercise-starter`: what the reader edits, the
     results set to `...`;
   - code `<topic>-ex<k>-check`, tags `skip-execution` + `exercise-check`: only calls of the snippet's
     `expect_*` functions;
   - code `<topic>-ex<k>-solution`, tag `solution`: a worked solution that ends with the check cell's text
     verbatim, so the build runs the very check the reader runs, and a wrong solution fails the build.

Why tags and not separate files: the notebook must work alone in Colab, and zh and en share one execution
(their code must be identical). nbclient skips cells tagged `skip-execution` (its `skip_cells_with_tag`
default), which every runner here goes through (`tools/run.py` for the build and the GPU recordings,
`tools/compat.py` for the version matrix): starters and checks are never executed by the build, solutions
always are. The execution cache keys on code only (`tools.notebooks.code_key`), not on tags, so this lint
insists that the tags are exactly these, in every language: a tag toggled alone would reuse a stale execution.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from typing import Any

from tools.notebooks import Notebook
from tools.paths import SOURCE_LANG

#: The section heading (first line of the `<topic>-exercises` cell) and one exercise's heading, per language.
#: Another language (a new translation) may use any level-2 / level-3 heading of its own.
SECTION_HEADING = {"zh": "## 练习", "en": "## Exercises"}
EXERCISE_HEADING = {"zh": re.compile(r"### 练习 (\d+)：\S"), "en": re.compile(r"### Exercise (\d+): \S")}
#: How an exercise that asks for a prediction says so (at least one per page).
PREDICTION = {"zh": re.compile(r"先预测"), "en": re.compile(r"[Pp]redict first")}
#: The words the site shows on the folded solution; `tools.languages.ui_string` wins where it knows them.
SUMMARY = {"zh": "解答", "en": "Solution"}

CHECK_FUNCTIONS = frozenset({"expect_true", "expect_equal", "expect_close", "expect_type"})
TAGS = {
    "starter": ("skip-execution", "exercise-starter"),
    "check": ("skip-execution", "exercise-check"),
    "solution": ("solution",),
}
EXERCISE_TAGS = frozenset(t for tags in TAGS.values() for t in tags)
MIN_EXERCISES, MAX_EXERCISES = 3, 5
SNIPPET_MARKER = "# snippet: selfcheck.py"

#: Whether `python -m tools check` reports a topic that has no exercise section. Off: check lints every
#: exercise section it finds, so a draft topic (and the tests' small throw-away topics) still builds, while
#: tests/test_exercises.py requires the section on every topic of the repository (`make test` fails without).
REQUIRE_IN_CHECK = False


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def _lang_topic(rel: str) -> tuple[str, str]:
    """`notebooks/<lang>/<topic>.ipynb` → (lang, topic)."""
    parts = rel.replace("\\", "/").split("/")
    return (parts[-2] if len(parts) >= 2 else SOURCE_LANG), parts[-1].removesuffix(".ipynb")


def _only_checks(source: str) -> str | None:
    """Why `source` is not a check cell's code (only calls of the snippet's functions), or None."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return f"is not valid Python ({e.msg}, line {e.lineno})"
    if not tree.body:
        return "is empty"
    for stmt in tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in CHECK_FUNCTIONS):
            return (f"line {stmt.lineno} is not a call of {', '.join(sorted(CHECK_FUNCTIONS))} "
                    "(a check cell holds only those calls; compute things in the starter)")
    return None


def _has_placeholder(source: str) -> bool:
    """Whether the starter leaves something to the reader: a `...` (Ellipsis) as a result (`name = ...`) or
    as the body still to write (`...  # your code`)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(n, ast.Constant) and n.value is Ellipsis for n in ast.walk(tree))


def lint_exercises(nb, rel: str, require: bool = True) -> list[str]:
    """Problems with the exercise section of one notebook (`rel`: notebooks/<lang>/<topic>.ipynb), each naming
    the file and the cell (1-based number and id). `require=False` accepts a notebook without the section."""
    lang, topic = _lang_topic(rel)
    cells = nb["cells"] if isinstance(nb, dict) else nb.cells
    ids = [c.get("id") for c in cells]

    def at(i: int) -> str:
        return f"{rel}: cell {i + 1} ({ids[i]})"

    intro_id = f"{topic}-exercises"
    problems: list[str] = []
    if intro_id not in ids:
        if not require:
            return [f"{at(i)}: tagged {t!r} outside an exercise section (the section starts with a markdown cell "
                    f"id {intro_id!r})" for i, c in enumerate(cells) for t in _tags(c) if t in EXERCISE_TAGS]
        return [(f"{rel}: no exercise section: the last section must start with a markdown cell id {intro_id!r} "
                 f"headed {SECTION_HEADING.get(lang, '## …')!r} (format: tools/exercises.py)")]
    start = ids.index(intro_id)
    for i, c in enumerate(cells[:start]):
        problems += [f"{at(i)}: tagged {t!r} before the exercise section (tags of the exercise format belong "
                     "to its cells only)" for t in _tags(c) if t in EXERCISE_TAGS]
    intro = cells[start]
    first_line = intro.get("source", "").split("\n", 1)[0].strip()
    if intro.get("cell_type") != "markdown":
        problems.append(f"{at(start)}: must be a markdown cell (the section's heading)")
    elif lang in SECTION_HEADING and first_line != SECTION_HEADING[lang]:
        problems.append(f"{at(start)}: must start with the line {SECTION_HEADING[lang]!r}, found {first_line!r}")
    elif lang not in SECTION_HEADING and not re.match(r"## \S", first_line):
        problems.append(f"{at(start)}: must start with a level-2 heading (## …), found {first_line!r}")

    rest = list(range(start + 1, len(cells)))
    if not rest or ids[rest[0]] != f"{topic}-selfcheck":
        problems.append(f"{rel}: cell {start + 2}: the cell after the exercise heading must be the code cell "
                        f"id '{topic}-selfcheck' (a copy of snippets/selfcheck.py)")
        return problems
    sc = cells[rest[0]]
    if sc.get("cell_type") != "code" or not sc.get("source", "").startswith(SNIPPET_MARKER):
        problems.append(f"{at(rest[0])}: must be a code cell that starts with {SNIPPET_MARKER!r} "
                        "(make sync-snippets keeps it equal to snippets/selfcheck.py)")
    if _tags(sc):
        problems.append(f"{at(rest[0])}: the self-check copy must carry no tags (the build runs it), found {_tags(sc)}")
    body = rest[1:]
    n, extra = divmod(len(body), 4)
    if extra or not MIN_EXERCISES <= n <= MAX_EXERCISES:
        problems.append(f"{rel}: the exercise section has {len(body)} cells after the self-check; it must be "
                        f"{MIN_EXERCISES}–{MAX_EXERCISES} exercises of 4 cells each (text, starter, check, solution), "
                        "and nothing after them: it is the page's last section")
    page_code = {c.get("source", "").strip() for c in cells[:start] if c.get("cell_type") == "code"}
    predictions = 0
    for k in range(1, len(body) // 4 + 1):
        i_md, i_st, i_ck, i_so = body[4 * (k - 1): 4 * k]
        want = {i_md: (f"{topic}-ex{k}", "markdown", ()), i_st: (f"{topic}-ex{k}-starter", "code", TAGS["starter"]),
                i_ck: (f"{topic}-ex{k}-check", "code", TAGS["check"]),
                i_so: (f"{topic}-ex{k}-solution", "code", TAGS["solution"])}
        broken = False
        for i, (cid, kind, tags) in want.items():
            if ids[i] != cid or cells[i].get("cell_type") != kind:
                problems.append(f"{at(i)}: expected the {kind} cell id {cid!r} here (exercise {k}), "
                                f"found a {cells[i].get('cell_type')} cell")
                broken = True
            elif sorted(_tags(cells[i])) != sorted(tags):
                problems.append(f"{at(i)}: tags must be {list(tags)}, found {_tags(cells[i])}")
        if broken:
            continue
        md = cells[i_md].get("source", "")
        head = md.split("\n", 1)[0].strip()
        pattern = EXERCISE_HEADING.get(lang)
        m = pattern.match(head) if pattern else re.match(r"### \S", head)
        if not m or (pattern and int(m.group(1)) != k):
            wanted = {"zh": f"### 练习 {k}：<title>", "en": f"### Exercise {k}: <title>"}.get(lang, "### <title>")
            problems.append(f"{at(i_md)}: must start with the heading {wanted!r}, found {head!r}")
        if lang in PREDICTION and PREDICTION[lang].search(md):
            predictions += 1
        starter, check, solution = (cells[i].get("source", "") for i in (i_st, i_ck, i_so))
        if not _has_placeholder(starter):
            problems.append(f"{at(i_st)}: a starter leaves the reader's part as `...` (`name = ...`, or `...  # your "
                            "code` where code is to be written); none found")
        if why := _only_checks(check):
            problems.append(f"{at(i_ck)}: {why}")
        check_text = check.strip()
        if not solution.rstrip().endswith(check_text) or not check_text:
            problems.append(f"{at(i_so)}: must end with the check cell's text verbatim (cell {i_ck + 1}), so the build "
                            "runs the check the reader runs")
        elif solution.rstrip() == check_text or not solution.rstrip()[: -len(check_text)].endswith("\n"):
            problems.append(f"{at(i_so)}: the worked solution comes first, then the check cell's text on lines of its own")
        for i, src in ((i_st, starter), (i_ck, check), (i_so, solution)):
            if src.strip() in page_code:
                problems.append(f"{at(i)}: repeats a code cell of the page verbatim; an exercise asks for something new")
    if lang in PREDICTION and len(body) >= 4 and predictions == 0:
        problems.append(f"{rel}: no exercise asks for a prediction (its text must say {PREDICTION[lang].pattern!r})")
    return problems


def tag_parity(source, translation, rel: str, source_rel: str) -> list[str]:
    """Code cells carry the same tags in every language: zh and en share one execution, so a tag that differs
    (`skip-execution` above all) would make one page's outputs come from code run differently."""
    problems = []
    for i, (a, b) in enumerate(zip(source.cells, translation.cells, strict=False), start=1):  # parity reports a count mismatch
        if a.cell_type == b.cell_type == "code" and _tags(a) != _tags(b):
            problems.append(f"{rel}: cell {i} ({b.get('id')}) is tagged {_tags(b)}, but cell {i} of {source_rel} "
                            f"is tagged {_tags(a)}; tags are shared by all languages, like code")
        if a.cell_type == b.cell_type and a.get("id") != b.get("id") and (EXERCISE_TAGS & {*_tags(a), *_tags(b)}):
            problems.append(f"{rel}: cell {i} has id {b.get('id')!r}, but cell {i} of {source_rel} has {a.get('id')!r}")
    return problems


def check_notebooks(notebooks: Iterable[Notebook], require: bool | None = None) -> list[str]:
    """The exercise lint over every notebook, and tag parity of each translation with its source; what
    `python -m tools check` runs. `require` (default `REQUIRE_IN_CHECK`): report a topic without exercises."""
    require = REQUIRE_IN_CHECK if require is None else require
    notebooks = list(notebooks)
    read = {n: n.read() for n in notebooks}
    source = {n.topic: n for n in notebooks if n.lang == SOURCE_LANG}
    problems: list[str] = []
    for nbf in notebooks:
        problems += lint_exercises(read[nbf], nbf.rel, require=require)
        if nbf.lang != SOURCE_LANG and nbf.topic in source:
            problems += tag_parity(read[source[nbf.topic]], read[nbf], nbf.rel, source[nbf.topic].rel)
    return problems


# The site transform -----------------------------------------------------------------------------------

def summary_text(lang: str) -> str:
    """The folded solution's label in `lang`: the site's per-language words (languages.yml `strings`,
    `tools.languages.ui_string`) where they have it, else `SUMMARY`."""
    try:
        from tools.languages import ui_string
    except ImportError:  # a checkout from before the per-language table
        return SUMMARY.get(lang, SUMMARY["en"])
    try:
        return str(ui_string(lang, "solution"))
    except LookupError:
        return SUMMARY.get(lang, SUMMARY["en"])


def _solution_ids(nb: Any) -> list[str]:
    cells = nb["cells"] if isinstance(nb, dict) else nb.cells
    return [c.get("id") for c in cells if c.get("cell_type") == "code" and "solution" in _tags(c)]


def _outer_cell(node):
    """The outermost element of the cell `node` belongs to: mkdocs-jupyter wraps nbconvert's cell <div> (which
    carries the id) in a <div> of its own with the same jp-Cell and celltag classes."""
    while node.parent is not None and "jp-Cell" in (node.parent.attributes.get("class") or "").split():
        node = node.parent
    return node


def _fail(ctx, message: str):
    """Stop the build with `message` about the page (mkdocs' PluginError where mkdocs is running)."""
    try:
        from mkdocs.exceptions import PluginError as error
    except ImportError:  # pragma: no cover - mkdocs is part of the site's environment
        error = ValueError
    raise error(f"{getattr(ctx, 'source_name', 'the page')}: {message}")


def fold_solutions(root, ctx) -> None:
    """Wrap every solution cell of a notebook page in `<details class="solution"><summary>Solution</summary>…`,
    closed, so the worked solution is one click (or Enter) away and needs no script.

    `root`: the page's parsed content (a selectolax lexbor node); `ctx.lang`, `ctx.nb` (the executed
    notebook, None on a markdown page). The cells are found from the notebook's own tags, by the
    `id="cell-id=<id>"` nbconvert gives each cell, so a change in how the renderer marks tags cannot leave a
    solution silently unfolded: a solution cell that is not on the page exactly once fails the build.
    The summary is kept out of the search index (`data-search-exclude`): "Solution" after every exercise
    would only be noise there. The tag chips mkdocs-jupyter draws above a tagged cell ("skip-execution",
    "exercise-starter", "solution") are removed from the exercise cells: they are the build's business.
    """
    if getattr(ctx, "nb", None) is None:
        return
    cells = {n.attributes.get("id"): n for n in root.css("div.jp-Cell[id]")}
    for c in (ctx.nb["cells"] if isinstance(ctx.nb, dict) else ctx.nb.cells):
        if EXERCISE_TAGS & set(_tags(c)) and (node := cells.get(f"cell-id={c.get('id')}")) is not None:
            for bar in _outer_cell(node).css(".celltoolbar"):  # mkdocs-jupyter shows the tags as chips:
                bar.decompose()  # "skip-execution" is the build's business, not the reader's
    wanted = _solution_ids(ctx.nb)
    if not wanted:
        return
    label = summary_text(ctx.lang)
    for cid in wanted:
        found = cells.get(f"cell-id={cid}")
        if found is None:
            _fail(ctx, f"solution cell {cid!r} is not on the page (looked for id=\"cell-id={cid}\"); cannot fold it")
        cell = _outer_cell(found)
        if cell.parent is not None and cell.parent.tag == "details":
            continue  # folded already
        parser = cell.parser
        details = parser.create_node("details")
        details.attrs["class"] = "solution"
        summary = parser.create_node("summary")
        summary.attrs["data-search-exclude"] = ""
        summary.insert_child(label)  # a text node: the serializer escapes it
        details.insert_child(summary)
        details.insert_child(cell)  # lexbor inserts a copy …
        cell.replace_with(details)  # … which takes the original's place


def folded_html(html: str, lang: str, nb: Any) -> str:
    """`fold_solutions` on an HTML fragment (for callers that hold a string, and for the tests)."""
    from types import SimpleNamespace

    from selectolax.lexbor import LexborHTMLParser

    doc = LexborHTMLParser(html, is_fragment=True)
    fold_solutions(doc, SimpleNamespace(lang=lang, nb=nb))
    return doc.html


__all__ = ["check_notebooks", "fold_solutions", "folded_html", "lint_exercises", "summary_text", "tag_parity"]
