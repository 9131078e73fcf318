"""The built site in a real browser: Debian's chromium, driven by playwright (no browser download).

One browser for the whole suite and one visit per page: every page of every language (from each language's
sitemap.xml) is loaded once and checked for console errors, failed requests and requests to any host but
the local server; no raw TeX left (math is MathML); figures that load, with alt text in the page's language; the Colab and
Download links of notebook pages; a screenshot of each topic page (build/screenshots/<lang>-<topic>.png).
Then the language switcher, search in each language, the light/dark toggle and the root redirect.

The site is served as `python -m tools serve` serves it, at the origin it was built for (mkdocs.yml's
site_url, http://127.0.0.1:8000/ unless SITE_URL was set): the language switcher finds the same page in
the other language only when the page's origin is that one. When that port is taken (`make serve` running),
the server takes a free port and the browser's requests for the site's origin are routed to it, so the
pages still load from the origin they were built for.
"""
from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from browser_support import Site, _new_page
from conftest import ROOT

from tools.notebooks import languages, topics

pytestmark = pytest.mark.browser

SCREENSHOTS = ROOT / "build" / "screenshots"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
SEARCHES = {"zh": ("张量", "topics/parameter/"), "en": ("kaiming", "topics/init/")}

# Text left as raw TeX: $…$, $$…$$, \( \), \[ \] outside code, outputs and rendered math (MathML).
RAW_MATH_JS = r"""(root) => {
  const skip = "pre, code, script, style, math, .jp-OutputArea, .highlight-ipynb, .md-search";
  const found = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest(skip) || !n.parentElement.checkVisibility()) continue;
    const m = n.textContent.match(/\$\$?[^$\s][^$]*\$|\\\(|\\\[/);
    if (m) found.push(m[0].slice(0, 60));
  }
  return found;
}"""

# Every figure of the article, loaded now (they are lazy), with its size and alt text.
FIGURES_JS = """async () => {
  const out = [];
  for (const img of document.querySelectorAll("article img")) {
    img.loading = "eager";
    try { await img.decode(); } catch (e) {}
    out.push({src: img.getAttribute("src"), width: img.naturalWidth, alt: img.getAttribute("alt") || ""});
  }
  return out;
}"""


@pytest.fixture(scope="session")
def visits(browser, site):
    """Every page of every language, visited once, with what each visit found wrong: {path: [problem]}."""
    page, watch = _new_page(browser, site, viewport={"width": 1280, "height": 900})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found = {}
    for lang, paths in site.pages.items():
        for path in paths:
            watch.clear()
            page.goto(site.url(path), wait_until="load")
            problems = _check_page(page, site, lang, path)
            # Start Material's script (it waits for the first interaction) and let it mount everything:
            # what it does must also keep to the page's Content-Security-Policy.
            page.mouse.move(5, 5)
            page.mouse.move(40, 40)
            page.wait_for_selector("html[data-theme-script=ready]")
            page.wait_for_load_state("networkidle")  # nothing still in flight is cut off by the next visit
            problems += [f"CSP violation: {v}" for v in watch.violations]
            problems += ["no Content-Security-Policy meta tag"] * (page.locator('meta[http-equiv="Content-Security-Policy"]').count() != 1)
            # (A request cut off by leaving the page, net::ERR_ABORTED -- Material's search worker, started
            # just above -- is not a failure; a missing file answers 404 and is.)
            problems += watch.errors + [f"failed request: {f}" for f in watch.failed if "ERR_ABORTED" not in f]
            problems += [f"request to another host: {u}" for u in watch.requests
                         if urlsplit(u).scheme in ("http", "https", "ws", "wss") and not u.startswith(site.origin + "/")]
            found[path] = problems
    page.context.close()
    return found


