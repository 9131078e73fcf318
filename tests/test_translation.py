"""Translation workflow: staleness per cell, structure parity, glossary lint, safety lint, new languages."""
from __future__ import annotations

import re

import nbformat
import pytest
from conftest import run_tools

from tools.glossary import Term, lint
from tools.notebooks import Notebook
from tools.safety import lint_notebook
from tools.translation import percent, status


def _edit(path, index, change):
    nb = nbformat.read(path, 4)
    change(nb.cells[index])
    nbformat.write(nb, path)


def _first_markdown(path) -> int:
    return next(i for i, c in enumerate(nbformat.read(path, 4).cells) if c.cell_type == "markdown")


def test_committed_translations_are_complete():
    """The shipped state: zh is the source (100 %); en translates every cell of every topic."""
    assert percent(status("zh")) == 100
    en = status("en")
    assert [s.topic for s in en if s.state != "translated"] == [], [(s.topic, s.stale) for s in en if s.stale]


def test_editing_a_source_cell_makes_that_translated_cell_stale(repo_copy):
    zh = repo_copy / "notebooks/zh/parameter.ipynb"
    i = [j for j, c in enumerate(nbformat.read(zh, 4).cells) if c.cell_type == "markdown"][2]
    _edit(zh, i, lambda c: setattr(c, "source", c.source + "\n\n新增的一句话。"))
    out = run_tools(repo_copy, "translations").stdout
    assert re.search(rf"parameter\s+stale\s+\d+/\d+ cells\s+stale cells: {i + 1}\b", out), out
    assert re.search(r"en: (9\d|\d\d)% translated", out) and "en: 100%" not in out
    # marking the cell done brings it back
    run_tools(repo_copy, "mark-translated", "en", "parameter", str(i + 1))
    assert "parameter            translated" in run_tools(repo_copy, "translations").stdout


def test_stale_page_shows_a_banner_linking_to_the_source(built_copy):
    repo_copy = built_copy
    zh = repo_copy / "notebooks/zh/parameter.ipynb"
    i = _first_markdown(zh)
    _edit(zh, i, lambda c: setattr(c, "source", c.source + "\n\n新增的一句话。"))
    run_tools(repo_copy, "build")
    from selectolax.lexbor import LexborHTMLParser

    from tools.languages import ui_string

    page = LexborHTMLParser((repo_copy / "site/en/topics/parameter/index.html").read_text(encoding="utf-8"))
    banners = page.css("article div.admonition.warning.nb-stale")
    assert len(banners) == 1, f"expected one stale banner in the page's article, found {len(banners)}"
    banner = banners[0]
    assert "data-search-exclude" in banner.attributes  # the notice stays out of the search index
    sentence = ui_string("en", "stale").format(cells=i + 1)
    assert sentence in " ".join(banner.text().split()), banner.html
    links = [a.attributes.get("href") or "" for a in banner.css("a")]
    assert len(links) == 1 and links[0].endswith("/notebooks/zh/parameter.ipynb"), links
    assert banner.css_first("a").text().strip() == ui_string("en", "see_source")
    untouched = LexborHTMLParser((repo_copy / "site/en/topics/init/index.html").read_text(encoding="utf-8"))
    assert untouched.css("div.nb-stale") == []

    status_page = LexborHTMLParser((repo_copy / "site/en/translation-status/index.html").read_text(encoding="utf-8"))
    rows = {r.css_first("a").text(): [c.text().strip() for c in r.css("td")]
            for r in status_page.css("tr") if r.css_first("a[href*='topics/']")}
    assert rows["parameter"][1] == "stale" and str(i + 1) in rows["parameter"][3].split(", "), rows["parameter"]
    assert rows["init"][1] == "translated", rows["init"]


def test_parity_break_names_file_and_first_mismatching_cell(repo_copy):
    en = repo_copy / "notebooks/en/init.ipynb"
    nb = nbformat.read(en, 4)
    k = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(k, nbformat.v4.new_markdown_cell("An extra paragraph only in English."))
    nbformat.write(nb, en)
    proc = run_tools(repo_copy, "check", check=False)
    assert proc.returncode == 1
    assert f"notebooks/en/init.ipynb: cell {k + 1} is markdown, but cell {k + 1} of notebooks/zh/init.ipynb is code" in proc.stderr


