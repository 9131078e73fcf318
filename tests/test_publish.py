"""Published and found (issue 17): search-engine metadata, per-deployment URLs, sharded execution.

- tools/seo.py's functions on their own (no build): hreflang sets, descriptions, sitemap index;
- a copy built as a deployment would build it (SITE_URL, REPO_URL and REPO_EDIT_URI of a fork): canonical
  URLs, hreflang, Open Graph, sitemaps, the root page, robots.txt, the 404 page and the Colab links all
  follow those variables, and the local default (127.0.0.1) appears nowhere;
- sharded execution (`python -m tools execute --shard K/N`, as the CI matrix runs it): the shares are
  disjoint and cover every distinct notebook, and N shards followed by a build execute each distinct code
  exactly once and give the same site as one unsharded build.
"""
from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import ROOT, copy_repo, make_mini_repo, run_tools, seed_caches
from selectolax.lexbor import LexborHTMLParser

from tools import seo

SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
CJK = re.compile(r"[\u4e00-\u9fff]")
SITE_URL = "https://example.org/pytorch-docs/"
FORK = "https://github.com/someone/pytorch-docs-fork"


# ------------------------------------------------------------------------------------------ tools/seo.py


def test_alternates_are_the_same_page_in_each_language_and_reciprocal():
    root = "https://x.org/d/"
    zh = seo.alternates(root, "topics/init/", ["zh", "en"], lambda lang: True, default_lang="zh")
    assert [(a.hreflang, a.href) for a in zh] == [
        ("zh-Hans", "https://x.org/d/zh/topics/init/"), ("en", "https://x.org/d/en/topics/init/"),
        ("x-default", "https://x.org/d/zh/topics/init/")]
    home = seo.alternates(root, "", ["zh", "en"], lambda lang: True, default_lang="zh")
    assert home[-1] == seo.Alternate("x-default", root)  # the home pages' x-default: the language chooser
    only_zh = seo.alternates(root, "topics/new/", ["zh", "en"], lambda lang: lang == "zh", default_lang="zh")
    assert [a.hreflang for a in only_zh] == ["zh-Hans", "x-default"]  # no link to a page that does not exist
    only_en = seo.alternates(root, "topics/new/", ["zh", "en"], lambda lang: lang == "en", default_lang="zh")
    assert only_en[-1].href == "https://x.org/d/en/topics/new/"


def test_site_root_from_a_language_site_url():
    assert seo.site_root("https://x.org/d/zh/", "zh") == "https://x.org/d/"
    assert seo.site_root("http://127.0.0.1:8000/en/", "en") == "http://127.0.0.1:8000/"
    assert seo.site_root("https://x.org/zhdocs/", "zh") == "https://x.org/zhdocs/"  # not a language folder


def test_first_paragraph_is_prose_not_notices_stamps_or_outputs():
    page = ('<h1 id="t">Title</h1><div data-search-exclude class="nb-stamp">executed on cpu</div>'
            '<div class="admonition warning"><p>This page has not been translated yet</p></div>'
            '<div class="jp-OutputArea"><p>an output paragraph</p></div>'
            '<p>The weight <math alttext="W x"><mi>W</mi><mi>x</mi></math> of <code>nn.Linear</code> &amp; '
            'its bias, which this page follows from creation to the first backward pass.</p><p>Next.</p>')
    assert seo.first_paragraph(page) == ("The weight W x of nn.Linear & its bias, which this page follows from "
                                         "creation to the first backward pass.")


def test_a_short_first_paragraph_is_continued():
    assert seo.first_paragraph("<p>Summary:</p><p>Two more lines of prose.</p>", min_width=20) == \
        "Summary: Two more lines of prose."


def test_line_breaks_inside_chinese_are_not_spaces():
    assert seo.first_paragraph("<p>代码在构建网站时真实运行，\n页面上的每一个输出 来自 torch 2.13。</p>") == \
        "代码在构建网站时真实运行，页面上的每一个输出来自 torch 2.13。"


