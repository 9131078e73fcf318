"""The allowlist that every piece of HTML (and SVG) from contributed content passes through.

Translations and new topics come from strangers, and their notebooks are executed at build time, so a
reviewer never sees the outputs. Everything content puts on a page goes through this module:

- HTML fragments (markdown cells rendered to HTML, `text/html` and `text/markdown` outputs, hand-written and
  generated markdown pages) are cleaned by Ammonia (`nh3`) with the explicit allowlist below: tags,
  attributes, classes and URL schemes. `clean_html` returns what Ammonia emits *and* what it had to remove,
  so the build can fail with the file, the cell and the element instead of silently publishing less.
- SVG figures become files on the site's origin, where a reader may open them directly (and there a script
  in them would run with the site's rights). Ammonia is an HTML sanitizer: its output drops the XML
  namespace declarations a standalone SVG file needs, so SVG is checked here by an allowlist walk over the
  XML tree (elements, attributes, references, CSS) -- no maintained SVG sanitizer exists for Python.
- Plain-text values (glossary terms, per-language strings, alt text) must contain no markup at all.

Why report rather than only clean: a contributor whose `<iframe>` silently vanished would not know their
page is broken. Why publish the cleaned HTML anyway: defence in depth, should the detection ever disagree
with Ammonia (the page carries a Content-Security-Policy as a further layer, see tools/csp.py).
"""
from __future__ import annotations

import base64
import binascii
import html
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import nh3
import tinycss2
from pygments.token import STANDARD_TYPES
from selectolax.lexbor import LexborHTMLParser

# --- HTML ----------------------------------------------------------------------------------------------

#: Elements content may use. No scripts, frames, forms, embeds, styles, <base>, <meta>, <link>, inline SVG
#: or MathML (figures are images; `$…$` math becomes MathML after sanitizing, from trusted code).
TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details", "div",
    "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
}
#: MathML, as latex2mathml writes it: `$…$` in prose becomes MathML at build time, from TeX the contributor
#: wrote, so the sanitizer sees the formulas too (tools/math_render.py runs first).
MATHML_TAGS = {
    "math", "semantics", "annotation", "mi", "mn", "mo", "ms", "mtext", "mspace", "mrow", "mfrac", "msqrt",
    "mroot", "mstyle", "merror", "mpadded", "mphantom", "menclose", "msub", "msup", "msubsup", "munder",
    "mover", "munderover", "mtable", "mtr", "mtd",
}
MATHML_ATTRIBUTES = {
    "alttext", "xmlns", "display", "displaystyle", "scriptlevel", "mathvariant", "mathsize", "mathcolor",
    "mathbackground", "stretchy", "fence", "form", "separator", "lspace", "rspace", "accent", "accentunder",
    "movablelimits", "largeop", "symmetric", "minsize", "maxsize", "width", "height", "depth", "notation",
    "columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines", "frame", "linethickness",
    "voffset", "encoding",
}
#: Removed together with their content (the rest keep their text when the tag goes).
CLEAN_CONTENT_TAGS = {"script", "style", "template", "noscript", "iframe", "object", "textarea", "title"}

#: Attributes per element ("*": every element). `id` and `class` are further limited below.
ATTRIBUTES = {
    "*": {"title", "lang", "dir"},  # and "class", limited to CLASSES
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "loading", "decoding"},
    "h1": {"id"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "h5": {"id"}, "h6": {"id"},
    "td": {"style", "colspan", "rowspan", "align"}, "th": {"style", "colspan", "rowspan", "align", "scope"},
    "ol": {"start", "type"}, "details": {"open"}, "abbr": {"title"}, "col": {"span"}, "colgroup": {"span"},
    "blockquote": {"cite"}, "q": {"cite"}, "del": {"cite"}, "ins": {"cite"},
    **dict.fromkeys(MATHML_TAGS, MATHML_ATTRIBUTES),
}
#: The one CSS property content may set (markdown tables align their columns with it).
STYLE_PROPERTIES = {"text-align"}
#: Link schemes; relative URLs and #fragments are always allowed. No javascript:, data: (except images,
#: checked in `_attribute_filter`), plain http: (mixed content, and the site loads nothing from outside).
URL_SCHEMES = {"https", "mailto", "data"}

_ANSI = {f"ansi-{c}-{k}" for c in ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white", "default")
         for k in ("fg", "bg", "intense-fg", "intense-bg")} | {"ansi-bold", "ansi-underline", "ansi-italic"}
