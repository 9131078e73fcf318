"""What the browser tests share: the built site served on 127.0.0.1, one chromium, a watched page.

The fixtures `site` and `browser` (tests/conftest.py) wrap `serve_site` and `launch_browser`, so the whole
suite has one server and one browser, whichever test file asks first: playwright's sync API refuses a
second instance while one runs.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tools.notebooks import languages
from tools.paths import CHROMIUM, CHROMIUM_ARGS

SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@dataclass
class Site:
    dir: Path
    origin: str  # where the browser loads the site from (the origin it was built for)
    backend: str  # where the server listens
    pages: dict[str, list[str]] = field(default_factory=dict)  # lang -> site-relative page paths

    @property
    def routed(self) -> bool:
        return self.origin != self.backend

    def url(self, path: str) -> str:
        return f"{self.origin}/{path}"


def _sitemap_paths(site_dir: Path, lang: str) -> tuple[str, list[str]]:
    """(origin the language was built for, its pages as 'zh/topics/init/'), from its sitemap.xml."""
    locs = [loc.text.strip() for loc in ET.parse(site_dir / lang / "sitemap.xml").getroot().findall("s:url/s:loc", SITEMAP_NS)]
    parts = [urlsplit(loc) for loc in locs]
    return f"{parts[0].scheme}://{parts[0].netloc}", [p.path.lstrip("/") for p in parts]


@dataclass
class Watch:
    """What one page visit did: its requests, failures and console errors."""
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)  # Content-Security-Policy violations (tools/csp.py)

    def clear(self) -> None:
        self.requests.clear()
        self.failed.clear()
        self.errors.clear()
        self.violations.clear()


def _new_page(browser, site: Site, **context_args):
    """A page in a fresh context, watched; requests for the site's origin go to the server."""
    from playwright.sync_api import Error as PlaywrightError

    context = browser.new_context(**context_args)
    if site.routed:
        def forward(route):
            url = route.request.url.replace(site.origin, site.backend, 1)
            try:
                route.fulfill(response=route.fetch(url=url))
            except PlaywrightError as e:
                # A request still in flight when the test closes its context (a favicon, an image) cannot be
                # answered any more: that is the end of the page, not a failure. Anything else is raised.
                if "disposed" not in str(e) and "closed" not in str(e):
                    raise
        context.route(f"{site.origin}/**", forward)
    watch = Watch()
    # Every CSP violation, as the page's own securitypolicyviolation event reports it (a console message
    # alone would miss those the browser reports only to the page).
    context.expose_function("__cspViolation", lambda v: watch.violations.append(v))
    context.add_init_script("""document.addEventListener("securitypolicyviolation", (e) =>
        window.__cspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));""")
    page = context.new_page()
    page.on("request", lambda r: watch.requests.append(r.url))
    page.on("requestfailed", lambda r: watch.failed.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and watch.failed.append(f"{r.url} (HTTP {r.status})"))
    page.on("console", lambda m: m.type == "error" and watch.errors.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: watch.errors.append(f"page error: {e}"))
    return page, watch


@contextlib.contextmanager
def serve_site(built_site: Path) -> Iterator[Site]:
    """The built site, served on 127.0.0.1 in a thread, at the origin it was built for when that port is free."""
    pages, origins = {}, set()
    for lang in languages():
        origin, paths = _sitemap_paths(built_site, lang)
        origins.add(origin)
        pages[lang] = paths
    assert len(origins) == 1, f"the languages were built for different origins: {origins}"
    origin = origins.pop()
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    u = urlsplit(origin)
    try:
        if u.hostname != "127.0.0.1" or not u.port:
            raise OSError("not a local origin")
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", u.port), handler)
    except OSError:
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield Site(built_site, origin, f"http://127.0.0.1:{httpd.server_address[1]}", pages)
    httpd.shutdown()
    httpd.server_close()


@contextlib.contextmanager
def launch_browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (Debian package chromium, see debian-packages.txt)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