@pytest.mark.parametrize("text", ["word " * 60, "中文字符" * 60, "x" * 400])
def test_description_fits_a_result_snippet(text):
    out = seo.description(f"<p>{text}</p>", fallback="unused")
    assert out.endswith("…")
    assert sum(2 if CJK.match(c) else 1 for c in out) <= seo.DESCRIPTION_WIDTH
    if text.startswith("word"):
        assert out.removesuffix("…").split(" ")[-1] == "word"  # cut between words, not inside one


def test_description_falls_back_to_the_site_description():
    assert seo.description("<h1>Only a title</h1>", fallback=" Site notes ") == "Site notes"


def test_sitemap_index_lists_each_language_sitemap():
    tree = ET.fromstring(seo.sitemap_index("https://x.org/d/", ["zh", "en"]))
    assert tree.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    assert [e.text for e in tree.findall("s:sitemap/s:loc", SITEMAP_NS)] == [
        "https://x.org/d/zh/sitemap.xml", "https://x.org/d/en/sitemap.xml"]


def test_which_languages_have_a_page(tmp_path):
    (tmp_path / "notebooks/zh").mkdir(parents=True)
    (tmp_path / "notebooks/zh/a.ipynb").write_text("{}")
    (tmp_path / "docs/zh").mkdir(parents=True)
    (tmp_path / "docs/zh/index.md").write_text("# x")
    has = lambda lang, src: seo.source_has_page(tmp_path, lang, src, "zh", seo.GENERATED)  # noqa: E731
    assert has("zh", "topics/a.ipynb") and not has("en", "topics/a.ipynb")
    assert has("en", "index.md")  # a language without docs/<lang>/ starts from the source's pages
    (tmp_path / "docs/en").mkdir()
    assert not has("en", "index.md") and has("en", "glossary.md")


# ----------------------------------------------------------------------------- a build for a deployment