_TOKENS = {c for c in STANDARD_TYPES.values() if c}
#: Classes the renderers themselves put into content (nbconvert's heading anchors, Pygments' code tokens,
#: ANSI colours of text outputs; python-markdown's admonitions and permalinks) and Material's buttons for
#: hand-written pages. Any other class could borrow the site's own look (a fake header, a fake notice).
CLASSES = {
    "a": {"anchor-link", "headerlink", "md-button", "md-button--primary"},
    "div": {"highlight", "admonition", "note", "warning", "tip", "info", "danger", "example", "quote"},
    "p": {"admonition-title"},
    "span": _TOKENS | _ANSI | {"filename"},
    "pre": {"highlight"},
    "code": set(),
    "table": set(),
}
#: Heading ids as nbconvert makes them (any non-space text), but none that could clobber Material's own
#: elements and globals, which start with "__" (__search, __drawer, __palette_0, __md_scope …). nbconvert
#: gives Chinese headings id="" (tools/site_hooks.py then gives them ids of their own).
_ID = re.compile(r"(?!__)[^\s]{0,400}")
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,([A-Za-z0-9+/=\s]*)", re.IGNORECASE)


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    """Per-attribute rules Ammonia's tables cannot say: where data: URLs may go, which ids are safe."""
    if attr == "id":
        # Material's own ids start with "__" (__search, __drawer, __palette_0 …): content must not clobber them.
        return value if _ID.fullmatch(value) else None
    if attr in ("href", "src", "cite"):
        v = value.strip()
        if v[:5].lower() == "data:":
            m = _DATA_IMAGE.fullmatch(v)
            if not (tag == "img" and attr == "src" and m):
                return None
            if m[1].lower() == "svg+xml" and check_svg_bytes(_b64(m[2])):
                return None
            return value
        if tag == "img" and attr == "src" and (":" in v.split("/", 1)[0] or v.startswith("//")):
            return None  # images come from the site itself: nothing is fetched from outside at page load
    return value


def _b64(data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return b"<not base64>"


@lru_cache(maxsize=1)
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=TAGS | MATHML_TAGS, clean_content_tags=CLEAN_CONTENT_TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
        allowed_classes=CLASSES, filter_style_properties=STYLE_PROPERTIES, attribute_filter=_attribute_filter,
        link_rel=None, strip_comments=True,
    )


def _inventory(fragment: str) -> Counter:
    """What a fragment is made of, as the HTML5 parser sees it: elements, and each attribute with its value."""
    tree = LexborHTMLParser(fragment, is_fragment=True)
    inv: Counter = Counter()
    for node in tree.css("*"):
        inv[("tag", node.tag)] += 1
        for name, value in node.attributes.items():
            if name == "style":  # Ammonia re-serializes the properties it keeps: compare them, not spacing
                value = ";".join(d.strip().replace(" ", "") for d in (value or "").split(";") if d.strip())
            inv[("attr", node.tag, name, value or "")] += 1
    return inv


def _text(fragment: str) -> str:
    return LexborHTMLParser(fragment, is_fragment=True).text(deep=True)


def _short(value: str, n: int = 60) -> str:
    value = " ".join(value.split())
    return value if len(value) <= n else value[: n - 1] + "…"


@dataclass(frozen=True)
class Removal:
    """One thing the sanitizer removed: an element, or an attribute (with its value) of a kept element."""

    tag: str
    attr: str | None = None
    value: str = ""
    count: int = 1

    def __str__(self) -> str:
        if self.tag == "#text":
            return f"text the HTML parser drops ({_short(self.value)})"
        if self.attr is None:
            return f"{'a' if self.count == 1 else self.count} <{self.tag}> element{'s' if self.count > 1 else ''}"
        return f'the {self.attr}="{_short(self.value)}" attribute of <{self.tag}>'

    def needle(self) -> str:
        """What to look for in the source to say on which line the removed thing is."""
        return f"<{self.tag}" if self.attr is None else self.attr


def clean_html(fragment: str) -> tuple[str, list[Removal]]:
    """(Ammonia's output, what it removed). Comments are dropped without a finding (they never render)."""
    cleaned = _cleaner().clean(fragment)
    if cleaned == fragment:
        return cleaned, []
    before, after = _inventory(fragment), _inventory(cleaned)
    removed = before - after
    found = [Removal(k[1], count=n) for k, n in sorted(removed.items()) if k[0] == "tag"]
    gone_tags = {r.tag for r in found if after[("tag", r.tag)] == 0}
    found += [Removal(k[1], k[2], k[3]) for k in sorted(removed) if k[0] == "attr" and k[1] not in gone_tags]
    if not found and _text(fragment) != _text(cleaned):
        found.append(Removal("#text", value=_text(fragment)))
    return cleaned, found


def line_of(source: str, removal: Removal) -> int | None:
    """1-based line of `source` where the removed thing most likely is (None when it cannot be found)."""
    low = source.lower()
    for needle in (removal.value, removal.needle()):
        at = low.find(needle.lower()) if needle else -1
        if at >= 0:
            return source.count("\n", 0, at) + 1
    return None


def plain_text_problem(value: str) -> str | None:
    """Why `value` is not plain text (it will be shown as text, never as markup), or None when it is."""
    if nh3.clean(value, tags=set(), attributes={}, clean_content_tags=set()) != html.escape(value, quote=False):
        return f"contains markup ({_short(value)}); write plain text"
    return None


