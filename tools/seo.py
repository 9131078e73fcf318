"""Search-engine metadata for a site published once per language (site/<lang>/, one mkdocs site each).

A search engine sees two unrelated sites unless each page says where its translations are. So every page
gets, from here (called by tools/site_hooks.py, written by overrides/main.html):

- `<link rel="alternate" hreflang=…>` to the absolute URL of the *same* page in every language that has it,
  plus `x-default` (Material's own alternates are the language switcher's relative links to each home page,
  which tell a crawler nothing about the page and which Lighthouse rejects as not fully qualified);
- a meta description of its own, from its first paragraph (so in the page's language), plain text;
- Open Graph title, description, URL and locale, for link previews.

At the site root (tools/site.py `write_root`): a sitemap index over the per-language sitemaps mkdocs
writes, a robots.txt that names it, and the language chooser's own alternates.

Everything here is a pure function of its arguments, so tests can check it without a build.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from selectolax.lexbor import LexborHTMLParser, LexborNode

#: BCP 47 tags where the site's short language code is not precise enough: Material's "zh" strings are
#: Simplified Chinese (overrides/partials/language.html writes the same tag into <html lang>).
HREFLANG = {"zh": "zh-Hans"}
#: Open Graph wants language_TERRITORY.
OG_LOCALE = {"zh": "zh_CN", "en": "en_US", "ja": "ja_JP", "ko": "ko_KR", "fr": "fr_FR", "de": "de_DE"}
#: Width budget of a description, a wide (CJK) character counting 2: about what a result page shows
#: (~155 Latin characters, ~78 Chinese ones).
DESCRIPTION_WIDTH = 155
#: A first paragraph narrower than this ("Summary:", one short line) is continued with the next ones.
DESCRIPTION_MIN_WIDTH = 70
#: Pages every language has, written at build time (tools/generated_pages.py `write_all`).
GENERATED = ("translation-status.md", "glossary.md")
#: Paragraphs that are not the page's prose: notices, stamps, outputs (Material and nbconvert classes).
_NOT_PROSE = ("[data-search-exclude]", ".admonition", ".jp-OutputArea", ".nb-stamp", "nav", "footer", "table")


def hreflang(lang: str) -> str:
    """The hreflang (and <html lang>) tag of a site language."""
    return HREFLANG.get(lang, lang)


def og_locale(lang: str) -> str:
    return OG_LOCALE.get(lang, lang)


def site_root(lang_site_url: str, lang: str) -> str:
    """The URL the language folders hang from ("https://x.org/docs/"), from one language's site_url
    ("https://x.org/docs/zh/", as tools/site_hooks.py `on_config` sets it). Ends with "/"."""
    base = lang_site_url.rstrip("/")
    if base.endswith(f"/{lang}"):
        base = base[: -len(lang) - 1]
    return base + "/"


def page_url(root: str, lang: str, url: str) -> str:
    """Absolute URL of a page (mkdocs' `page.url`, "topics/init/" or "" for the home page) in `lang`."""
    return f"{root}{lang}/{url}"


@dataclass(frozen=True)
class Alternate:
    hreflang: str
    href: str


def alternates(root: str, url: str, langs: Iterable[str], has_page: Callable[[str], bool],
               default_lang: str) -> list[Alternate]:
    """The hreflang set of one page: the same page in every language that has it, then x-default.

    x-default is the language chooser at the site root for the home pages (it redirects by the reader's
    language), and the default language's page elsewhere. Every page of the set lists the same set, as
    search engines require (links must be reciprocal)."""
    present = [lang for lang in langs if has_page(lang)]
    out = [Alternate(hreflang(lang), page_url(root, lang, url)) for lang in present]
    if not present:
        return out
    if url == "":
        out.append(Alternate("x-default", root))
    else:
        fallback = default_lang if default_lang in present else present[0]
        out.append(Alternate("x-default", page_url(root, fallback, url)))
    return out


def _width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def truncate(text: str, width: int = DESCRIPTION_WIDTH) -> str:
    """`text` cut to `width` (wide characters count 2), at a word boundary where words have spaces, with
    an ellipsis when something was cut."""
    used, cut = 0, len(text)
    for i, ch in enumerate(text):
        used += _width(ch)
        if used > width - 1:  # room for the ellipsis
            cut = i
            break
    else:
        return text
    head = text[:cut]
    if text[cut].isascii() and text[cut].isalnum() and " " in head[-40:]:  # mid-word in spaced text
        head = head[: head.rfind(" ")]
    return head.rstrip(" ,;:，；：、—-") + "…"


def _plain_text(node) -> str:
    """A paragraph's text as a reader sees it: formulas as their LaTeX (the MathML's alttext, which
    tools/math_render.py writes), whitespace collapsed."""
    for math in node.css("math"):
        alt = math.attributes.get("alttext") or ""
        math.replace_with(f"{alt}" if alt else math.text(deep=True))
    return _collapse(node.text(deep=True))


def _collapse(text: str) -> str:
    """Whitespace runs become one space, and none between two wide characters: a line break inside Chinese
    prose is not a word gap."""
    text = re.sub(r"\s+", " ", text).strip()  # stripped: a space is never first or last
    return "".join(ch for i, ch in enumerate(text)
                   if not (ch == " " and _width(text[i - 1]) == 2 and _width(text[i + 1]) == 2))


def first_paragraph_of(root: LexborNode, min_width: int = DESCRIPTION_MIN_WIDTH) -> str:
    """Plain text of the first prose paragraph under `root` (continued with the next ones while narrower
    than `min_width`), or "" when there is none. Notices, execution stamps, outputs, tables and admonitions
    are not prose. `root` is left as it is (the work is done on a copy)."""
    doc = root.clone()
    for selector in _NOT_PROSE:
        for node in doc.css(selector):
            node.decompose()
    parts: list[str] = []
    for p in doc.css("p"):
        text = _plain_text(p)
        if not text:
            continue
        parts.append(text)
        if sum(map(_width, " ".join(parts))) >= min_width:
            break
    return " ".join(parts)


def first_paragraph(content_html: str, min_width: int = DESCRIPTION_MIN_WIDTH) -> str:
    """`first_paragraph_of` a page's content given as HTML text."""
    return first_paragraph_of(LexborHTMLParser(f"<body>{content_html}").body, min_width)


def plain_title(title: str) -> str:
    """A page title as plain text (mkdocs-jupyter's titles may carry inline markup such as <code>)."""
    return LexborHTMLParser(f"<body>{title}").body.text(deep=True).strip()


def description(content_html: str, fallback: str, width: int = DESCRIPTION_WIDTH) -> str:
    """The page's meta description: its first paragraph, truncated; `fallback` (the site's description)
    when it has no prose. Plain text: the template escapes it."""
    return truncate(first_paragraph(content_html) or fallback.strip(), width)


def sitemap_index(root: str, langs: Iterable[str]) -> str:
    """A sitemap index (sitemaps.org) at the site root listing each language's sitemap.xml."""
    entries = "".join(f"  <sitemap><loc>{xml_escape(page_url(root, lang, 'sitemap.xml'))}</loc></sitemap>\n"
                      for lang in langs)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{entries}</sitemapindex>\n")


def robots_txt(root: str) -> str:
    """robots.txt for the site root: everything may be crawled; the sitemap index is named. (Crawlers read
    it only at a host's root: it applies where the site is served from a domain of its own.)"""
    return f"User-agent: *\nAllow: /\n\nSitemap: {root}sitemap.xml\n"


def source_has_page(root_dir: Path, lang: str, src_path: str, source_lang: str, generated: Iterable[str]) -> bool:
    """Whether language `lang` publishes the page built from `src_path` (as tools/site.py `assemble` lays
    the tree out): a topic when notebooks/<lang>/ has it, a generated page always, a hand-written page when
    docs/<lang>/ has it (a language without docs/<lang>/ starts from the source language's pages)."""
    if src_path.startswith("topics/") and src_path.endswith(".ipynb"):
        return (root_dir / "notebooks" / lang / Path(src_path).name).is_file()
    if src_path in set(generated):
        return True
    docs = root_dir / "docs" / lang
    return ((docs if docs.is_dir() else root_dir / "docs" / source_lang) / src_path).is_file()
