"""Hostile contributions (tests/hostile/payloads.yml): each is refused with its file and cell named, or is
provably inert on the published page.

Payloads are planted in groups, so the suite runs one command per group rather than one build per payload:
every source-level payload in one copy (`tools check`), every name payload in another (names are checked
before anything is parsed), every output payload in a topic of its own (`tools build`: outputs exist only
after execution), and every inert payload in one build whose pages are then read.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import KERNEL, ROOT, run_tools
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from selectolax.lexbor import LexborHTMLParser

PAYLOADS = yaml.safe_load((ROOT / "tests/hostile/payloads.yml").read_text(encoding="utf-8"))
LANGS = ("zh", "en")
MARKDOWN_TOPIC = "parameter"   # source-level markdown payloads are appended to this topic
NAME_PLACES = {"topic-name", "symlink", "asset", "asset-name"}


def _refused(place_filter) -> list[dict]:
    return [p for p in PAYLOADS if "refused" in p and place_filter(p["place"])]


SOURCE = _refused(lambda place: place not in NAME_PLACES and place != "output")
NAMES = _refused(lambda place: place in NAME_PLACES)
OUTPUTS = _refused(lambda place: place == "output")
INERT = [p for p in PAYLOADS if "inert" in p]


def test_every_payload_has_one_expectation():
    ids = [p["id"] for p in PAYLOADS]
    assert len(ids) == len(set(ids)), "payload ids repeat"
    for p in PAYLOADS:
        assert ("refused" in p) != ("inert" in p), f"{p['id']}: give exactly one of refused/inert"
    assert {p["place"] for p in PAYLOADS} >= {"markdown", "output", "alt", "glossary", "strings", "page",
                                               "nb-metadata", "topic-name", "symlink", "big-cell"}


# --- planting -------------------------------------------------------------------------------------------

def _edit_nb(path: Path, change) -> None:
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def _append_markdown(repo: Path, topic: str, text: str) -> int:
    """Append a markdown cell to zh and en of `topic`; returns its 1-based number (the same in both)."""
    numbers = set()
    for lang in LANGS:
        path = repo / "notebooks" / lang / f"{topic}.ipynb"
        _edit_nb(path, lambda nb: nb.cells.append(new_markdown_cell(text)))
        numbers.add(len(nbformat.read(path, as_version=4).cells))
    (n,) = numbers
    return n


def _set_yaml_text(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name}: {old!r} not found"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _yaml_line(path: Path, index: int, key: str = "en") -> int:
    """The 1-based line of `key`'s value in entry `index` of a YAML list of mappings."""
    entry = yaml.compose(path.read_text(encoding="utf-8")).value[index]
    return next(v for k, v in entry.value if k.value == key).start_mark.line + 1


