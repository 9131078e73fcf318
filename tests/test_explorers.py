"""Explorers (tools/explorers.py): the contract's validation, the sandboxed runner and its cache, publishing,
the page transform `mount`, and one variant of every explorer recomputed from a fresh run.

The validation tests start from a small valid variant set (two controls, four variants, tiny SVGs, a topic
notebook with the cell it follows) and break one thing at a time: each must be refused with a message that
names the generator and the key. The browser side is tests/test_browser_explorers.py.
"""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import ROOT
from selectolax.lexbor import LexborHTMLParser

from tools import explorers
from tools.explorers import Explorer, ExplorerError
from tools.page_context import PageContext

SVG = ('<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'
       '<svg xmlns="http://www.w3.org/2000/svg" width="120pt" height="60pt" viewBox="0 0 120 60">'
       '<text x="5" y="20">{}</text></svg>\n')


def _control(name: str, kind: str, values: list[str]) -> dict:
    return {"name": name, "kind": kind, "label": {"zh": f"{name}（中）", "en": name},
            "options": [{"value": v, "label": {"zh": v, "en": v}} for v in values]}


def _spec() -> dict:
    """A valid variant set: size 1|2 (radio) × fast (checkbox), four variants."""
    variants = []
    for size in ("1", "2"):
        for fast in ("false", "true"):
            variants.append({"params": {"size": size, "fast": fast}, "figure": f"s{size}-{fast}.svg",
                             "alt": {"zh": f"大小 {size}，快 {fast}", "en": f"size {size}, fast {fast}"},
                             "data": {"size": int(size), "fast": fast == "true"}})
    return {"name": "demo", "topic": "demo", "after_cell": "fig", "title": {"zh": "动手调", "en": "Explore"},
            "controls": [_control("size", "radio", ["1", "2"]), _control("fast", "checkbox", ["false", "true"])],
            "default": {"size": "1", "fast": "false"}, "variants": variants}


