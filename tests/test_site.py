"""The built site, read as files: every notebook rendered, nothing from outside, links resolve."""
from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
from bs4 import BeautifulSoup

from tools.notebooks import languages, topics

CJK = re.compile(r"[\u4e00-\u9fff]")
LOCAL = "http://127.0.0.1:8000/"


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.mark.parametrize("lang", languages())
def test_every_notebook_page_is_rendered(built_site, lang):
    """mkdocs-static-i18n's failure mode (upstream #198) is a raw .ipynb copied as index.html: guard it."""
    for topic in topics():
        page = built_site / lang / "topics" / topic / "index.html"
        assert page.exists(), f"{lang}/{topic}: no page"
        text = page.read_text(encoding="utf-8")
        assert not text.lstrip().startswith("{"), f"{page}: raw notebook JSON"
        soup = BeautifulSoup(text, "html.parser")
        assert soup.select("div.jp-Notebook div.jp-CodeCell"), f"{page}: no rendered code cells"
        assert soup.select(".jp-OutputArea-output"), f"{page}: no outputs"
        assert soup.find("h1"), f"{page}: no title"
        assert soup.html.get("lang", "").startswith(lang), f"{page}: <html lang> is {soup.html.get('lang')}"


@pytest.mark.parametrize("lang", languages())
def test_search_index_holds_every_topic_without_outputs(built_site, lang):
    index = json.loads((built_site / lang / "search" / "search_index.json").read_text(encoding="utf-8"))
    locations = {d["location"].split("#")[0] for d in index["docs"]}
    for topic in topics():
        assert f"topics/{topic}/" in locations, f"{lang}: topic {topic} not in the search index"
    text = " ".join(d["text"] for d in index["docs"])
    assert "Copied!" not in text and "Traceback" not in text and "In [" not in text
    assert not re.search(r"(?<!torch\.)tensor\(\[\[", text), "printed tensors (outputs) in the index"


