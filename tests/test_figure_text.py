"""Figure text in the page's language (issue 16 item 3): tools/figure_text.py and figure-text.yml."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tools import figure_text as ft
from tools.sanitize import check_svg_bytes

ROOT = Path(__file__).resolve().parent.parent

#: A tiny SVG with what real figures have: a prolog and DOCTYPE, metadata with a dc:title (not figure text),
#: a comment, a <text> with a <tspan>, an escaped character, a graphviz-style <title>, spaces around a label.
FIXTURE = """<?xml version="1.0" encoding="utf-8" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"
  "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns:xlink="http://www.w3.org/1999/xlink" width="10pt" height="5pt" viewBox="0 0 10 5" xmlns="http://www.w3.org/2000/svg" version="1.1">
 <metadata><rdf:RDF xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><dc:title>weight value</dc:title></rdf:RDF></metadata>
 <g id="node1"><title>n0</title>
  <!-- weight value -->
  <text style="font-size: 10px; font-family: 'DejaVu Sans', sans-serif; text-anchor: middle" x="1" y="2">weight value</text>
  <text x="3" y="4"  font-family="Helvetica,sans-Serif"> gradients flow (backward)</text>
  <text><tspan x="0" style="font-family: 'DejaVu Sans'">N</tspan><tspan x="5">layer</tspan></text>
  <text x="1" y="1">a &lt; b &amp; c</text>
  <text x="2" y="2">gradient (2, 3)</text>
 </g>
