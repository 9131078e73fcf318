"""Terminology and spelling lints for the prose of every notebook, and a glyph check for figures.

Three checks, each returning messages that name the file, the cell and the offending word:

* **Rejected terms.** `glossary.yml` names, per term, the preferred word in each language and the variants a
  page must not use (`reject: {zh: [...], en: [...]}`). A rejected variant in a markdown cell's prose is an
  error. Not prose, and so not checked: fenced and inline code, link targets, math, HTML comments, block
  quotes (`> …`) and quotes (“…” / "…") whose sentence says whose words they are (the notes, the docs, a
  docstring, an error message): a quote of the notes keeps the notes' words.
* **US spelling.** English prose uses one spelling, the American one the API itself uses (`initialize`,
  `normalize`, `behavior`, `color`, …). `UK_TO_US` is the word list: a British form found in an English cell
  is reported together with the American form to use.
* **Figure glyphs.** Text in a figure is drawn by the reader's fonts (matplotlib writes SVG text as text, and
  the site loads no web fonts). A private-use code point (how matplotlib's mathtext writes `\\mathcal` and
  friends in its STIX fonts), a font that only matplotlib ships, or a character outside the ranges every
  common system sans-serif covers shows as an empty box. `figure_glyph_problems` checks an executed
  notebook's SVG outputs.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tools.notebooks import Notebook, all_notebooks
from tools.paths import ROOT

# British form -> American form. Matched as whole words, case-insensitively, with the usual endings
# (s, d, ed, ing, er, ers, ation, ations, ly) on the stems marked with a trailing "*".
UK_TO_US: dict[str, str] = {
    "initialis*": "initializ", "normalis*": "normaliz", "optimis*": "optimiz", "recognis*": "recogniz",
    "organis*": "organiz", "summaris*": "summariz", "realis*": "realiz", "utilis*": "utiliz",
    "minimis*": "minimiz", "maximis*": "maximiz", "visualis*": "visualiz", "customis*": "customiz",
    "standardis*": "standardiz", "specialis*": "specializ", "serialis*": "serializ", "parallelis*": "paralleliz",
    "vectoris*": "vectoriz", "tokenis*": "tokeniz", "regularis*": "regulariz", "quantis*": "quantiz",
    "synchronis*": "synchroniz", "materialis*": "materializ", "generalis*": "generaliz", "emphasis*e": "emphasiz",
    "categoris*": "categoriz", "characteris*": "characteriz", "randomis*": "randomiz", "discretis*": "discretiz",
    "behaviour*": "behavior", "colour*": "color", "favour*": "favor", "neighbour*": "neighbor", "honour*": "honor",
    "labour*": "labor", "centre*": "center", "metre*": "meter", "litre*": "liter", "fibre*": "fiber",
    "grey*": "gray", "analyse*": "analyze", "analysing": "analyzing", "catalogue*": "catalog",
    "programme*": "program", "licence*": "license", "defence*": "defense", "offence*": "offense",
    "artefact*": "artifact", "judgement*": "judgment", "labelled": "labeled", "labelling": "labeling",
    "modelled": "modeled", "modelling": "modeling", "travelled": "traveled", "cancelled": "canceled",
    "signalled": "signaled", "signalling": "signaling", "tunnelling": "tunneling", "levelled": "leveled",
    "misspelt": "misspelled", "spelt": "spelled", "learnt": "learned", "whilst": "while", "amongst": "among",
    "fulfil": "fulfill", "enrol": "enroll", "aluminium": "aluminum", "per cent": "percent",
    "sceptic*": "skeptic", "manoeuvre*": "maneuver", "oestrogen": "estrogen", "cheque*": "check",
}
_ENDINGS = r"(?:s|d|ed|ing|er|ers|ation|ations|ly|es)?"


def _spelling_patterns() -> list[tuple[re.Pattern, str, str]]:
    out = []
    for uk, us in UK_TO_US.items():
        stem = uk.rstrip("*").replace("*", "")
        tail = _ENDINGS if uk.endswith("*") else ""
        if uk == "emphasis*e":  # emphasise(s/d), not the noun "emphasis"
            stem, tail = "emphasis", r"(?:e|es|ed|ing)"
        out.append((re.compile(rf"(?<!\w){re.escape(stem)}{tail}(?!\w)", re.IGNORECASE), uk.replace("*", ""), us))
    return out


_SPELLING = _spelling_patterns()


@dataclass(frozen=True)
class TermRule:
    preferred: dict[str, str]                 # lang -> preferred term
    reject: dict[str, tuple[str, ...]] = field(default_factory=dict)  # lang -> rejected variants


def load_rules(path: Path | None = None) -> list[TermRule]:
    data = yaml.safe_load((path or ROOT / "glossary.yml").read_text(encoding="utf-8")) or []
    rules = []
    for e in data:
        rej = {lang: tuple(v) for lang, v in (e.get("reject") or {}).items()}
        if rej:
            rules.append(TermRule({"zh": e["zh"], "en": e["en"]}, rej))
    return rules


_FENCE = re.compile(r"```.*?```", re.DOTALL)
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.DOTALL)
_INLINE = re.compile(r"`[^`\n]*`")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_QUOTES = re.compile(r"“[^”]*”|\"[^\"\n]*\"|「[^」]*」")
_BLOCKQUOTE = re.compile(r"^\s*>.*$", re.MULTILINE)


#: A quote is someone else's words only when the sentence says whose: the notes, the docs, a docstring, a message.
_ATTRIBUTION = re.compile(r"笔记|文档|原文|注释|报错|提示|消息|notes|docs|documentation|docstring|comment|message|says|say|write|writes|wrote",
                          re.IGNORECASE)


def _blank(m: re.Match) -> str:
    return " " * len(m.group(0))


def prose(markdown: str) -> str:
    """The words of a markdown cell a reader reads as the page's own prose: code, math, link targets, block
    quotes and attributed quotes (a “…” or "…" whose sentence names its source: the notes, the docs, …) blanked."""
    text = markdown
    for pat in (_FENCE, _COMMENT, _MATH, _INLINE, _LINK_TARGET, _BLOCKQUOTE):
        text = pat.sub(_blank, text)

    def quote(m: re.Match) -> str:
        start = max(text.rfind("\n", 0, m.start()), text.rfind("。", 0, m.start()), text.rfind(". ", 0, m.start()))
        return _blank(m) if _ATTRIBUTION.search(text[start + 1:m.start()]) else m.group(0)

    return _QUOTES.sub(quote, text)


def _term_pattern(term: str) -> re.Pattern:
    if re.fullmatch(r"[\w .'-]+", term, re.ASCII):  # a Latin word: whole words only, case-insensitive
        return re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w-])", re.IGNORECASE)
    return re.compile(re.escape(term))


def term_problems(nbf: Notebook, rules: list[TermRule]) -> list[str]:
    problems = []
    for i, cell in enumerate(nbf.read().cells, start=1):
        if cell.cell_type != "markdown":
            continue
        text = prose(cell.source)
        for rule in rules:
            for bad in rule.reject.get(nbf.lang, ()):
                for m in _term_pattern(bad).finditer(text):
                    ctx = text[max(0, m.start() - 12):m.end() + 12].replace("\n", " ").strip()
                    problems.append(f"{nbf.rel}: cell {i} ({cell.get('id', '?')}) uses the rejected term "
                                    f"'{m.group(0)}'; glossary.yml prefers '{rule.preferred.get(nbf.lang)}' (…{ctx}…)")
    return problems


def spelling_problems(nbf: Notebook) -> list[str]:
    """British spellings in an English notebook: markdown prose, code (comments and strings) and figure alt text."""
    if nbf.lang != "en":
        return []
    problems = []
    for i, cell in enumerate(nbf.read().cells, start=1):
        # markdown prose; a code cell's comments, strings and printed text are English on every page
        texts = [prose(cell.source) if cell.cell_type == "markdown" else cell.source]
        texts += [str(cell.metadata.get("alt", ""))]
        for text in texts:
            for pat, _uk, us in _SPELLING:
                for m in pat.finditer(text):
                    problems.append(f"{nbf.rel}: cell {i} ({cell.get('id', '?')}) spells '{m.group(0)}' the British "
                                    f"way; use the US spelling ('{us}…', as the API does)")
    return problems


# Figures ---------------------------------------------------------------------------------------------

#: Fonts a figure may name: the families matplotlib and graphviz write by default, all of which fall back
#: to the reader's sans-serif. Fonts that only matplotlib ships (its STIX and Computer Modern files) are not
#: on a reader's system, so text set in them shows as empty boxes.
FOREIGN_FONTS = re.compile(r"STIXNonUnicode|STIXSize|STIXGeneral|cmsy10|cmmi10|cmex10|cmr10|cmb10|cmtt10|cmss10", re.IGNORECASE)

#: Unicode ranges every common system sans-serif (DejaVu, Liberation, Arial, Helvetica, Segoe UI, Noto Sans)
#: covers: Basic Latin, Latin-1, Latin Extended-A, Greek, general punctuation, super/subscripts,
#: arrows and the mathematical operators.
COMMON_RANGES = [(0x20, 0x7E), (0xA0, 0x17F), (0x370, 0x3FF), (0x2000, 0x206F), (0x2070, 0x209F),
                 (0x2190, 0x21FF), (0x2200, 0x22FF)]


def _svg_fonts_and_text(svg: str) -> tuple[set[str], str]:
    """The font families an SVG names (attributes, style attributes, <style> sheets) and the text it draws.

    Parsed as XML (the SVG check in tools/sanitize.py has already refused entities); the regex below reads
    CSS text only, never markup.
    """
    families: set[str] = set()
    text: list[str] = []
    for el in ET.fromstring(svg.encode()).iter():
        tag = el.tag.rsplit("}", 1)[-1]
        css = " ".join(filter(None, [el.get("style"), el.text if tag == "style" else None]))
        families.update(_FONT_FAMILY.findall(css))
        if el.get("font-family"):
            families.add(el.get("font-family"))
        if tag == "text":
            text.append("".join(el.itertext()))
    return families, "".join(text)


_FONT_FAMILY = re.compile(r"font-family:\s*([^;}]+)")


def glyph_problems_in_svg(svg: str) -> list[str]:
    """Why some text of this SVG would not render with a reader's fonts (empty when all is well)."""
    found = []
    families, text = _svg_fonts_and_text(svg)
    for fam in sorted(families):
        if FOREIGN_FONTS.search(fam):
            found.append(f"names the font '{fam.strip().strip(chr(39) + chr(34))}', which only matplotlib ships")
    for ch in sorted(set(text)):
        cp = ord(ch)
        if ch in "\n\t" or any(lo <= cp <= hi for lo, hi in COMMON_RANGES):
            continue
        kind = "a private-use code point" if 0xE000 <= cp <= 0xF8FF or cp >= 0xF0000 else "outside the common fonts"
        found.append(f"draws U+{cp:04X} ({kind})")
    return found


def figure_glyph_problems(nb, display_path: str) -> list[str]:
    """Every SVG output of an executed notebook whose text a reader's fonts cannot show."""
    problems = []
    for i, cell in enumerate(nb.cells, start=1):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            svg = out.get("data", {}).get("image/svg+xml")
            if svg:
                svg = "".join(svg) if isinstance(svg, list) else svg
                problems += [f"{display_path}: cell {i} figure {why}" for why in glyph_problems_in_svg(svg)]
    return problems


def terms_lint(notebooks: list[Notebook] | None = None, rules: list[TermRule] | None = None) -> list[str]:
    """The terminology and spelling lints over every source notebook (run by `python -m tools check`)."""
    notebooks = notebooks if notebooks is not None else all_notebooks()
    rules = rules if rules is not None else load_rules()
    problems = []
    for nbf in notebooks:
        problems += term_problems(nbf, rules)
        problems += spelling_problems(nbf)
    return problems