def _yaml_quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def plant_source(repo: Path, p: dict) -> list[str]:
    """Plant one source-level payload; returns the places (file + cell/key) the error must name."""
    place, text = p["place"], p["payload"]
    if place in ("markdown", "big-cell"):
        n = _append_markdown(repo, MARKDOWN_TOPIC, text * p.get("times", 1))
        return [f"notebooks/{lang}/{MARKDOWN_TOPIC}.ipynb: cell {n}" for lang in LANGS]
    if place == "alt":
        for lang in LANGS:
            _edit_nb(repo / f"notebooks/{lang}/{MARKDOWN_TOPIC}.ipynb",
                     lambda nb: nb.cells[1].metadata.__setitem__("alt", text))
        return [f"notebooks/{lang}/{MARKDOWN_TOPIC}.ipynb: cell 2" for lang in LANGS]
    if place == "glossary":  # each glossary payload becomes the `en` term of its own entry
        path = repo / "glossary.yml"
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
        n = sum(isinstance(e.get("en"), str) and "<" in e["en"] for e in entries)
        entries[n]["en"] = text
        path.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return [f"glossary.yml: line {_yaml_line(path, n)} ([{n}].en)"]
    # The per-language words live in languages.yml (a contributor edits them there); mkdocs.<lang>.yml and the
    # switcher in mkdocs.yml are generated from it but committed, so a payload may arrive in either.
    if place == "strings":
        _set_yaml_text(repo / "languages.yml", "colab: Open in Colab", f"colab: {_yaml_quoted(text)}")
        _set_yaml_text(repo / "mkdocs.en.yml", 'colab: "Open in Colab"', f"colab: {_yaml_quoted(text)}")
        return ["languages.yml: line", "mkdocs.en.yml: line"]
    if place == "site-name":
        _set_yaml_text(repo / "languages.yml", "site_name: PyTorch 文档笔记", f"site_name: {_yaml_quoted(text)}")
        _set_yaml_text(repo / "mkdocs.zh.yml", 'site_name: "PyTorch 文档笔记"', f"site_name: {_yaml_quoted(text)}")
        return ["languages.yml: line", "mkdocs.zh.yml: line"]
    if place == "switcher":
        _set_yaml_text(repo / "languages.yml", "name: 中文 ", f"name: {_yaml_quoted(text)} ")
        _set_yaml_text(repo / "mkdocs.yml", "- name: 中文", f"- name: {_yaml_quoted(text)}")
        return ["languages.yml: line", "mkdocs.yml: line"]
    if place == "page":
        for lang in LANGS:
            with (repo / f"docs/{lang}/index.md").open("a", encoding="utf-8") as f:
                f.write(f"\n\n{text}\n")
        return ["docs/en/index.md (line", "docs/zh/index.md (line"]
    if place == "nb-metadata":
        _edit_nb(repo / "notebooks/zh/init.ipynb", lambda nb: nb.metadata.update(json.loads(text)))
        return ["notebooks/zh/init.ipynb:"]
    raise AssertionError(f"{p['id']}: no planting for place {place!r}")


def plant_name(repo: Path, p: dict) -> list[str]:
    if p["place"] == "topic-name":
        nbformat.write(new_notebook(metadata=KERNEL), repo / "notebooks/zh" / p["payload"])
        return [f"notebooks/zh/{p['payload']}"]
    if p["place"] == "asset":
        n = len(list((repo / "docs/assets").glob("hostile-*.svg"))) + 1
        (repo / f"docs/assets/hostile-{n}.svg").write_text(p["payload"], encoding="utf-8")
        return [f"docs/assets/hostile-{n}.svg"]
    if p["place"] == "asset-name":
        (repo / "docs/assets" / p["payload"]).write_text("alert(1)", encoding="utf-8")
        return [f"docs/assets/{p['payload']}"]
    (repo / p["payload"]).symlink_to("/etc/passwd")
    return [p["payload"]]


def _hostile_topic(repo: Path, cells: list) -> None:
    """A topic of its own in zh and en, with identical code (so it passes the parity check)."""
    for lang in LANGS:
        nbformat.write(new_notebook(metadata=KERNEL, cells=[new_markdown_cell(f"# hostile ({lang})"), *cells]),
                       repo / "notebooks" / lang / "hostile.ipynb")


def _lines_naming(out: str, places: list[str], refused: str) -> list[str]:
    """Which places have no line in `out` that both names the place and says what was refused."""
    lines = out.splitlines()
    return [place for place in places if not any(place in line and refused in line for line in lines)]


# --- groups: one command each ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def source_group(tmp_path_factory):
    from conftest import copy_repo

    repo = copy_repo(tmp_path_factory.mktemp("hostile-source"))
    expected = {p["id"]: plant_source(repo, p) for p in SOURCE}
    return run_tools(repo, "check", check=False), expected


@pytest.fixture(scope="module")
def name_group(tmp_path_factory):
    from conftest import copy_repo

    repo = copy_repo(tmp_path_factory.mktemp("hostile-names"))
    expected = {p["id"]: plant_name(repo, p) for p in NAMES}
    return run_tools(repo, "check", check=False), expected


