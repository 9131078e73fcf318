"""The terminology, spelling and figure-glyph lints of tools/terms.py (run by `python -m tools check`)."""
import io

import matplotlib as mpl
import nbformat
import pytest

mpl.use("svg")
import matplotlib.pyplot as plt

from tools.notebooks import Notebook, all_notebooks, write_notebook
from tools.terms import figure_glyph_problems, glyph_problems_in_svg, load_rules, prose, terms_lint


def _notebook(tmp_path, lang, *markdown, code=None):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(m, id=f"c{i}") for i, m in enumerate(markdown)]
    if code:
        nb.cells.append(nbformat.v4.new_code_cell(code, id="code"))
    path = tmp_path / lang / "topic.ipynb"
    write_notebook(nb, path)
    return Notebook(lang, "topic", path)


def test_the_pages_pass():
    assert terms_lint(all_notebooks()) == []


def test_glossary_rejects_the_known_drifts():
    rejected = {(lang, bad) for r in load_rules() for lang, bads in r.reject.items() for bad in bads}
    assert ("zh", "锁页内存") in rejected and ("zh", "batch") in rejected


def test_a_rejected_term_in_prose_is_reported_with_file_cell_and_term(tmp_path):
    nbf = _notebook(tmp_path, "zh", "# 标题", "数据先放进锁页内存，再拼成一个 batch。")
    problems = terms_lint([nbf])
    assert len(problems) == 2
    assert all("zh/topic.ipynb: cell 2 (c1)" in p for p in problems)
    assert "'锁页内存'" in problems[0] + problems[1] and "'batch'" in problems[0] + problems[1]


def test_code_math_links_and_quotes_are_not_prose(tmp_path):
    text = ('`batch_size` 与 `batch` 是参数；$batch$；[链接](https://x.org/batch)；'
            '笔记原文：“一个 batch”。\n\n> 引用 batch\n\n```python\nbatch = 1\n```')
    assert "batch" not in prose(text)
    assert terms_lint([_notebook(tmp_path, "zh", text)]) == []


def test_an_unattributed_quote_is_prose(tmp_path):
    """Quotes are exempt only when the sentence says whose words they are (the notes, the docs, ...)."""
    problems = terms_lint([_notebook(tmp_path, "zh", "最后画出“哪个索引进了哪个 batch”。")])
    assert len(problems) == 1 and "'batch'" in problems[0]
    assert terms_lint([_notebook(tmp_path, "zh", "文档写的是“一个 batch”。")]) == []


def test_british_spelling_is_reported_in_english_prose_code_and_alt(tmp_path):
    nbf = _notebook(tmp_path, "en", "The behaviour of the colour map.", "Analysis and emphasis are fine.",
                    code="x = 1  # initialised here")
    problems = terms_lint([nbf])
    assert [p.split("spells ")[1].split(" ")[0] for p in problems] == ["'behaviour'", "'colour'", "'initialised'"]
    assert "cell 1 (c0)" in problems[0] and "cell 3 (code)" in problems[2]
    # the zh pages are not held to English spelling
    assert terms_lint([_notebook(tmp_path, "zh", "The behaviour.")]) == []


def _svg(label):
    plt.rcParams.update({"svg.fonttype": "none"})
    fig, ax = plt.subplots()
    ax.plot([0, 1], label=label)
    ax.legend()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    return buf.getvalue()


def test_mathcal_in_a_figure_is_a_private_use_glyph():
    """init's histogram legend used $\\mathcal{N}$: matplotlib writes it as U+E23A in STIXNonUnicode."""
    problems = glyph_problems_in_svg(_svg(r"$\mathcal{N}(0,\ 0.0442^2)$"))
    assert any("private-use" in p for p in problems) and any("STIXNonUnicode" in p for p in problems)
    assert glyph_problems_in_svg(_svg(r"$N(0,\ 0.0442^2)$")) == []


def test_figure_glyph_problems_name_the_cell():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("plot()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/svg+xml": _svg(r"$\mathcal{N}$")})]
    nb.cells = [nbformat.v4.new_markdown_cell("x"), cell]
    problems = figure_glyph_problems(nb, "en/init.ipynb")
    assert problems and all(p.startswith("en/init.ipynb: cell 2 figure") for p in problems)


@pytest.mark.parametrize("char", ["\u2212", "\u00d7", "\u03c3", "\u2192"])
def test_common_characters_pass(char):
    assert glyph_problems_in_svg(f'<svg><text font-family="DejaVu Sans">{char}</text></svg>') == []
