"""The Content-Security-Policy every page carries: defence in depth behind the sanitizer (tools/sanitize.py).

Should anything slip past the allowlist, the browser still refuses to run it: scripts run only from the
site's own files or when their exact text is one of the page's own inline scripts (by SHA-256 hash, computed
here from the rendered page, so a template edit never needs a hand-kept list). Delivered as a <meta> tag,
the only way a static host without header control can send it; `frame-ancestors`, `sandbox` and reporting
cannot be set that way.
"""
from __future__ import annotations

import base64
import hashlib

from selectolax.lexbor import LexborHTMLParser

#: Script types a browser executes (a <script type="application/json"> is data, and CSP ignores it).
_JS_TYPES = {"", "text/javascript", "application/javascript", "module"}

#: Each directive, and why it is as loose as it is.
POLICY = {
    "default-src": "'none'",      # anything not named below is refused
    "script-src": "'self'",       # Material's bundle and search worker; inline scripts by hash (added per page)
    "style-src": "'self'",        # site.css, notebook.css, Material's CSS: no <style> elements in pages
    # Style *attributes* are allowed: markdown tables align columns with style="text-align:…" and Material
    # sets a few; CSS cannot run script, and what it could fetch is limited by img-src/font-src below.
    "style-src-attr": "'unsafe-inline'",
    "img-src": "'self' data:",    # figures are files; Material's icons are data: SVG masks in its CSS
    "font-src": "'self'",
    "connect-src": "'self'",      # the search index, and the other language's sitemap (language switcher)
    "worker-src": "'self'",       # Material's search worker
    "manifest-src": "'self'",
    "object-src": "'none'",
    "frame-src": "'none'",
    "media-src": "'none'",
    "base-uri": "'none'",         # no <base> can redirect relative links
    "form-action": "'none'",      # the search box is a form that never submits (Material handles it)
}


def inline_script_hashes(doc: LexborHTMLParser) -> list[str]:
    """'sha256-…' of every inline script a browser would execute, in page order, without repeats."""
    found: list[str] = []
    for script in doc.css("script"):
        attrs = script.attributes
        if "src" in attrs or (attrs.get("type") or "").strip().lower() not in _JS_TYPES:
            continue
        digest = base64.b64encode(hashlib.sha256((script.text(deep=True) or "").encode()).digest()).decode()
        if f"'sha256-{digest}'" not in found:
            found.append(f"'sha256-{digest}'")
    return found


def policy_for(doc: LexborHTMLParser) -> str:
    directives = dict(POLICY)
    directives["script-src"] = " ".join([POLICY["script-src"], *inline_script_hashes(doc)])
    return "; ".join(f"{k} {v}" for k, v in directives.items())


def add_csp(page_html: str) -> str:
    """`page_html` with its policy as the first element of <head> (before any script or style can load).

    The tag is inserted into the original text rather than re-serializing the parsed page, so the hashes
    are of exactly the script text the browser will see."""
    doc = LexborHTMLParser(page_html)
    if doc.css_first('meta[http-equiv="Content-Security-Policy" i]') is not None:
        raise ValueError("the page already has a Content-Security-Policy meta tag")
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy_for(doc)}">'
    low = page_html[:4096].lower()
    at = low.find("<meta charset")  # stays first: browsers look for it in the first 1024 bytes
    if at < 0:
        at = low.find("<head")
    if at < 0:
        raise ValueError("no <head> in the page: cannot place the Content-Security-Policy")
    at = page_html.index(">", at) + 1
    return page_html[:at] + "\n" + meta + page_html[at:]