# --- SVG ------------------------------------------------------------------------------------------------

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK = "{http://www.w3.org/1999/xlink}href"
#: What matplotlib and graphviz draw with. No <script>, <foreignObject>, <a>, <animate>/<set> (they can
#: rewrite a link into javascript:), <iframe>, <feImage> or external <use>.
SVG_TAGS = {
    "svg", "g", "defs", "path", "use", "text", "tspan", "title", "desc", "polygon", "polyline", "line", "rect",
    "circle", "ellipse", "clipPath", "image", "style", "metadata", "linearGradient", "radialGradient", "stop",
    "pattern", "mask", "marker", "symbol",
}
SVG_ATTRIBUTES = {
    "id", "class", "style", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "d", "points",
    "width", "height", "viewBox", "version", "transform", "preserveAspectRatio", "fill", "fill-opacity",
    "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-dasharray", "stroke-dashoffset",
    "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "opacity", "clip-path", "clip-rule", "mask",
    "font-family", "font-size", "font-weight", "font-style", "text-anchor", "dominant-baseline", "dx", "dy",
    "rotate", "textLength", "lengthAdjust", "letter-spacing", "offset", "stop-color", "stop-opacity",
    "gradientUnits", "gradientTransform", "patternUnits", "patternContentUnits", "patternTransform",
    "maskUnits", "markerWidth", "markerHeight", "refX", "refY", "orient", "markerUnits", "fx", "fy",
    "spreadMethod", "type", "href", "visibility", "display", "color", "xml:space",
    "{http://www.w3.org/XML/1998/namespace}space",
}
#: Namespaces of the RDF block matplotlib writes inside <metadata> (inert: never rendered).
_METADATA_NS = ("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://creativecommons.org/ns#",
                "http://purl.org/dc/elements/1.1/")
_PROLOG_OK = re.compile(
    r'\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1\.1//EN"\s+'
    r'"http://www\.w3\.org/Graphics/SVG/1\.1/DTD/svg11\.dtd">\s*)?(<!--.*?-->\s*)*<svg\b', re.DOTALL)


def _css_problems(css: str, where: str, stylesheet: bool) -> list[str]:
    """CSS may only paint: no @import or other at-rules, no url() other than a local #reference."""
    nodes = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True) if stylesheet \
        else [tinycss2.ast.QualifiedRule(0, 0, [], tinycss2.tokenizer.parse_component_value_list(css))]
    problems = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node.type == "at-rule":
            problems.append(f"an @{node.at_keyword} rule in {where}")
        elif node.type == "error":
            problems.append(f"unparseable CSS in {where}")
        elif node.type == "url" and not node.value.startswith("#"):
            problems.append(f"url({_short(node.value)}) in {where}")
        elif node.type == "function":
            if node.lower_name == "url":
                arg = "".join(t.value for t in node.arguments if t.type == "string")
                if not arg.startswith("#"):
                    problems.append(f"url({_short(arg)}) in {where}")
            elif node.lower_name in ("expression", "image", "image-set", "element", "paint"):
                problems.append(f"{node.lower_name}() in {where}")
            stack.extend(node.arguments)
        for child in ("prelude", "content", "value"):
            val = getattr(node, child, None)
            if isinstance(val, list):
                stack.extend(val)
    return problems


def check_svg_bytes(data: bytes | str) -> list[str]:
    """What in an SVG document is outside the allowlist (empty: safe to publish as a file on the site)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if "<!ENTITY" in text or not _PROLOG_OK.match(text):
        return ["a prolog other than <?xml?>, the SVG 1.1 DOCTYPE and comments (no entities, no internal subset)"]
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        return [f"malformed SVG ({e})"]
    problems: list[str] = []
    inside_metadata: set[int] = set()
    for parent in root.iter():
        if parent.tag == f"{{{_SVG_NS}}}metadata":
            inside_metadata.update(id(el) for el in parent.iter() if el is not parent)
    for el in root.iter():
        ns, _, name = el.tag[1:].partition("}") if el.tag.startswith("{") else ("", "", el.tag)
        if id(el) in inside_metadata:
            if ns not in _METADATA_NS or any(k != f"{{{_METADATA_NS[0]}}}resource" for k in el.attrib):
                problems.append(f"<{name}> with {sorted(el.attrib) or 'content'} inside <metadata>")
            continue
        if ns != _SVG_NS or name not in SVG_TAGS:
            problems.append(f"a <{name}> element" + (f" ({ns})" if ns and ns != _SVG_NS else ""))
            continue
        for attr, value in el.attrib.items():
            if attr in (_XLINK, "href"):
                ok = value.startswith("#") or (name == "image" and re.fullmatch(
                    r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=\s]*", value) is not None)
                if not ok:
                    problems.append(f'the href="{_short(value)}" of <{name}>')
            elif attr not in SVG_ATTRIBUTES:
                problems.append(f'the {attr.rpartition("}")[2]}="{_short(value)}" attribute of <{name}>')
            elif attr == "style":
                problems += _css_problems(value, f"the style of <{name}>", stylesheet=False)
            elif "url(" in value.lower() and not re.fullmatch(r"\s*url\(#[^)]*\)\s*", value):
                problems.append(f'the {attr}="{_short(value)}" of <{name}>')
        if name == "style":
            problems += _css_problems(el.text or "", "a <style> element", stylesheet=True)
    return problems