</svg>
"""


def test_translates_a_tiny_svg_and_leaves_every_other_byte():
    zh = ft.translate_svg(FIXTURE, "zh")
    expected = (FIXTURE
                .replace('y="2">weight value</text>', 'y="2">权重值</text>')
                .replace("> gradients flow (backward)</text>", "> 梯度的流向（反向传播）</text>")
                .replace('<tspan x="5">layer</tspan>', '<tspan x="5">层</tspan>')
                .replace(">gradient (2, 3)</text>", ">梯度 (2, 3)</text>"))
    assert zh == expected  # the dc:title, the comment, the node id and everything else byte for byte
    assert ft.translate_svg(FIXTURE, "en") == FIXTURE
    assert ft.figure_strings(FIXTURE) == {"n0", "weight value", "gradients flow (backward)", "N", "layer",
                                          "a < b & c", "gradient (2, 3)"}
    assert ft.untranslated(FIXTURE, "zh") == {"a < b & c"}  # in neither list of the table
    ET.fromstring(zh)


def test_translation_escapes_what_it_writes():
    table = ft.Table(exact={"layer": ft.Entry("layer", {"zh": "层 <b>&</b>"}, None)})
    zh = ft.translate_svg(FIXTURE, "zh", table)
    assert '<tspan x="5">层 &lt;b&gt;&amp;&lt;/b&gt;</tspan>' in zh
    assert "层 <b>&</b>" in ft.figure_strings(zh)


@pytest.mark.parametrize("svg, why", [
    ('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
     "entity declaration"),
    ('<svg xmlns="http://www.w3.org/2000/svg"><text><![CDATA[layer]]></text></svg>', "CDATA"),
    ('<svg xmlns="http://www.w3.org/2000/svg"><text>layer</svg>', "not well-formed"),
])
def test_refuses_what_it_cannot_translate_safely(svg, why):
    with pytest.raises(ft.FigureTextError, match=why):
        ft.translate_svg(svg, "zh")


def test_templates_translate_their_placeholders():
    table = ft.load_table()
    assert table.lookup("saved mat1: (2, 4)", "zh") == "保存的 mat1：(2, 4)"
    assert (table.lookup("nn.Linear default with tanh: 20 layers, width 256, no bias", "zh")
            == "nn.Linear 默认初始化，非线性函数 tanh：20 层，宽度 256，无偏置")  # the placeholder's value too
    assert table.lookup("a string no figure draws", "zh") is None


def test_the_table_is_valid_and_glossary_backed():
    assert ft.table_problems() == []


def test_a_string_that_misses_the_glossary_term_is_reported(tmp_path):
    bad = tmp_path / "figure-text.yml"
    bad.write_text("strings:\n"
                   "  - {en: 'gradient of the loss', zh: '坡度'}\n"
                   "  - {en: 'input {size}', zh: '输入'}\n"
                   "  - {en: 'kaiming_normal_ (fan_in)', zh: 'kaiming_normal_'}\n"
                   "  - {en: 'batch', zh: '批次'}\n", encoding="utf-8")
    problems = ft.table_problems(ft.load_table(bad))
    text = "\n".join(problems)
    assert "'gradient', so the zh text must use '梯度'" in text
    assert "'loss', so the zh text must use '损失函数'" in text
    assert "strings entry 2 ('input {size}')" in text and "placeholders" in text
    assert "'normal'" not in text  # kaiming_normal_ is code, not the glossary's "normal"
    assert "uses '批次', which glossary.yml rejects" in text
    assert len(problems) == 4, problems


def test_a_malformed_entry_is_named(tmp_path):
    bad = tmp_path / "figure-text.yml"
    bad.write_text("strings:\n  - {en: 'x'}\n  - {zh: 'y'}\n", encoding="utf-8")
    with pytest.raises(ft.FigureTextError, match=r"strings entry 2 must map 'en'"):
        ft.load_table(bad)


def test_the_translation_report_lists_a_planted_new_string(tmp_path, monkeypatch):
    from tools import paths, translation

    planted = FIXTURE.replace("weight value</text>", "a brand-new label</text>")
    nb = {"cells": [{"cell_type": "code", "id": "fig-1", "source": "", "metadata": {},
                     "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": planted}}]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "executed" / "en").mkdir(parents=True)
    (tmp_path / "executed" / "en" / "demo.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    explorer = tmp_path / "explorers" / "demo" / "0123abcd"
    explorer.mkdir(parents=True)
    (explorer / "a.svg").write_text(FIXTURE.replace(">layer<", ">another new label<"), encoding="utf-8")
    (explorer / ".complete").write_text("1 variants\n")
    (explorer / "b.svg").write_text(FIXTURE.replace(">layer<", ">another new label<"), encoding="utf-8")
    monkeypatch.setattr(paths, "BUILD", tmp_path)
    section = "\n".join(translation.figure_text_report())
    assert "zh: 3 figure string(s) untranslated" in section
    assert "'a brand-new label': demo: cell 1 (fig-1)\n" in section
    assert "'another new label': explorer demo (2 figures)" in section.splitlines()[-1]
    assert "'a < b & c': demo: cell 1 (fig-1), explorer demo (2 figures)" in section
    assert "'weight value'" not in section and "'layer'" not in section  # translated: not listed
    assert section in translation.report()


# Every figure the build draws ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def figures(built_site: Path) -> dict[str, str]:
    found = ft.built_figures(ROOT / "build")
    assert sum(not k.startswith("explorer ") for k in found) >= 9, sorted(found)  # the pages' figures
    from tools.explorers import discover

    for script in discover():
        assert any(k.startswith(f"explorer {script.stem}:") for k in found), f"no built figure of explorer {script.stem}"
    return found


def test_every_built_figure_string_has_a_zh_entry_or_is_kept(figures):
    missing = ft.missing_strings("zh", figures)
    assert not missing, "figure strings figure-text.yml neither translates nor marks untranslated:\n" + "\n".join(
        f"  {where}: {sorted(found)}" for where, found in missing.items())


def test_translated_figures_pass_the_svg_allowlist_and_fall_back_to_a_cjk_font(figures):
    changed = 0
    for where, svg in figures.items():
        zh = ft.translate_svg(svg, "zh")
        assert check_svg_bytes(zh) == [], where
        assert ft.font_fallback_problems(zh) == [], where
        assert len(zh.encode()) <= 30 * 1024 or not where.startswith("explorer"), where
        changed += zh != svg
    assert changed >= len(figures) // 2


def test_font_fallback_check_finds_a_font_list_without_a_generic_family():
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><text font-family="DejaVu Sans">层</text></svg>'
    assert ft.font_fallback_problems(svg) == ["'层' is set in DejaVu Sans, without a generic family"]


def test_zh_pages_show_chinese_figure_text_and_en_pages_english(built_site: Path):
    def svg_text(lang: str, topic: str) -> str:
        nb = json.loads((ROOT / "build" / "docs" / lang / "topics" / f"{topic}.ipynb").read_text(encoding="utf-8"))
        return "".join("".join(d["image/svg+xml"]) for _, _, d in ft.svg_outputs(nb))

    assert "权重值" in svg_text("zh", "init") and ">weight value<" not in svg_text("zh", "init")
    assert ">weight value<" in svg_text("en", "init") and "权重值" not in svg_text("en", "init")
    assert "反向传播" in svg_text("zh", "autograd")
    site_figures = "".join(p.read_text(encoding="utf-8") for p in (built_site / "zh").rglob("*.svg"))
    assert "权重值" in site_figures and "保存的 mat1" in site_figures
    explorer = "".join(p.read_text(encoding="utf-8") for p in (built_site / "zh" / "explorers" / "init").glob("*.svg"))
    assert "各层 relu 激活函数输出的标准差" in explorer