def _env(repo: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTORCH_DOCS_ROOT": str(repo), "PYTHONPATH": str(repo), **extra}


@pytest.fixture(scope="module")
def deployed(built_site: Path, tmp_path_factory) -> Path:
    """A copy built as the deploy workflow builds a fork: its own SITE_URL, REPO_URL and branch."""
    repo = seed_caches(copy_repo(tmp_path_factory.mktemp("deploy")))
    env = _env(repo, SITE_URL=SITE_URL, REPO_URL=FORK, REPO_EDIT_URI="edit/trunk/")
    proc = subprocess.run([sys.executable, "-m", "tools", "build"], cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"build with SITE_URL failed:\n{proc.stdout}\n{proc.stderr}"
    return repo / "site"


def _head(page: Path) -> LexborHTMLParser:
    return LexborHTMLParser(page.read_text(encoding="utf-8"))


def _sitemap(site: Path, lang: str) -> list[str]:
    return [e.text.strip() for e in ET.parse(site / lang / "sitemap.xml").getroot().findall("s:url/s:loc", SITEMAP_NS)]


def _file_of(site: Path, url: str) -> Path:
    assert url.startswith(SITE_URL), url
    return site / url.removeprefix(SITE_URL) / "index.html"


def test_every_page_has_absolute_canonical_hreflang_and_open_graph(deployed):
    langs = ["zh", "en"]
    pages = {lang: _sitemap(deployed, lang) for lang in langs}
    for lang in langs:
        assert pages[lang], f"{lang}: empty sitemap"
        for url in pages[lang]:
            path = url.removeprefix(f"{SITE_URL}{lang}/")
            doc = _head(_file_of(deployed, url))
            where = f"{lang}/{path}"
            assert doc.css_first('link[rel="canonical"]').attributes["href"] == url, where
            assert doc.css_first('meta[property="og:url"]').attributes["content"] == url, where
            alts = {n.attributes["hreflang"]: n.attributes["href"] for n in doc.css('link[rel="alternate"][hreflang]')}
            assert alts == {"zh-Hans": f"{SITE_URL}zh/{path}", "en": f"{SITE_URL}en/{path}",
                            "x-default": SITE_URL if path == "" else f"{SITE_URL}zh/{path}"}, where
            for other, href in alts.items():  # reciprocal: each target is a published page of the set
                if other != "x-default":
                    assert href in pages["zh" if other == "zh-Hans" else "en"], f"{where}: {other} -> {href}"
            assert doc.css_first('meta[property="og:locale"]').attributes["content"] == seo.og_locale(lang)
            assert doc.css_first('meta[property="og:title"]').attributes["content"].strip(), where


def test_descriptions_are_per_page_from_the_first_paragraph_in_the_page_language(deployed):
    for lang in ("zh", "en"):
        seen: dict[str, str] = {}
        for url in _sitemap(deployed, lang):
            if "/topics/" not in url:
                continue
            doc = _head(_file_of(deployed, url))
            desc = doc.css_first('meta[name="description"]').attributes["content"]
            assert doc.css_first('meta[property="og:description"]').attributes["content"] == desc
            assert desc not in seen, f"{url} and {seen.get(desc)} share the description {desc!r}"
            seen[desc] = url
            assert bool(CJK.search(desc)) == (lang == "zh"), f"{url}: description not in {lang}: {desc!r}"
            article = re.sub(r"\s+", "", doc.css_first("article").text(deep=True))
            start = re.sub(r"\s+", "", desc)[:30]
            assert start in article, f"{url}: description {desc!r} is not the page's text"


def test_the_description_is_escaped_plain_text(deployed):
    raw = (deployed / "en/topics/init/index.html").read_text(encoding="utf-8")
    content = re.search(r'<meta name="description" content="([^"]*)">', raw)[1]
    assert "<" not in content and ">" not in content
    assert html.unescape(content) == _head(deployed / "en/topics/init/index.html").css_first(
        'meta[name="description"]').attributes["content"]


def test_root_page_sitemap_index_and_robots(deployed):
    root = _head(deployed / "index.html")
    assert root.css_first('link[rel="canonical"]').attributes["href"] == SITE_URL
    assert {n.attributes["hreflang"]: n.attributes["href"] for n in root.css('link[rel="alternate"]')} == {
        "zh-Hans": f"{SITE_URL}zh/", "en": f"{SITE_URL}en/", "x-default": SITE_URL}
    index = ET.parse(deployed / "sitemap.xml").getroot()
    locs = [e.text for e in index.findall("s:sitemap/s:loc", SITEMAP_NS)]
    assert locs == [f"{SITE_URL}zh/sitemap.xml", f"{SITE_URL}en/sitemap.xml"]
    for loc in locs:
        assert (deployed / loc.removeprefix(SITE_URL)).is_file(), loc
    assert f"Sitemap: {SITE_URL}sitemap.xml" in (deployed / "robots.txt").read_text(encoding="utf-8")


def test_bilingual_404_at_the_root_works_at_any_depth(deployed):
    page = deployed / "404.html"
    text = page.read_text(encoding="utf-8")
    assert "页面不存在" in text and "Page not found" in text
    doc = _head(page)
    assert doc.css_first('meta[name="robots"]').attributes["content"] == "noindex"
    hrefs = [a.attributes.get("href") or "" for a in doc.css("article a")]
    assert f"{SITE_URL}zh/" in hrefs and f"{SITE_URL}en/" in hrefs
    for node in doc.css("link[href], script[src]"):  # served for any missing URL: no relative asset path
        ref = node.attributes.get("href") or node.attributes.get("src")
        assert ref.startswith(("/pytorch-docs/", "https://")), f"404.html: relative reference {ref}"


def test_colab_and_download_links_follow_the_fork(deployed):
    for lang in ("zh", "en"):
        page = deployed / lang / "topics/init/index.html"
        doc = _head(page)
        colab = doc.css_first("a.nb-colab").attributes["href"]
        assert colab == f"https://colab.research.google.com/github/someone/pytorch-docs-fork/blob/trunk/notebooks/{lang}/init.ipynb"
        edit = doc.css_first("a.nb-edit").attributes["href"]
        assert edit == f"{FORK}/edit/trunk/notebooks/{lang}/init.ipynb"
        download = doc.css_first("a.nb-download").attributes["href"]
        assert (page.parent / download).is_file(), f"{lang}: download link {download} has no file"


def test_the_local_default_url_does_not_leak(deployed):
    leaks = [f.relative_to(deployed).as_posix() for f in sorted(deployed.rglob("*"))
             if f.suffix in (".html", ".xml", ".txt") and "127.0.0.1" in f.read_text(encoding="utf-8")]
    assert not leaks, f"pages that still name the local server: {leaks}"


# ------------------------------------------------------------------------------------------ sharding



def _counts(out: str) -> tuple[int, int]:
    m = re.search(r"(\d+) executed, (\d+) from the cache", out)
    assert m, out
    return int(m[1]), int(m[2])


def _executed_names(out: str) -> set[str]:
    return set(re.findall(r"\] (\S+\.ipynb) … executed in", out))


@pytest.fixture()
def mini_repo(tmp_path: Path) -> Path:
    """The real tools and five distinct codes: topics a–d in zh and en (the same code in both, as
    translations have), and topic d's en code differs from zh's (a translation being edited)."""
    return make_mini_repo(tmp_path, {t: {lang: f"print('{t}', 6 * 7)" + ("  # en" if (t, lang) == ("d", "en") else "")
                                         for lang in ("zh", "en")} for t in "abcd"})


def test_shares_partition_the_distinct_code(mini_repo):
    from tools.notebooks import all_notebooks, code_key
    from tools.shards import share

    nbs = all_notebooks(mini_repo / "notebooks")
    for n in (1, 2, 3, 5, 7):
        shares = [share(nbs, k, n) for k in range(1, n + 1)]
        assert sorted((s.lang, s.topic) for part in shares for s in part) == sorted((s.lang, s.topic) for s in nbs)
        keys = [{code_key(s.read()) for s in part} for part in shares]
        assert sum(map(len, keys)) == 5, f"N={n}: a code in two shares, or one missing: {keys}"
        assert max(map(len, keys)) - min(map(len, keys)) <= 1, f"N={n}: unbalanced shares {keys}"
    assert share(nbs, 1, 2) == share(list(nbs), 1, 2)  # a function of the code only


@pytest.mark.parametrize("bad", ["0/2", "3/2", "1/0", "2", "a/b", ""])
def test_a_bad_shard_is_refused(bad):
    from tools.notebooks import BuildError
    from tools.shards import parse_shard

    with pytest.raises(BuildError, match="expected K/N"):
        parse_shard(bad)


def test_shard_option_needs_its_value(mini_repo):
    proc = run_tools(mini_repo, "execute", "--shard", check=False)
    assert proc.returncode == 2 and "--shard takes one value" in proc.stderr, proc.stderr
    proc = run_tools(mini_repo, "execute", "--shard", "3/2", check=False)
    assert proc.returncode == 1 and "expected K/N" in proc.stderr, proc.stderr


def test_shards_then_merge_execute_each_distinct_code_once(mini_repo, tmp_path):
    """As the CI matrix runs it: each shard in its own checkout with its own cache, then one job merges the
    caches and executes nothing; what it publishes are the shards' executions."""
    n, executed, shard_nbs = 3, [], {}
    for k in range(1, n + 1):
        shard = tmp_path / f"shard{k}"
        shutil.copytree(mini_repo, shard)
        out = run_tools(shard, "execute", "--shard", f"{k}/{n}").stdout
        executed.append(_executed_names(out))
        assert _counts(out)[0] == len(executed[-1]), out
        for f in (shard / "build/executed").rglob("*.ipynb"):
            shard_nbs[f.relative_to(shard).as_posix()] = json_of(f)
    all_executed = [name for names in executed for name in names]
    assert len(all_executed) == 5, f"each of the 5 distinct codes executes once in all: {executed}"

    final = tmp_path / "final"
    shutil.copytree(mini_repo, final)
    out = run_tools(final, "merge-cache", *(str(tmp_path / f"shard{k}/build/jupyter-cache") for k in range(1, n + 1))).stdout
    assert "5 executions filed" in out, out
    assert _counts(run_tools(final, "execute").stdout) == (0, 8)
    for rel, shard_nb in shard_nbs.items():  # the published outputs and stamps are the shards' executions
        merged = json_of(final / rel)
        assert [c.get("outputs") for c in merged["cells"]] == [c.get("outputs") for c in shard_nb["cells"]], rel
        assert merged["metadata"]["pytorch_docs"]["execution"] == shard_nb["metadata"]["pytorch_docs"]["execution"], rel


def json_of(path: Path) -> dict:
    import json

    return json.loads(path.read_text(encoding="utf-8"))


def test_merge_refuses_a_folder_that_is_not_a_cache(mini_repo, tmp_path):
    proc = run_tools(mini_repo, "merge-cache", str(tmp_path), check=False)
    assert proc.returncode == 1 and "not an execution cache" in proc.stderr, proc.stderr


def _site_files(site: Path) -> dict[str, str]:
    """Every published file with a digest of its content (a .gz by its decompressed bytes: gzip stamps the
    time it was written)."""
    import gzip

    return {f.relative_to(site).as_posix(): hashlib.sha256(gzip.decompress(f.read_bytes()) if f.suffix == ".gz"
                                                           else f.read_bytes()).hexdigest()
            for f in sorted(site.rglob("*")) if f.is_file() and not f.name.startswith(".")}


def test_sharded_build_publishes_the_same_site_as_one_build(built_site, tmp_path):
    """The real notebooks through the CI pipeline: two shard checkouts, each with a cache that holds its
    share's executions only (as if it had started cold and executed them: the session build's entries,
    so nothing runs twice here), then a checkout with no execution cache merges theirs and builds. It
    executes nothing and publishes the same files as the session's one unsharded build."""
    from jupyter_cache import get_cache

    from tools.notebooks import all_notebooks, code_key
    from tools.shards import share

    n, caches = 2, []
    for k in range(1, n + 1):
        shard = seed_caches(copy_repo(tmp_path / f"shard{k}"))
        keep = {code_key(nbf.read()) for nbf in share(all_notebooks(shard / "notebooks"), k, n)}
        cache = get_cache(shard / "build/jupyter-cache")
        for record in cache.list_cache_records():
            if code_key(cache.get_cache_bundle(record.pk).nb) not in keep:
                cache.remove_cache(record.pk)
        assert len(cache.list_cache_records()) == len(keep), f"shard {k}: the session cache lacks some of {keep}"
        out = run_tools(shard, "execute", "--shard", f"{k}/{n}").stdout
        assert _counts(out)[0] == 0, out
        caches.append(str(shard / "build/jupyter-cache"))

    final = copy_repo(tmp_path / "final")
    shutil.copytree(ROOT / "build/render-cache", final / "build/render-cache")
    run_tools(final, "merge-cache", *caches)
    out = run_tools(final, "build").stdout
    assert _counts(out)[0] == 0, out
    ours, reference = _site_files(final / "site"), _site_files(built_site)
    assert sorted(ours) == sorted(reference)
    differ = [f for f in ours if ours[f] != reference[f]]
    assert not differ, f"the sharded build published other content in {differ}"
