"""Explorers in a real browser (Debian's chromium through playwright, as tests/test_browser.py drives it).

For every explorer (`explorers/*.py`) and every language: load its page, check that nothing of the explorer
was fetched yet, then change every control, once by mouse and once by keyboard alone (Tab to it, arrows and
Space), and after each change check that the figure shown is the build's recorded variant for the settings
made (the figure file and alt text the generator recorded for exactly those parameters, in
build/explorers/), that the alt text changed, and that the live caption says it. Throughout: no request
outside the site, no failed request, no console error and no Content-Security-Policy violation. Pages
without an explorer do not load its script, and without JavaScript the default variant shows.
"""
from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from browser_support import Site, _new_page
from conftest import ROOT

from tools import explorers
from tools.notebooks import languages, topics

pytestmark = pytest.mark.browser

NAMES = [p.stem for p in explorers.discover()]


def _manifest(lang: str, name: str) -> dict:
    """What the build mounted for this explorer in this language (the docs tree's manifest)."""
    entries = json.loads((ROOT / "build" / "docs" / lang / explorers.SITE_FOLDER / explorers.MANIFEST).read_text(encoding="utf-8"))
    return next(e for e in entries if e["name"] == name)


def _recorded(name: str) -> dict[tuple, dict]:
    """The build's record of every variant (build/explorers/<name>/<key>/variants.json), by its parameters."""
    spec = explorers.generate(ROOT / "explorers" / f"{name}.py", log=lambda s: None).spec
    return {tuple(sorted(v["params"].items())): v for v in spec["variants"]}


def _shown(page, name: str) -> dict:
    fig = page.locator(f'figure.explorer[data-explorer="{name}"]')
    return fig.evaluate("""f => ({src: f.querySelector('img').src, alt: f.querySelector('img').alt,
                                  caption: f.querySelector('figcaption').textContent,
                                  loaded: f.querySelector('img').complete && f.querySelector('img').naturalWidth > 0})""")


def _expect(page, name: str, lang: str, params: dict, recorded: dict, before: str, how: str) -> str:
    """Wait until the figure shows the recorded variant for `params`; check its alt changed; return the alt."""
    want = recorded[tuple(sorted(params.items()))]
    fig = page.locator(f'figure.explorer[data-explorer="{name}"]')
    src_end = f"/{lang}/explorers/{name}/{want['figure']}"
    fig.locator("img").evaluate("(img, end) => new Promise((ok, no) => { const t0 = Date.now(); (function wait() {"
                                " if (img.src.endsWith(end) && img.complete) ok(); else if (Date.now() - t0 > 15000) no(new Error("
                                "'figure still ' + img.src)); else setTimeout(wait, 50); })(); })", src_end)
    shown = _shown(page, name)
    alt = want["alt"].get(lang) or want["alt"][explorers.SOURCE_LANG]
    assert shown["src"].endswith(src_end), f"{how}: {params} shows {shown['src']}"
    assert shown["alt"] == alt, f"{how}: {params}: alt {shown['alt']!r}, recorded {alt!r}"
    assert shown["caption"] == alt, f"{how}: {params}: the live caption says {shown['caption']!r}"
    assert shown["alt"] != before, f"{how}: {params}: the alt text did not change"
    assert shown["loaded"], f"{how}: {params}: {shown['src']} did not load"
    return shown["alt"]


def _next(values: list[str], current: str) -> str:
    return values[(values.index(current) + 1) % len(values)]