@pytest.fixture(scope="module")
def output_group(tmp_path_factory, built_site):
    from conftest import copy_repo, seed_caches

    repo = seed_caches(copy_repo(tmp_path_factory.mktemp("hostile-outputs")))
    _hostile_topic(repo, [new_code_cell(p["payload"]) for p in OUTPUTS])
    expected = {p["id"]: [f"notebooks/zh/hostile.ipynb: cell {i}"] for i, p in enumerate(OUTPUTS, start=2)}
    return run_tools(repo, "build", check=False), expected


def _assert_refused(group, payload: dict) -> None:
    proc, expected = group
    assert proc.returncode != 0, "the hostile input was accepted"
    missing = _lines_naming(proc.stderr, expected[payload["id"]], payload["refused"])
    assert not missing, f"no error naming {missing} with {payload['refused']!r}:\n{proc.stderr[-3000:]}"


@pytest.mark.parametrize("payload", SOURCE, ids=lambda p: p["id"])
def test_source_payload_is_refused(source_group, payload):
    _assert_refused(source_group, payload)


@pytest.mark.parametrize("payload", NAMES, ids=lambda p: p["id"])
def test_name_payload_is_refused(name_group, payload):
    _assert_refused(name_group, payload)


@pytest.mark.parametrize("payload", OUTPUTS, ids=lambda p: p["id"])
def test_output_payload_is_refused(output_group, payload):
    _assert_refused(output_group, payload)


# --- inert payloads: the build passes and the page shows them as text -------------------------------------

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.fixture(scope="module")
def inert_site(tmp_path_factory, built_site):
    from conftest import copy_repo, seed_caches

    repo = seed_caches(copy_repo(tmp_path_factory.mktemp("hostile-inert")))
    cells = []
    for p in INERT:
        if p["place"] == "markdown":
            cells.append(new_markdown_cell(p["payload"]))
        elif p["place"] == "output":
            cells.append(new_code_cell(p["payload"]))
        elif p["place"] == "alt":
            code = f"from IPython.display import Image, display\nimport base64\ndisplay(Image(base64.b64decode('{PNG}')))"
            cells.append(new_code_cell(code, metadata={"alt": p["payload"]}))
    _hostile_topic(repo, cells)
    proc = run_tools(repo, "build", check=False)
    assert proc.returncode == 0, f"the build refused inert content:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return repo / "site"


def _live_uses(page: LexborHTMLParser, marker: str) -> list[str]:
    """Where `marker` would act rather than be read: a script's text, an on… attribute, a URL."""
    found = [f"<script> {s.text()[:60]!r}" for s in page.css("script") if marker in (s.text() or "")]
    for el in page.css("*"):
        for name, value in el.attributes.items():
            if value and marker in value and (name.startswith("on") or name in ("href", "src", "action", "style")):
                found.append(f"<{el.tag} {name}={value[:60]!r}>")
    return found


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("payload", INERT, ids=lambda p: p["id"])
def test_inert_payload_is_text(inert_site, payload, lang):
    page = LexborHTMLParser((inert_site / lang / "topics/hostile/index.html").read_text(encoding="utf-8"))
    marker = payload["inert"]
    assert not _live_uses(page, marker), _live_uses(page, marker)
    article = page.css_first("article")
    shown = article.text() + " ".join(img.attributes.get("alt") or "" for img in article.css("img"))
    assert marker in shown, f"{marker!r} is not on the page as text"


def test_the_inert_check_sees_live_markup():
    """The check above can fail: a marker in a script, a handler or a URL counts as live, in text it does not."""
    live = LexborHTMLParser('<script>alert("m1")</script><img src=x onerror="m2()"><a href="javascript:m3">x</a>'
                            '<p>m4 &lt;script&gt;</p>')
    assert [bool(_live_uses(live, m)) for m in ("m1", "m2", "m3", "m4")] == [True, True, True, False]