def test_chinese_search_is_segmented(built_site):
    """With jieba, the index holds zero-width-space separated words, so 张量 is findable as a word."""
    index = json.loads((built_site / "zh" / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert "zh" in index["config"]["lang"]
    text = " ".join(d["text"] for d in index["docs"])
    assert re.search("(^|[\u200b\\s])张量([\u200b\\s]|$)", text), "张量 is not a separate word in the zh index"


def _resource_urls(soup: BeautifulSoup) -> list[str]:
    urls = []
    for tag, attr in (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"), ("source", "src"),
                      ("video", "src"), ("audio", "src"), ("embed", "src"), ("object", "data")):
        for el in soup.find_all(tag):
            if el.get(attr) and not (tag == "link" and set(el.get("rel", [])) & {"alternate", "canonical"}):
                urls.append(el[attr])
    for el in soup.find_all(style=True):
        urls += re.findall(r"url\(['\"]?([^'\")]+)", el["style"])
    for style in soup.find_all("style"):
        urls += re.findall(r"url\(['\"]?([^'\")]+)", style.get_text())
        urls += re.findall(r"@import\s+['\"]([^'\"]+)", style.get_text())
    for script in soup.find_all("script"):
        urls += re.findall(r"(?:import\(|fetch\()\s*['\"](https?://[^'\"]+)", script.get_text())
    return urls


def test_no_resource_from_outside_the_site(built_site):
    """Scripts, styles, images, fonts: all self-hosted. Links (<a>) may point out; loads may not."""
    offenders = []
    for page in _pages(built_site):
        for url in _resource_urls(_soup(page)):
            host = urlparse(url).netloc
            if host and not url.startswith(LOCAL):
                offenders.append(f"{page.relative_to(built_site)}: {url[:100]}")
    for css in built_site.rglob("*.css"):
        for url in re.findall(r"url\(['\"]?(https?://[^'\")]+)", css.read_text(encoding="utf-8", errors="replace")):
            offenders.append(f"{css.relative_to(built_site)}: {url}")
    assert offenders == []


def test_no_empty_or_mathjax_scripts(built_site):
    for page in _pages(built_site):
        for s in _soup(page).find_all("script"):
            assert s.get("src", "x").strip(), f"{page}: empty <script src>"
            assert "mathjax" not in (s.get("type", "") + s.get("src", "")).lower(), f"{page}: MathJax left in"


def test_internal_links_and_anchors_resolve(built_site):
    ids: dict[Path, set[str]] = {}

    def anchors(path: Path) -> set[str]:
        if path not in ids:
            soup = _soup(path)
            ids[path] = {el["id"] for el in soup.find_all(id=True)} | {el["name"] for el in soup.find_all("a", attrs={"name": True})}
        return ids[path]

    broken = []
    for page in _pages(built_site):
        for a in _soup(page).find_all("a", href=True):
            href = a["href"]
            if href.startswith(("mailto:", "javascript:")) or (urlparse(href).netloc and not href.startswith(LOCAL)):
                continue
            url = urljoin(page.relative_to(built_site).as_posix(), href.removeprefix(LOCAL[:-1]))
            path_part, _, frag = url.partition("#")
            target = built_site / posixpath.normpath(unquote(path_part)).lstrip("/") if path_part else page
            if target.is_dir() or path_part.endswith("/"):
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(built_site)} → {href}")
            elif frag and target.suffix == ".html" and unquote(frag) not in anchors(target):
                broken.append(f"{page.relative_to(built_site)} → {href} (no anchor)")
    assert broken == []


@pytest.mark.parametrize("lang", languages())
def test_notebook_pages_have_colab_download_edit_and_stamp(built_site, lang):
    for topic in topics():
        page = built_site / lang / "topics" / topic / "index.html"
        soup = _soup(page)
        colab = soup.select_one("a.nb-colab")["href"]
        assert re.fullmatch(rf"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w.-]+/notebooks/{lang}/{topic}\.ipynb", colab), colab
        download = soup.select_one("a.nb-download")["href"]
        nb = json.loads((page.parent / download).read_text(encoding="utf-8"))
        assert nb["cells"][0]["source"], "downloaded notebook is empty"
        edit = soup.select_one("a.nb-edit")["href"]
        assert edit.endswith(f"/notebooks/{lang}/{topic}.ipynb")
        stamp = soup.select_one(".nb-stamp").get_text()
        assert re.search(r"torch \d+\.\d+", stamp) and re.search(r"\d{4}-\d\d-\d\d", stamp), stamp


@pytest.mark.parametrize("lang", languages())
def test_figures_have_alt_text_in_the_page_language(built_site, lang):
    seen = 0
    for topic in topics():
        for img in _soup(built_site / lang / "topics" / topic / "index.html").select(".jp-OutputArea img"):
            alt = img.get("alt", "").strip()
            assert alt, f"{lang}/{topic}: figure without alt text"
            if lang in ("zh", "en"):  # a scaffolded language shows the source's alt text until translated
                assert bool(CJK.search(alt)) == (lang == "zh"), f"{lang}/{topic}: alt text in the wrong language: {alt!r}"
            seen += 1
    assert seen >= 3, "expected the kaiming, activation and graph figures at least"


def test_root_redirects_to_a_language(built_site):
    text = (built_site / "index.html").read_text(encoding="utf-8")
    for lang in languages():
        assert f'href="{lang}/"' in text


@pytest.mark.parametrize("lang", languages())
def test_math_is_mathml_and_no_raw_dollars_remain(built_site, lang):
    """Formulas are MathML (no script, no font to load); no `$…$` is left in prose, headings or the TOC."""
    init = _soup(built_site / lang / "topics" / "init" / "index.html")
    formulas = init.find_all("math")
    assert any("fan_mode" in (m.get("alttext") or "") for m in formulas), "the kaiming formula is missing"
    for topic in topics():
        soup = _soup(built_site / lang / "topics" / topic / "index.html")
        for el in soup.select("pre, code, script, style, .jp-OutputArea"):
            el.decompose()
        raw = re.findall(r"(?<![\w$])\$[^$\s][^$]{0,80}?\$(?![\w$])", soup.get_text())
        assert raw == [], f"{lang}/{topic}: raw math left: {raw[:3]}"


@pytest.mark.parametrize("lang", languages())
def test_every_heading_has_an_id_and_a_toc_entry(built_site, lang):
    """Chinese headings get ids too (nbconvert's ASCII slugs leave them empty) and are listed in the TOC."""
    for topic in topics():
        soup = _soup(built_site / lang / "topics" / topic / "index.html")
        article = soup.select_one("article")
        ids = [h.get("id", "") for h in article.find_all(["h2", "h3"])]
        assert all(ids) and len(ids) == len(set(ids)), f"{lang}/{topic}: heading ids {ids}"
        toc = {a["href"].lstrip("#") for a in soup.select("nav.md-nav--secondary a.md-nav__link")}
        assert set(ids) <= {unquote(t) for t in toc}, f"{lang}/{topic}: not in the TOC: {set(ids) - toc}"


@pytest.mark.parametrize("lang", languages())
def test_code_cells_show_and_copy_their_exact_source(built_site, lang):
    """After tools/code_markup.py's slimming each code cell's <pre> still reads as its notebook source, its
    copy button points at that <pre>, no hidden source copy is left, and plain names carry no <span>."""
    for topic in topics():
        page = built_site / lang / "topics" / topic / "index.html"
        soup = _soup(page)
        nb = json.loads((built_site.parent / "notebooks" / lang / f"{topic}.ipynb").read_text(encoding="utf-8"))
        sources = ["".join(c["source"]).rstrip("\n") for c in nb["cells"] if c["cell_type"] == "code"]
        pres = soup.select(".jp-CodeCell .highlight-ipynb > pre")
        assert [p.get_text().rstrip("\n") for p in pres] == sources, f"{page}: code differs from the notebook's"
        for button in soup.select("clipboard-copy"):
            target = soup.find(id=button["for"])
            assert target is not None and target.name == "pre", f"{page}: copy button for #{button['for']}"
        assert not soup.select(".clipboard-copy-txt"), f"{page}: hidden source copies left"
        assert not soup.select(".highlight-ipynb span.n, .highlight-ipynb span.w"), f"{page}: plain tokens wrapped"