def _check_page(page, site: Site, lang: str, path: str) -> list[str]:
    problems = []
    article = page.locator("article").first
    raw = article.evaluate(RAW_MATH_JS)
    raw += page.locator(".md-sidebar--secondary").first.evaluate(RAW_MATH_JS) if page.locator(".md-sidebar--secondary").count() else []
    problems += [f"raw math left: {r!r}" for r in raw]
    html_lang = page.locator("html").get_attribute("lang") or ""
    if not html_lang.startswith(lang):
        problems.append(f"<html lang={html_lang!r}>")

    for fig in page.evaluate(FIGURES_JS):
        name = fig["src"][:60]
        if fig["width"] == 0:
            problems.append(f"figure does not load: {name}")
        if not fig["alt"].strip():
            problems.append(f"figure without alt text: {name}")
        elif (lang == "zh") != bool(CJK.search(fig["alt"])):
            problems.append(f"figure alt text not in {lang}: {fig['alt'][:60]!r}")

    topic = re.fullmatch(rf"{lang}/topics/([^/]+)/", path)
    if topic:
        topic = topic.group(1)
        problems += _check_notebook_links(page, lang, topic)
        # Cells away from the viewport are skipped (site.css: content-visibility); lay them all out for the
        # full-page picture, else they come out blank.
        # (Through the CSSOM: an added <style> element is, rightly, refused by the page's CSP.)
        page.evaluate("""document.querySelectorAll(".jp-Notebook > .jp-Cell")
                         .forEach(c => c.style.setProperty("content-visibility", "visible", "important"))""")
        page.screenshot(path=str(SCREENSHOTS / f"{lang}-{topic}.png"), full_page=True)
    return problems