def test_glossary_lint_reports_a_missing_term(tmp_path, repo_copy):
    cells = {"zh": ["张量的形状很重要。", "梯度会累加。"], "en": ["The shape matters.", "Gradients accumulate."]}
    paths = {}
    for lang, texts in cells.items():
        paths[lang] = tmp_path / lang / "t.ipynb"
        paths[lang].parent.mkdir()
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(t) for t in texts]), paths[lang])
    terms = [Term("张量", "tensor"), Term("梯度", "gradient")]
    misses = [str(m) for m in lint([Notebook(lang, "t", p) for lang, p in paths.items()], terms)]
    assert misses == [f"{paths['en']}: cell 1 translates a cell that uses 张量, but has no 'tensor'"]
    # and through the command, on a real notebook
    zh, en = repo_copy / "notebooks/zh/init.ipynb", repo_copy / "notebooks/en/init.ipynb"
    i = _first_markdown(zh)
    _edit(zh, i, lambda c: setattr(c, "source", "采样器决定顺序。"))
    _edit(en, i, lambda c: setattr(c, "source", "The order is decided elsewhere."))
    assert f"notebooks/en/init.ipynb: cell {i + 1} translates a cell that uses 采样器, but has no 'sampler'" in run_tools(repo_copy, "translations").stdout


UNSAFE = {  # what is planted -> what the message says was refused (tests/test_hostile.py has many more)
    "<script>alert(1)</script>": "a <script> element",
    '<iframe src="https://example.org"></iframe>': "a <iframe> element",
    '<object data="x.swf"></object>': "a <object> element",
    '<img src="x.png" onerror="alert(1)">': 'the onerror="alert(1)" attribute of <img>',
    "[click](javascript:alert(1))": 'the href="javascript:alert(1)" attribute of <a>',
    "[docs](http://example.org/page)": 'the href="http://example.org/page" attribute of <a>',
}


@pytest.mark.parametrize("planted", UNSAFE)
def test_safety_lint_rejects_planted_patterns_in_markdown(repo_copy, planted):
    en = repo_copy / "notebooks/en/init.ipynb"
    i = _first_markdown(en)
    _edit(en, i, lambda c: setattr(c, "source", c.source + "\n\n" + planted))
    proc = run_tools(repo_copy, "check", check=False)
    assert proc.returncode == 1
    assert any(line.startswith(f"notebooks/en/init.ipynb: cell {i + 1} (markdown") and UNSAFE[planted] in line
               for line in proc.stderr.splitlines()), proc.stderr


def test_safety_lint_checks_outputs_too():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", data={"text/html": "<b onclick='steal()'>hi</b>"})])])
    (problem,) = lint_notebook(nb, "nb.ipynb")
    assert problem.startswith("nb.ipynb: cell 1 (output 1, text/html, line 1): the onclick=\"steal()\" attribute of <b> is not allowed")


def test_safe_content_passes():
    md = ("See [the docs](https://pytorch.org/docs/stable/) and `onclick=`-free text; SVG namespace "
          "`http://www.w3.org/2000/svg`; a < b and $x^2$.")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(md)])
    assert lint_notebook(nb, "nb.ipynb") == []


def test_new_language_scaffold_builds_at_zero_percent_and_removes_cleanly(built_copy):
    repo_copy = built_copy
    out = run_tools(repo_copy, "new-language", "ja").stdout
    assert "notebooks/ja/" in out and (repo_copy / "mkdocs.ja.yml").exists()
    assert re.search(r"^ja: 0% translated", run_tools(repo_copy, "translations").stdout, re.MULTILINE)
    run_tools(repo_copy, "build")
    page = (repo_copy / "site/ja/topics/parameter/index.html").read_text(encoding="utf-8")
    assert "このページはまだ翻訳されていません" in page  # the notice, in the reader's language
    assert "nb-untranslated" in page and "torch.nn.Parameter" in page  # source text shown, not a 404
    assert 'hreflang="ja"' in (repo_copy / "site/en/index.html").read_text(encoding="utf-8")  # switcher entry
    assert re.search(r"`ja` \| 0%", (repo_copy / "build/docs/en/translation-status.md").read_text(encoding="utf-8"))

    run_tools(repo_copy, "remove-language", "ja", "--force")  # a copy without git: remove-language cannot tell uncommitted work
    assert not (repo_copy / "notebooks/ja").exists() and not (repo_copy / "mkdocs.ja.yml").exists()
    assert "lang: ja" not in (repo_copy / "mkdocs.yml").read_text(encoding="utf-8")
    run_tools(repo_copy, "build")
    assert not (repo_copy / "site/ja").exists()


def test_new_language_rejects_a_bad_code(repo_copy):
    proc = run_tools(repo_copy, "new-language", "C.UTF-8", check=False)
    assert proc.returncode == 1 and "is not a language code" in proc.stderr


def test_changing_a_figures_alt_text_in_the_source_makes_its_translation_stale(repo_copy):
    zh = repo_copy / "notebooks/zh/init.ipynb"
    i = next(j for j, c in enumerate(nbformat.read(zh, 4).cells) if c.cell_type == "code" and c.metadata.get("alt"))
    _edit(zh, i, lambda c: c.metadata.update(alt=c.metadata["alt"] + "（已更新）"))
    out = run_tools(repo_copy, "translations").stdout
    assert re.search(rf"init\s+stale\s+\d+/\d+ cells\s+stale cells: {i + 1}\b", out), out