@pytest.fixture()
def notebooks(tmp_path: Path) -> Path:
    """notebooks/{zh,en}/demo.ipynb with a cell "fig" (the one the explorer follows)."""
    root = tmp_path / "notebooks"
    for lang in ("zh", "en"):
        (root / lang).mkdir(parents=True)
        nb = {"cells": [{"id": "intro", "cell_type": "markdown", "metadata": {}, "source": "# demo"},
                        {"id": "fig", "cell_type": "code", "metadata": {}, "source": "", "outputs": []}],
              "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        (root / lang / "demo.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    return root


def _write(folder: Path, spec: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "variants.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    for v in spec.get("variants", []):
        if isinstance(v, dict) and isinstance(v.get("figure"), str) and "/" not in v["figure"]:
            (folder / v["figure"]).write_text(SVG.format(v["figure"]), encoding="utf-8")
    return folder


def _problems(folder: Path, notebooks: Path, langs=("zh", "en")) -> list[str]:
    spec = json.loads((folder / "variants.json").read_text(encoding="utf-8"))
    return explorers.problems_of(spec, folder, "demo", list(langs), notebooks)


def test_the_valid_fixture_passes(tmp_path, notebooks):
    folder = _write(tmp_path / "out", _spec())
    assert _problems(folder, notebooks) == []
    spec = explorers.validate(folder, "demo", "explorers/demo.py", ["zh", "en"], notebooks)
    assert len(spec["variants"]) == 4


def _drop_variant(s):
    s["variants"].pop()


def _duplicate_variant(s):
    s["variants"][3] = {**copy.deepcopy(s["variants"][0]), "figure": "dup.svg"}


def _unknown_value(s):
    s["variants"][0]["params"]["size"] = "3"


def _extra_param(s):
    s["variants"][0]["params"]["colour"] = "red"


def _missing_alt_language(s):
    del s["variants"][1]["alt"]["en"]


def _markup_in_alt(s):
    s["variants"][2]["alt"]["en"] = 'size <img src=x onerror="alert(1)">'


def _empty_label(s):
    s["controls"][0]["label"]["zh"] = " "


def _checkbox_values(s):
    s["controls"][1]["options"][1]["value"] = "yes"


def _bad_kind(s):
    s["controls"][0]["kind"] = "slider"


def _bad_default(s):
    s["default"]["size"] = "9"


def _name_mismatch(s):
    s["name"] = "other"


def _unknown_cell(s):
    s["after_cell"] = "nowhere"


def _unknown_topic(s):
    s["topic"] = "no-such-topic"


def _shared_figure(s):
    s["variants"][1]["figure"] = s["variants"][0]["figure"]


def _path_in_figure(s):
    s["variants"][0]["figure"] = "../escape.svg"


def _no_data(s):
    del s["variants"][0]["data"]


def _missing_key(s):
    del s["controls"]


BROKEN = {  # breakage -> what the message must say (with the key)
    "a combination without a variant": (_drop_variant, 'variants: 1 combination(s) of the controls have no variant: {"size": "2", "fast": "true"}'),
    "a combination twice": (_duplicate_variant, "variants[3].params: {'size': '1', 'fast': 'false'} is also variants[0]"),
    "a value no control has": (_unknown_value, "variants[0].params.size: '3' is not one of its control's values"),
    "a parameter no control has": (_extra_param, "variants[0].params: expected one value for each control"),
    "an alt text missing a language": (_missing_alt_language, "variants[1].alt: missing 'en'"),
    "markup in an alt text": (_markup_in_alt, "variants[2].alt.en: contains markup"),
    "an empty label": (_empty_label, "controls[0].label.zh: expected non-empty text"),
    "a checkbox with other values": (_checkbox_values, 'controls[1].options: a checkbox has exactly the values "false" and "true"'),
    "an unknown control kind": (_bad_kind, "controls[0].kind: 'slider': expected one of select, radio, checkbox, range"),
    "a default no control has": (_bad_default, "default.size: '9' is not one of its control's values"),
    "a name that is not the file's": (_name_mismatch, "name: 'other', but the generator is explorers/demo.py"),
    "a cell the page does not have": (_unknown_cell, "after_cell: 'nowhere': no cell with that id in notebooks/zh/demo.ipynb"),
    "a topic that does not exist": (_unknown_topic, "topic: 'no-such-topic': there is no notebooks/zh/no-such-topic.ipynb"),
    "two variants, one figure": (_shared_figure, "variants[1].figure: 's1-false.svg' is another variant's figure too"),
    "a path as figure name": (_path_in_figure, "variants[0].figure: '../escape.svg': expected a plain file name ending in .svg"),
    "no recorded data": (_no_data, "variants[0].data: missing"),
    "no controls at all": (_missing_key, "controls: missing"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_validation_rejects_each_broken_variant_set(tmp_path, notebooks, case):
    breakage, message = BROKEN[case]
    spec = _spec()
    breakage(spec)
    folder = _write(tmp_path / "out", spec)
    with pytest.raises(ExplorerError) as e:
        explorers.validate(folder, "demo", "explorers/demo.py", ["zh", "en"], notebooks)
    assert f"explorers/demo.py: variants.json: {message}" in str(e.value), str(e.value)


@pytest.mark.parametrize("case", ["missing", "script", "oversized", "not svg"])
def test_validation_rejects_a_bad_figure_file(tmp_path, notebooks, case):
    folder = _write(tmp_path / "out", _spec())
    fig = folder / "s2-true.svg"
    if case == "missing":
        fig.unlink()
        want = "variants[3].figure: s2-true.svg: no such file"
    elif case == "script":
        fig.write_text(SVG.format("x").replace("</svg>", "<script>alert(1)</script></svg>"), encoding="utf-8")
        want = "variants[3].figure: s2-true.svg: a <script> element is not allowed in a figure"
    elif case == "oversized":
        fig.write_text(SVG.format("x" * (31 * 1024)), encoding="utf-8")
        want = "variants[3].figure: s2-true.svg: 31.2 KB (at most 30 KB"
    else:
        fig.write_text('<svg xmlns="http://www.w3.org/2000/svg"><text>cut short', encoding="utf-8")
        want = "variants[3].figure: s2-true.svg: malformed SVG"
    problems = _problems(folder, notebooks)
    assert any(p.startswith(want) for p in problems), problems


def test_validation_rejects_files_nobody_publishes_and_malformed_json(tmp_path, notebooks):
    folder = _write(tmp_path / "out", _spec())
    (folder / "notes.txt").write_text("x")
    assert "files: notes.txt: written but not any variant's figure (nothing else is published)" in _problems(folder, notebooks)
    (folder / "variants.json").write_text("{not json")
    with pytest.raises(ExplorerError, match=r"explorers/demo.py: variants.json is not valid JSON"):
        explorers.validate(folder, "demo", "explorers/demo.py", ["zh", "en"], notebooks)


def test_a_language_the_generator_does_not_know_falls_back_but_a_half_written_one_fails(tmp_path, notebooks):
    """A language `make new-language` just added shows the source text (as its notebooks do); a language the
    generator writes for some texts and forgets for others is a forgotten text."""
    folder = _write(tmp_path / "out", _spec())
    assert _problems(folder, notebooks, ("zh", "en", "ja")) == []  # nobody writes ja yet
    spec = _spec()
    spec["title"]["ja"] = "試す"
    folder = _write(tmp_path / "out2", spec)
    assert "variants[0].alt: missing 'ja'" in _problems(folder, notebooks, ("zh", "en", "ja"))
    spec = _spec()
    del spec["variants"][0]["alt"]["zh"]  # the source language is never optional
    folder = _write(tmp_path / "out3", spec)
    assert "variants[0].alt: missing 'zh'" in _problems(folder, notebooks)


# --- the runner and its cache --------------------------------------------------------------------------

GENERATOR = '''
import json, sys
spec = {SPEC}
for v in spec["variants"]:
    open(v["figure"], "w").write({SVG!r}.format(v["figure"]))
json.dump(spec, open("variants.json", "w"))
print("ran with", sys.argv[1:])
'''


def _generator(tmp_path: Path, body: str | None = None) -> Path:
    script = tmp_path / "explorers" / "demo.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(body or GENERATOR.replace("{SPEC}", repr(_spec())).replace("{SVG!r}", repr(SVG)), encoding="utf-8")
    return script


def test_the_runner_runs_a_generator_in_an_empty_folder_and_caches_it(tmp_path, notebooks, monkeypatch):
    monkeypatch.setattr(explorers, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(explorers, "languages", lambda: ["zh", "en"])
    script, cache, said = _generator(tmp_path), tmp_path / "cache", []
    ex = explorers.generate(script, cache=cache, log=said.append)
    assert said[-1].startswith("explorer demo … generated 4 variants in ")
    assert sorted(p.name for p in ex.folder.iterdir()) == sorted(
        [".complete", "variants.json"] + [v["figure"] for v in _spec()["variants"]])
    assert explorers.generate(script, cache=cache, log=said.append).folder == ex.folder
    assert said[-1] == "explorer demo … cached (generator and torch unchanged)"
    script.write_text(script.read_text() + "\n# an edit\n")  # a new text is a new key: it runs again
    again = explorers.generate(script, cache=cache, log=said.append)
    assert said[-1].startswith("explorer demo … generated") and again.folder != ex.folder
    assert [p.name for p in (cache / "demo").iterdir()] == [again.folder.name]  # the old entry is gone


def test_a_failing_generator_is_named_with_its_traceback(tmp_path):
    script = _generator(tmp_path, "import json\nraise RuntimeError('no torch today')\n")
    with pytest.raises(ExplorerError) as e:
        explorers.generate(script, cache=tmp_path / "cache", log=lambda s: None)
    assert "demo.py failed (exit status 1)" in str(e.value) and "RuntimeError: no torch today" in str(e.value)
    assert not list((tmp_path / "cache" / "demo").glob("*/.complete")), "a failed run was filed"


def test_an_invalid_output_is_never_filed(tmp_path, notebooks, monkeypatch):
    monkeypatch.setattr(explorers, "NOTEBOOKS", notebooks)
    spec = _spec()
    spec["variants"].pop()
    script = _generator(tmp_path, GENERATOR.replace("{SPEC}", repr(spec)).replace("{SVG!r}", repr(SVG)))
    with pytest.raises(ExplorerError, match="have no variant"):
        explorers.generate(script, cache=tmp_path / "cache", log=lambda s: None)
    assert not list((tmp_path / "cache" / "demo").glob("*/.complete"))


@pytest.mark.skipif(os.environ.get("SANDBOX", "").lower() == "off", reason="SANDBOX=off: generators run unsandboxed")
def test_a_generator_runs_in_the_sandbox(tmp_path):
    """No network and no repository: what a generator sees is the notebook sandbox."""
    probe = ("import os, socket, json\n"
             f"seen = {{'repo': os.path.exists({str(ROOT / 'README.md')!r}), 'cwd_empty': os.listdir('.') == []}}\n"
             "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2); seen['net'] = True\n"
             "except OSError:\n    seen['net'] = False\n"
             "json.dump(seen, open('variants.json', 'w'))\n")
    out = tmp_path / "out"
    explorers.run_generator(_generator(tmp_path, probe), out)
    assert json.loads((out / "variants.json").read_text()) == {"repo": False, "cwd_empty": True, "net": False}


# --- publishing and the page ---------------------------------------------------------------------------

def _explorer(tmp_path: Path) -> Explorer:
    folder = _write(tmp_path / "cache" / "demo" / "k", _spec())
    return Explorer("demo", ROOT / "explorers" / "demo.py", folder, _spec())


@pytest.fixture()
def published(tmp_path, notebooks, monkeypatch) -> dict[str, Path]:
    """The demo explorer published into two docs trees (zh, en), figures 'translated' by a stand-in."""
    monkeypatch.setattr(explorers, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(explorers, "_translator", lambda: (lambda svg, lang: svg.replace("</text>", f" [{lang}]</text>")))
    ex, docs = _explorer(tmp_path), {}
    for lang in ("zh", "en"):
        docs[lang] = tmp_path / "docs" / lang
        assert explorers.publish(lang, docs[lang], [ex]) == ["demo"]
    return docs


def test_publish_writes_translated_figures_and_a_lean_table(published):
    out = published["zh"] / "explorers" / "demo"
    table = json.loads((out / "variants.zh.json").read_text(encoding="utf-8"))
    assert table["variants"][3] == {"params": {"size": "2", "fast": "true"}, "src": "s2-true.svg", "alt": "大小 2，快 true"}
    assert all(set(v) == {"params", "src", "alt"} for v in table["variants"])  # no recorded data on the client
    assert "s2-true.svg [zh]</text>" in (out / "s2-true.svg").read_text(encoding="utf-8")
    assert "s2-true.svg [en]</text>" in (published["en"] / "explorers" / "demo" / "s2-true.svg").read_text(encoding="utf-8")


def _page_ctx(lang: str, docs: Path, topic: str = "demo") -> PageContext:
    page = SimpleNamespace(file=SimpleNamespace(src_path=f"topics/{topic}.ipynb"), url=f"topics/{topic}/")
    return PageContext(lang=lang, nb={"cells": []}, page=page, config={"docs_dir": str(docs)},
                       source_name=f"notebooks/{lang}/{topic}.ipynb")


FIXTURE = ('<div class="jp-Cell" id="cell-id=intro"><h1>demo</h1></div>'
           '<div class="jp-Cell" id="cell-id=fig"><img src="figure-1.svg" alt="x"></div>'
           '<div class="jp-Cell" id="cell-id=after"><p>next</p></div>')


def _mounted(ctx: PageContext) -> LexborHTMLParser:
    doc = LexborHTMLParser(f"<body>{FIXTURE}")
    explorers.mount(doc.body, ctx)
    return doc


def test_mount_puts_the_explorer_after_its_cell(published):
    doc = _mounted(_page_ctx("en", published["en"]))
    ids = [n.attributes.get("id") or n.tag for n in doc.body.iter()]
    assert ids == ["cell-id=intro", "cell-id=fig", "figure", "script", "cell-id=after"]
    fig = doc.css_first("figure.explorer")
    assert fig.attributes["data-explorer"] == "demo"
    assert fig.attributes["data-variants"] == "../../explorers/demo/variants.en.json"
    assert "data-search-exclude" in fig.attributes
    img = fig.css_first("img")
    assert img.attributes["src"] == "../../explorers/demo/s1-false.svg"
    assert img.attributes["alt"] == "size 1, fast false"
    assert (img.attributes["width"], img.attributes["height"]) == ("160", "80")  # 120 × 60 pt
    caption = fig.css_first("figcaption")
    assert caption.attributes["aria-live"] == "polite" and caption.text() == "size 1, fast false"
    assert doc.css_first("script").attributes["src"] == "../../assets/explorers.js"
    assert "defer" in doc.css_first("script").attributes


def test_mount_controls_are_native_labelled_and_disabled_without_script(published):
    doc = _mounted(_page_ctx("zh", published["zh"]))
    box = doc.css_first("figure.explorer > fieldset.explorer__controls")
    assert "disabled" in box.attributes and box.css_first("legend").text() == "动手调"
    radios = box.css('fieldset[data-param="size"] input[type=radio]')
    assert [r.attributes["value"] for r in radios] == ["1", "2"] and "checked" in radios[0].attributes
    assert box.css_first('fieldset[data-param="size"] > legend').text() == "size（中）"
    assert all(r.parent.tag == "label" for r in radios)  # each radio inside its label
    check = box.css_first('input[type=checkbox][data-param="fast"]')
    assert "checked" not in check.attributes
    assert box.css_first(f'label[for="{check.attributes["id"]}"]').text() == "fast（中）"
    assert doc.css_first("figure img").attributes["alt"] == "大小 1，快 false"
    markup = doc.css_first("figure").html
    assert " style=" not in markup and " on" not in markup.replace(" one", "")  # nothing the CSP would refuse


def test_mount_range_and_select_controls(tmp_path, notebooks, monkeypatch):
    monkeypatch.setattr(explorers, "NOTEBOOKS", notebooks)
    spec = _spec()
    spec["controls"] = [_control("size", "range", ["1", "2"]), _control("fast", "select", ["false", "true"])]
    ex = Explorer("demo", ROOT / "explorers" / "demo.py", _write(tmp_path / "c", spec), spec)
    explorers.publish("en", tmp_path / "docs", [ex])
    doc = _mounted(_page_ctx("en", tmp_path / "docs"))
    rng = doc.css_first('input[type=range][data-param="size"]')
    assert (rng.attributes["min"], rng.attributes["max"], rng.attributes["value"]) == ("0", "1", "0")
    assert json.loads(rng.attributes["data-values"]) == ["1", "2"] and rng.attributes["aria-valuetext"] == "1"
    assert doc.css_first(f'label[for="{rng.attributes["id"]}"]') is not None
    select = doc.css_first('select[data-param="fast"]')
    assert doc.css_first(f'label[for="{select.attributes["id"]}"]').text() == "fast"
    assert [o.attributes["value"] for o in select.css("option")] == ["false", "true"]


def test_mount_leaves_other_pages_alone_and_names_a_missing_cell(published):
    doc = _mounted(_page_ctx("en", published["en"], topic="other"))
    assert doc.css_first("figure") is None and doc.css_first("script") is None  # not even the script
    doc = LexborHTMLParser("<body><div id='cell-id=intro'></div>")
    with pytest.raises(ExplorerError, match=r"explorers/demo.py: after_cell 'fig' is not a cell of notebooks/en/demo.ipynb"):
        explorers.mount(doc.body, _page_ctx("en", published["en"]))


def test_mount_runs_in_the_sites_transforms():
    from tools import site_hooks

    assert explorers.mount in site_hooks.TRANSFORMS
    assert site_hooks.TRANSFORMS.index(explorers.mount) < site_hooks.TRANSFORMS.index(site_hooks.search_copy)


# --- the real explorers: one variant each, recomputed from a fresh run ----------------------------------

def _pick(spec: dict) -> dict:
    """A variant other than the default (the default is checked on every page): the last one."""
    return spec["variants"][-1]


@pytest.mark.parametrize("script", explorers.discover(), ids=lambda p: p.stem)
def test_a_fresh_run_recomputes_the_published_variant(tmp_path, script):
    """The variant the site publishes is what the generator computes: run it again, in a fresh folder and
    without the cache (one variant where the generator takes --only, else all), and compare the recorded
    data, the alt texts and the figure's bytes with the build's copy."""
    published = explorers.generate(script, log=lambda s: None)
    variant = _pick(published.spec)
    args = ("--only", json.dumps(variant["params"])) if "--only" in script.read_text(encoding="utf-8") else ()
    out = tmp_path / "fresh"
    explorers.run_generator(script, out, args)
    fresh = json.loads((out / "variants.json").read_text(encoding="utf-8"))
    again = next(v for v in fresh["variants"] if v["params"] == variant["params"])
    assert again["data"] == variant["data"]
    assert again["alt"] == variant["alt"]
    assert (out / again["figure"]).read_bytes() == (published.folder / variant["figure"]).read_bytes()