def _visit(browser, site: Site, lang: str, name: str, **context):
    entry = _manifest(lang, name)
    page, watch = _new_page(browser, site, viewport={"width": 1280, "height": 900}, **context)
    page.goto(site.url(f"{lang}/topics/{entry['topic']}/"), wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, watch, entry


def _json_requests(watch, name: str) -> list[str]:
    return [u for u in watch.requests if f"/explorers/{name}/variants." in u]


def _clean(watch, site: Site) -> list[str]:
    outside = [u for u in watch.requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")
               and not u.startswith(site.origin + "/")]
    return ([f"CSP violation: {v}" for v in watch.violations] + watch.errors
            + [f"failed request: {f}" for f in watch.failed if "ERR_ABORTED" not in f]
            + [f"request to another host: {u}" for u in outside])


@pytest.mark.parametrize("lang", languages())
@pytest.mark.parametrize("name", NAMES)
def test_every_control_by_mouse(browser, site, name, lang):
    page, watch, entry = _visit(browser, site, lang, name)
    recorded = _recorded(name)
    fig = page.locator(f'figure.explorer[data-explorer="{name}"]')
    assert fig.count() == 1, f"{lang}: no explorer {name} on its page"
    assert not _json_requests(watch, name), "the variants were fetched before any interaction"
    state = dict(entry["default"])
    alt = _shown(page, name)["alt"]
    assert alt == (recorded[tuple(sorted(state.items()))]["alt"].get(lang)), "the page does not start on the default"
    for c in entry["controls"]:
        values = [o["value"] for o in c["options"]]
        new = _next(values, state[c["name"]])
        control = fig.locator(f'[data-param="{c["name"]}"]')
        if c["kind"] == "select":
            control.hover()
            control.select_option(new)  # a native popup is not part of the page: this is what choosing dispatches
        elif c["kind"] == "radio":
            control.locator(f'label:has(input[value="{new}"])').click()
        elif c["kind"] == "checkbox":
            control.click()
        else:  # range: click on the track where the new value lies (corrected by what a click gives)
            box, at = control.bounding_box(), values.index(new)
            step = box["width"] / len(values)
            x = (at + 0.5) * step
            for _ in range(6):  # (playwright scrolls it into view, waits for it to stay put, checks the hit)
                control.click(position={"x": min(max(x, 1), box["width"] - 1), "y": box["height"] / 2})
                got = int(control.input_value())
                if got == at:
                    break
                x += (at - got) * step / 2
            assert control.input_value() == str(at), f"range clicks landed on {control.input_value()}, not {at}"
            labels = [o["label"] for o in c["options"]]
            assert control.get_attribute("aria-valuetext") == labels[at]
        state[c["name"]] = new
        alt = _expect(page, name, lang, state, recorded, alt, f"mouse, {c['name']}")
    assert len(_json_requests(watch, name)) == 1, _json_requests(watch, name)
    assert not _clean(watch, site), _clean(watch, site)
    page.context.close()


@pytest.mark.parametrize("lang", languages())
@pytest.mark.parametrize("name", NAMES)
def test_every_control_by_keyboard(browser, site, name, lang):
    page, watch, entry = _visit(browser, site, lang, name)
    recorded = _recorded(name)
    inside = f"document.activeElement && document.activeElement.closest('figure.explorer[data-explorer=\"{name}\"]') !== null"
    for _ in range(800):  # Tab from the top of the page to the explorer's first control
        page.keyboard.press("Tab")
        if page.evaluate(inside):
            break
    else:
        pytest.fail(f"{lang}/{name}: Tab never reached the explorer")
    state = dict(entry["default"])
    alt = _shown(page, name)["alt"]
    for i, c in enumerate(entry["controls"]):
        focused = page.evaluate("(() => { const a = document.activeElement; return a.getAttribute('data-param')"
                                " || a.closest('[data-param]').getAttribute('data-param'); })()")
        assert focused == c["name"], f"Tab order: {focused} focused, expected {c['name']}"
        values = [o["value"] for o in c["options"]]
        at = values.index(state[c["name"]])
        if c["kind"] == "checkbox":
            key, new = "Space", _next(values, state[c["name"]])
        elif at + 1 < len(values):
            key, new = ("ArrowDown" if c["kind"] == "select" else "ArrowRight"), values[at + 1]
        else:
            key, new = ("ArrowUp" if c["kind"] == "select" else "ArrowLeft"), values[at - 1]
        page.keyboard.press(key)
        state[c["name"]] = new
        alt = _expect(page, name, lang, state, recorded, alt, f"keyboard ({key}), {c['name']}")
        if i + 1 < len(entry["controls"]):
            page.keyboard.press("Tab")
    assert not _clean(watch, site), _clean(watch, site)
    page.context.close()


def test_without_javascript_the_default_shows(browser, site):
    for name in NAMES:
        lang = languages()[0]
        page, watch, entry = _visit(browser, site, lang, name, java_script_enabled=False)
        fig = page.locator(f'figure.explorer[data-explorer="{name}"]')
        assert fig.locator("fieldset.explorer__controls").get_attribute("disabled") is not None
        assert all(c.is_disabled() for c in fig.locator("input, select").all()), "a control works without its script"
        shown = _shown(page, name)
        assert shown["src"].endswith(f"/{lang}/explorers/{name}/{entry['figure']}") and shown["alt"] == entry["alt"]
        assert not _json_requests(watch, name)
        page.context.close()


def test_pages_without_an_explorer_do_not_load_its_script(browser, site):
    with_one = {_manifest(lang, n)["topic"] for lang in languages() for n in NAMES}
    lang = languages()[0]
    page, watch = _new_page(browser, site)
    for topic in [*[t for t in topics() if t not in with_one][:3], ""]:
        watch.clear()
        page.goto(site.url(f"{lang}/{'topics/' + topic + '/' if topic else ''}"), wait_until="load")
        page.mouse.move(20, 20)  # a first interaction starts Material's script; ours must still not come
        page.wait_for_load_state("networkidle")
        assert not [u for u in watch.requests if u.endswith("/assets/explorers.js")], f"{topic or 'home'} loads explorers.js"
        assert page.locator("figure.explorer").count() == 0
    page.context.close()