def _check_notebook_links(page, lang: str, topic: str) -> list[str]:
    """Colab opens this page's notebook in this language; Download gets it (200, the same cells)."""
    problems = []
    colab = page.locator("a.nb-colab").get_attribute("href") or ""
    if not (colab.startswith("https://colab.research.google.com/github/") and colab.endswith(f"/notebooks/{lang}/{topic}.ipynb")):
        problems.append(f"Colab link is {colab!r}")
    link = page.locator("a.nb-download")
    href = link.evaluate("a => a.href")
    status, text = page.evaluate("async u => { const r = await fetch(u); return [r.status, await r.text()]; }", href)
    if status != 200 or not href.endswith(".ipynb"):
        return [*problems, f"Download link {href} answers {status}"]
    got = json.loads(text)
    source = json.loads((ROOT / "notebooks" / lang / f"{topic}.ipynb").read_text(encoding="utf-8"))
    prose = lambda nb: ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]  # noqa: E731
    if prose(got) != prose(source):
        problems.append(f"Download gets a notebook whose prose is not notebooks/{lang}/{topic}.ipynb's")
    cjk = sum(len(CJK.findall(p)) for p in prose(got))
    if (lang == "zh") != (cjk > 50):
        problems.append(f"downloaded notebook has {cjk} CJK characters for language {lang}")
    if not any(o for c in got["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])):
        problems.append("downloaded notebook has no outputs (not the executed copy)")
    if link.get_attribute("download") != f"{topic}.{lang}.ipynb":
        problems.append(f"download name is {link.get_attribute('download')!r}")
    return problems


# ------------------------------------------------------------------------------------------------ tests

@pytest.mark.parametrize("lang", languages())
def test_every_page_loads_clean(site, visits, lang):
    """No console error, no failed request, nothing from another host; math rendered; figures load with alt
    text in the page's language; Colab and Download links right; every topic visited and screenshotted."""
    paths = site.pages[lang]
    missing = [t for t in topics() if f"{lang}/topics/{t}/" not in paths]
    assert not missing, f"{lang}: topics missing from the sitemap: {missing}"
    bad = {p: visits[p] for p in paths if visits[p]}
    assert not bad, "\n".join(f"{p}:\n  " + "\n  ".join(v) for p, v in bad.items())
    for t in topics():
        assert (SCREENSHOTS / f"{lang}-{t}.png").stat().st_size > 10_000


def test_math_is_rendered_on_the_init_page(browser, site):
    """The init page's formulas are MathML (made at build time), inline and display, laid out by the browser."""
    page, watch = _new_page(browser, site)
    for lang in languages():
        page.goto(site.url(f"{lang}/topics/init/"), wait_until="load")
        formulas = page.locator("article math")
        assert formulas.count() >= 5, f"{lang}: the init page has {formulas.count()} formulas"
        assert page.locator('article math[display="block"]').count() >= 1, f"{lang}: no display math on the init page"
        box = formulas.first.bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0, f"{lang}: the first formula is not laid out"
    assert not watch.errors and not watch.failed and not watch.violations, watch.errors + watch.failed + watch.violations
    page.context.close()


@pytest.mark.parametrize("lang", languages())
def test_language_switcher_keeps_the_page(browser, site, lang):
    """From each topic page (and the home page), the switcher lands on the same page in the other language."""
    page, watch = _new_page(browser, site)
    other = next(x for x in languages() if x != lang)
    wrong = []
    for i, path in enumerate([f"{lang}/"] + [f"{lang}/topics/{t}/" for t in topics()]):
        page.goto(site.url(path), wait_until="load")
        # The switcher's links lead to this page in the other language by themselves (no script needed:
        # partials/alternate.html) …
        href = page.locator(f'.md-select__link[hreflang="{other}"]').evaluate("a => a.href")
        if href != site.url(other + path[len(lang):]):
            wrong.append(f"{path}: the switcher links to {href}")
        # … and still do once Material's script runs: hovering is the reader's first interaction.
        page.locator(".md-header__option .md-select").hover()
        if i > 0:  # (the first page clicks at once: a click before the script is ready is replayed)
            page.wait_for_selector("html[data-theme-script=ready]")
        with page.expect_navigation():
            page.locator(f'.md-select__link[hreflang="{other}"]').click()
        want = site.url(other + path[len(lang):])
        if page.url != want:
            wrong.append(f"{path} -> {page.url} (want {want})")
    assert not wrong, "\n".join(wrong)
    # Leaving a page at once cuts its late requests (net::ERR_ABORTED); the visits above check the rest.
    failed = [f for f in watch.failed if "ERR_ABORTED" not in f]
    assert not watch.errors and not failed and not watch.violations, watch.errors + failed + watch.violations
    page.context.close()


@pytest.mark.parametrize("lang", sorted(SEARCHES))
def test_search_finds_the_topic(browser, site, lang):
    """Search in the page's language: 张量 finds the Parameter topic on zh, kaiming the init topic on en."""
    if lang not in languages():
        pytest.skip(f"no {lang} site")
    query, target = SEARCHES[lang]
    page, watch = _new_page(browser, site)
    page.goto(site.url(f"{lang}/"), wait_until="load")
    box = page.locator("input.md-search__input")
    box.click()
    box.fill(query)
    box.press("End")  # Material reads the query on keyup
    hit = page.locator(f'.md-search-result__item a[href*="{target}"]').first
    hit.wait_for(state="attached", timeout=30_000)
    assert target in hit.get_attribute("href")
    assert not watch.errors and not watch.failed and not watch.violations, watch.errors + watch.failed + watch.violations
    page.context.close()


def test_material_script_starts_on_first_interaction(browser, site):
    """Material's script is not loaded until the reader interacts (overrides/main.html); then it runs in
    full: a hotkey pressed as the first interaction is replayed (/ opens the search), and scrolling marks
    the current section in the table of contents."""
    page, watch = _new_page(browser, site, viewport={"width": 1280, "height": 900})
    lang = languages()[0]
    page.goto(site.url(f"{lang}/topics/autograd/"), wait_until="load")
    page.wait_for_load_state("networkidle")
    bundle = lambda: [u for u in watch.requests if "/assets/javascripts/bundle." in u]  # noqa: E731
    assert not bundle(), "Material's script loaded before any interaction"
    assert page.locator("input.md-search__input").is_visible(), "the search box is hidden before the script"
    assert not page.locator("label.md-header__button[for=__search]").is_visible(), "a second search button on desktop"
    page.keyboard.press("/")
    page.wait_for_selector("html[data-theme-script=ready].js")
    assert len(bundle()) == 1
    page.wait_for_function("document.activeElement && document.activeElement.matches('input.md-search__input')")
    page.keyboard.press("Escape")
    page.mouse.wheel(0, 3000)
    page.wait_for_selector(".md-sidebar--secondary .md-nav__link--active", state="attached")
    assert not watch.errors and not watch.failed and not watch.violations, watch.errors + watch.failed + watch.violations
    page.context.close()


def _contrast_js():
    return """el => {
      const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
      const lum = ([r, g, b]) => { const f = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
                                   return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
      let bg = el, c;
      while (bg && ((c = rgb(getComputedStyle(bg).backgroundColor)).length === 4 && c[3] === 0 || !c.length)) bg = bg.parentElement;
      const back = bg ? rgb(getComputedStyle(bg).backgroundColor) : [255, 255, 255];
      const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(back)];
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }"""


def test_light_dark_toggle(browser, site):
    """The palette toggle switches Material's scheme, notebook outputs stay readable in both, and the choice
    holds on the next page (overrides/partials/palette.html runs the toggle, not Material's component)."""
    page, watch = _new_page(browser, site, color_scheme="light")
    lang = languages()[0]
    page.goto(site.url(f"{lang}/topics/init/"), wait_until="load")
    scheme = lambda: page.locator("body").get_attribute("data-md-color-scheme")  # noqa: E731
    toggle = page.locator("form[data-nb-palette] label:not([hidden])")
    output = page.locator(".jp-RenderedText pre").first
    assert scheme() == "default"
    assert toggle.count() == 1, "exactly one toggle button shows"
    light = output.evaluate(_contrast_js())
    toggle.click()
    page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'slate'")
    dark = output.evaluate(_contrast_js())
    page.wait_for_load_state("networkidle")  # the click started Material's script: let it settle first
    page.goto(site.url(f"{lang}/topics/autograd/"), wait_until="load")
    assert scheme() == "slate", "the reader's choice does not hold on the next page"
    page.locator("form[data-nb-palette] label:not([hidden])").click()
    page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'default'")
    page.wait_for_function("!document.body.hasAttribute('data-md-color-switching')")  # transitions back on
    assert light >= 4.5 and dark >= 4.5, f"output text contrast: light {light:.1f}, dark {dark:.1f}"
    assert not watch.errors and not watch.failed and not watch.violations, watch.errors + watch.failed + watch.violations
    page.context.close()


def test_dark_system_preference(browser, site):
    """With no choice stored, a reader whose system is dark gets the dark scheme on the first paint."""
    page, watch = _new_page(browser, site, color_scheme="dark")
    page.goto(site.url(f"{languages()[0]}/"), wait_until="domcontentloaded")
    assert page.locator("body").get_attribute("data-md-color-scheme") == "slate"
    assert page.locator("form[data-nb-palette] label:not([hidden])").get_attribute("for") == "__palette_0"
    assert not watch.errors, watch.errors
    page.context.close()


def test_code_copy_button(browser, site):
    """A code cell's copy button puts exactly that cell's source on the clipboard."""
    page, watch = _new_page(browser, site, permissions=["clipboard-read", "clipboard-write"])
    # A cell with `$` in a string: the build's TeX-to-MathML step must leave code alone.
    lang, topic = languages()[0], "init"
    page.goto(site.url(f"{lang}/topics/{topic}/"), wait_until="load")
    nb = json.loads((ROOT / "notebooks" / lang / f"{topic}.ipynb").read_text(encoding="utf-8"))
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    n = next(i for i, source in enumerate(code) if "$" in source)
    button = page.locator("clipboard-copy").nth(n)
    button.scroll_into_view_if_needed()
    button.click()
    page.wait_for_function("document.querySelectorAll('clipboard-copy .notice:not([hidden])').length > 0")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.rstrip("\n") == code[n].rstrip("\n")
    assert not watch.errors, watch.errors
    page.context.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en-US", "fr-FR"])
def test_root_redirects_to_a_language(browser, site, locale):
    """site/index.html sends the reader to their language's home, else to the source language."""
    page, watch = _new_page(browser, site, locale=locale)
    want = locale[:2] if locale[:2] in languages() else languages()[0]
    page.goto(site.url(""), wait_until="commit")
    page.wait_for_url(site.url(f"{want}/"))
    page.wait_for_load_state("load")
    # The root page replaces itself while it loads, which may report its own request as aborted.
    failed = [f for f in watch.failed if f != f"{site.url('')} (net::ERR_ABORTED)"]
    assert not watch.errors and not failed and not watch.violations, watch.errors + failed + watch.violations
    page.context.close()


def test_search_index_waits_for_an_intent_to_search(browser, site):
    """overrides/main.html holds Material's search-index request (70–85 KiB gzip) until the reader reaches for
    the search box; Material's script itself may already be running."""
    page, watch = _new_page(browser, site, viewport={"width": 1280, "height": 900})
    page.goto(site.url("en/topics/functional/"), wait_until="load")
    page.mouse.move(600, 500)  # an interaction away from the search box starts Material's script …
    page.wait_for_selector("html[data-theme-script=ready]")
    page.wait_for_load_state("networkidle")
    assert not [u for u in watch.requests if u.endswith("/search/search_index.json")], "index fetched without intent"
    with page.expect_request(lambda r: r.url.endswith("/search/search_index.json"), timeout=30_000):
        page.locator("label.md-search__icon, .md-search__input").first.hover()  # … reaching for search fetches it
    assert not watch.errors and not watch.violations, watch.errors + watch.violations
    page.context.close()


def test_notebook_styling_is_applied(browser, site):
    """The notebook stylesheet (tools/notebook_css.py → assets/notebook.css) really styles the page: a code
    cell has its box, a keyword its colour, an output its monospace text. An empty or unlinked stylesheet
    leaves the browser defaults, which this compares against."""
    page, watch = _new_page(browser, site, viewport={"width": 1280, "height": 900})
    page.goto(site.url("en/topics/functional/"), wait_until="load")
    styles = page.evaluate("""() => {
      const pick = (sel, props) => { const el = document.querySelector(sel); if (!el) return null;
        const cs = getComputedStyle(el); return Object.fromEntries(props.map(p => [p, cs.getPropertyValue(p)])); };
      const plain = document.createElement("span"); document.querySelector("article").appendChild(plain);
      const base = getComputedStyle(plain).color;
      return {
        input: pick(".jp-CodeCell .jp-InputArea-editor", ["background-color", "border-top-width", "border-top-style"]),
        keyword: pick(".highlight-ipynb .k", ["color", "font-weight"]),
        code: pick(".highlight-ipynb pre", ["font-family"]),
        output: pick(".jp-RenderedText pre", ["font-family"]),
        text: base,
      };
    }""")
    assert all(styles[k] for k in ("input", "keyword", "code", "output")), styles
    assert styles["input"]["background-color"] not in ("rgba(0, 0, 0, 0)", "transparent"), styles["input"]
    assert styles["input"]["border-top-style"] != "none" and styles["input"]["border-top-width"] != "0px", styles["input"]
    assert styles["keyword"]["color"] != styles["text"], f"keywords are not coloured: {styles['keyword']}"
    for part in ("code", "output"):
        assert "mono" in styles[part]["font-family"].lower(), f"{part} is not monospace: {styles[part]}"
    assert not watch.errors and not watch.violations, watch.errors + watch.violations
    page.context.close()
