"""Figure text in the page's language (issue 16 item 3): translate the text of SVG figures at render time.

The notebooks' code is identical in every language, so every figure is drawn with English text (matplotlib
with `svg.fonttype: none` and graphviz both write real `<text>`). `figure-text.yml` is the table that maps
each English figure string to its translation per language, or marks it as deliberately untranslated
(numbers, code identifiers such as `MulBackward0` or `kaiming_normal_`, graphviz node ids). Entries may be
templates with `{placeholders}` for the parts that vary (a shape, a value); a placeholder's value is itself
translated when the table has an entry for it. The table is glossary-backed: a string that uses a term of
`glossary.yml` must use the glossary's translation of it (`table_problems`).

`translate_svg(svg, lang)` rewrites only the character data of SVG `<text>`, `<tspan>` and `<title>`
elements. It parses the document with expat (the parser under ElementTree) and splices the new text into
the original bytes at the offsets expat reports, so everything else — attributes, ids, whitespace, the
prolog — stays byte for byte as it was. `figure_strings(svg)` lists what it would translate. The site
(`tools/site.py assemble`) calls `translate_notebooks` on each language's executed notebooks; the explorer
framework calls `translate_svg` on its variant figures; `make translations` lists what the table misses.

CJK text needs a CJK font on the reader's side only: both matplotlib's and graphviz's font lists end with a
generic family (`sans-serif`), through which the browser falls back to a system font that has the glyphs
(`font_fallback_problems` checks it for translated text).
"""
from __future__ import annotations

import json
import re
import xml.parsers.expat
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import yaml

from tools.paths import ROOT

#: The language figures are drawn in (the code's language, not the notes' source language).
FIGURE_LANG = "en"
TABLE = ROOT / "figure-text.yml"
SVG_NS = "http://www.w3.org/2000/svg"
#: The elements whose character data a reader sees (title: the tooltip of a graphviz node or edge).
TEXT_ELEMENTS = {"text", "tspan", "title"}
GENERIC_FAMILIES = {"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui", "ui-sans-serif",
                    "ui-serif"}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class FigureTextError(ValueError):
    """A malformed table entry or an SVG this module refuses to touch; the message names what and where."""


# The table ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    en: str
    translations: dict[str, str]
    pattern: re.Pattern | None  # for a template: matches the English string, one group per placeholder
    line: int | None = None

    @property
    def placeholders(self) -> list[str]:
        return _PLACEHOLDER.findall(self.en)


@dataclass
class Table:
    exact: dict[str, Entry] = field(default_factory=dict)
    templates: list[Entry] = field(default_factory=list)
    keep: dict[str, str] = field(default_factory=dict)  # deliberately untranslated string -> why
    keep_patterns: list[tuple[re.Pattern, str]] = field(default_factory=list)
    path: Path | None = None

    def kept(self, text: str) -> bool:
        """Whether the table marks `text` as deliberately untranslated."""
        return text in self.keep or any(p.fullmatch(text) for p, _ in self.keep_patterns)

    def lookup(self, text: str, lang: str) -> str | None:
        """The translation of a stripped figure string into `lang`, or None when the table has none."""
        entry = self.exact.get(text)
        if entry is not None:
            return entry.translations.get(lang)
        for entry in self.templates:
            m = entry.pattern.fullmatch(text)
            if m and lang in entry.translations:
                values = {k: (self.lookup(v, lang) if v in self.exact else v) or v for k, v in m.groupdict().items()}
                return _PLACEHOLDER.sub(lambda p, values=values: values[p.group(1)], entry.translations[lang])
        return None

    def covers(self, text: str, lang: str) -> bool:
        """Whether a figure string is taken care of in `lang`: translated, or marked as staying as it is."""
        return lang == FIGURE_LANG or self.kept(text) or self.lookup(text, lang) is not None


def _template(en: str) -> re.Pattern:
    parts, pos = [], 0
    for m in _PLACEHOLDER.finditer(en):
        parts += [re.escape(en[pos:m.start()]), f"(?P<{m.group(1)}>.+?)"]
        pos = m.end()
    return re.compile("".join(parts) + re.escape(en[pos:]), re.DOTALL)


def load_table(path: Path | None = None) -> Table:
    """Read figure-text.yml (cached while the file is unchanged); a FigureTextError names a bad entry."""
    path = path or TABLE
    st = path.stat()
    return _load(str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=8)
def _load(path: str, _mtime: int, _size: int) -> Table:
    where = Path(path).name
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise FigureTextError(f"{where}: not valid YAML ({e})") from e
    if not isinstance(data, dict) or set(data) - {"strings", "untranslated"}:
        raise FigureTextError(f"{where}: expected the keys 'strings' and 'untranslated' only")
    table = Table(path=Path(path))
    for i, item in enumerate(data.get("untranslated") or [], start=1):
        if not isinstance(item, dict) or not isinstance(item.get("why"), str) or \
                len({"text", "pattern"} & set(item)) != 1 or set(item) - {"text", "pattern", "why"}:
            raise FigureTextError(f"{where}: untranslated entry {i} must have 'why' and one of 'text' or 'pattern': {item!r}")
        if "text" in item:
            table.keep[str(item["text"])] = item["why"]
        else:
            try:
                table.keep_patterns.append((re.compile(str(item["pattern"])), item["why"]))
            except re.error as e:
                raise FigureTextError(f"{where}: untranslated entry {i}: bad pattern {item['pattern']!r} ({e})") from e
    for i, item in enumerate(data.get("strings") or [], start=1):
        if not isinstance(item, dict) or not isinstance(item.get(FIGURE_LANG), str) or \
                not all(isinstance(k, str) and isinstance(v, str) for k, v in item.items()):
            raise FigureTextError(f"{where}: strings entry {i} must map '{FIGURE_LANG}' and each language to a string: {item!r}")
        en = item[FIGURE_LANG]
        if en != en.strip() or not en:
            raise FigureTextError(f"{where}: strings entry {i} ({en!r}): figure strings are matched stripped of spaces")
        translations = {k: v for k, v in item.items() if k != FIGURE_LANG}
        entry = Entry(en, translations, _template(en) if _PLACEHOLDER.search(en) else None, i)
        if entry.pattern is None:
            if en in table.exact:
                raise FigureTextError(f"{where}: strings entry {i} ({en!r}) is listed twice")
            table.exact[en] = entry
        else:
            table.templates.append(entry)
    return table


def _mask_code(text: str) -> str:
    """English figure text with placeholders and code-like tokens blanked (identifiers with _ or ., calls,
    CamelCase, [indexing]): `kaiming_normal_` does not use the glossary's 'normal', `backward()` is code."""
    text = _PLACEHOLDER.sub(" ", text)
    code = re.compile(r"[A-Za-z_][\w.]*(?:\([^)]*\)|\[[^\]]*\])|[A-Za-z_]*\w*[_.]\w[\w.]*|\w*[a-z][A-Z]\w*",
                      re.ASCII)  # ASCII: a CJK character next to code is not code
    return code.sub(lambda m: " " * len(m.group(0)), text)


def table_problems(table: Table | None = None, glossary_path: Path | None = None) -> list[str]:
    """What is wrong with the table: a translation that drops or invents a placeholder, a string both
    translated and kept, a glossary term not rendered with the glossary's translation, a rejected variant."""
    from tools.glossary import load as load_glossary
    from tools.terms import load_rules

    table = table or load_table()
    where = table.path.name if table.path else "figure-text.yml"
    terms = load_glossary(glossary_path)
    rules = load_rules(glossary_path)
    problems = []
    for entry in [*table.exact.values(), *table.templates]:
        name = f"{where}: strings entry {entry.line} ({entry.en!r})"
        if table.kept(entry.en):
            problems.append(f"{name} is both translated and marked untranslated")
        prose = _mask_code(entry.en)
        for lang, text in entry.translations.items():
            if sorted(_PLACEHOLDER.findall(text)) != sorted(entry.placeholders):
                problems.append(f"{name}: the {lang} text {text!r} must use the placeholders "
                                f"{entry.placeholders or 'none'} exactly once each")
            if lang == "zh":
                for term in terms:
                    forms = [term.en, *term.also]
                    if any(re.search(rf"(?<![\w-]){re.escape(f)}(?:s|es)?(?![\w-])", prose, re.IGNORECASE) for f in forms) \
                            and term.zh not in text:
                        problems.append(f"{name}: uses the glossary term '{term.en}', so the zh text must use "
                                        f"'{term.zh}' (glossary.yml); it reads {text!r}")
            shown = _mask_code(text)  # `batch_size=3` is code in every language
            for rule in rules:
                for bad in rule.reject.get(lang, ()):
                    latin = re.fullmatch(r"[\w .'-]+", bad, re.ASCII)
                    if re.search(rf"(?<![\w-]){re.escape(bad)}(?![\w-])" if latin else re.escape(bad), shown,
                                 re.IGNORECASE):
                        problems.append(f"{name}: the {lang} text uses '{bad}', which glossary.yml rejects "
                                        f"(use '{rule.preferred.get(lang)}')")
    return problems


# SVG text -------------------------------------------------------------------------------------------


@dataclass
class Segment:
    """A run of character data directly inside a text element: byte offsets in the UTF-8 document."""
    start: int
    end: int = -1
    text: str = ""
    element: str = ""
    font: str | None = None  # the font-family in effect (the element's or an ancestor's)


def _font_family(attrs: dict[str, str]) -> str | None:
    if "font-family" in attrs:
        return attrs["font-family"]
    for decl in attrs.get("style", "").split(";"):
        prop, _, value = decl.partition(":")
        if prop.strip().lower() == "font-family":
            return value.strip()
    return None


def segments(svg: str) -> tuple[bytes, list[Segment]]:
    """Parse `svg` with expat and return its UTF-8 bytes and every text run of a text/tspan/title element."""
    data = svg.encode("utf-8")
    parser = xml.parsers.expat.ParserCreate(encoding="UTF-8", namespace_separator=" ")
    stack: list[tuple[str, str | None]] = []  # (SVG local name or "", font-family in effect)
    found: list[Segment] = []
    current: list[Segment | None] = [None]

    def close() -> None:
        seg = current[0]
        if seg is not None:
            seg.end = parser.CurrentByteIndex
            found.append(seg)
            current[0] = None

    def start(name: str, attrs: dict[str, str]) -> None:
        close()
        ns, _, local = name.rpartition(" ")
        font = _font_family(attrs) or (stack[-1][1] if stack else None)
        stack.append((local if ns == SVG_NS else "", font))

    def end(_name: str) -> None:
        close()
        stack.pop()

    def chars(text: str) -> None:
        if not stack or stack[-1][0] not in TEXT_ELEMENTS:
            return
        if current[0] is None:
            current[0] = Segment(parser.CurrentByteIndex, element=stack[-1][0], font=stack[-1][1])
        current[0].text += text

    def refuse(what: str):
        def handler(*_args) -> None:
            raise FigureTextError(f"figure SVG: {what} (line {parser.CurrentLineNumber}): refused")
        return handler

    def other(*_args) -> None:
        close()

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
    parser.CommentHandler = parser.ProcessingInstructionHandler = other
    parser.StartCdataSectionHandler = refuse("a CDATA section")
    parser.EntityDeclHandler = refuse("an entity declaration")
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as e:
        raise FigureTextError(f"figure SVG: not well-formed XML ({e})") from e
    return data, found


def figure_strings(svg: str) -> set[str]:
    """The strings a reader sees in this SVG (text, tspan and title runs, stripped, whitespace-only left out)."""
    return {s.text.strip() for s in segments(svg)[1] if s.text.strip()}


def translate_svg(svg: str, lang: str, table: Table | None = None) -> str:
    """`svg` with every figure string the table translates into `lang` replaced; the rest byte-identical."""
    if lang == FIGURE_LANG:
        return svg
    table = table or load_table()
    data, segs = segments(svg)
    out, pos = [], 0
    for seg in segs:
        core = seg.text.strip()
        new = table.lookup(core, lang) if core else None
        if new is None or new == core:
            continue
        lead = seg.text[:len(seg.text) - len(seg.text.lstrip())]
        trail = seg.text[len(seg.text.rstrip()):]
        out += [data[pos:seg.start], escape(lead + new + trail).encode("utf-8")]
        pos = seg.end
    if not out:
        return svg
    out.append(data[pos:])
    return b"".join(out).decode("utf-8")


def untranslated(svg: str, lang: str, table: Table | None = None) -> set[str]:
    """The figure strings of `svg` that the table neither translates into `lang` nor marks as kept."""
    table = table or load_table()
    return {s for s in figure_strings(svg) if not table.covers(s, lang)}


def font_fallback_problems(svg: str) -> list[str]:
    """Text with characters beyond Latin whose font list has no generic family to fall back on (a reader's
    browser would then have no CJK font to use for it)."""
    problems = []
    for seg in segments(svg)[1]:
        if any(ord(ch) > 0x2FFF for ch in seg.text):
            families = {f.strip().strip("'\"").lower() for f in (seg.font or "").split(",")}
            if not families & GENERIC_FAMILIES:
                problems.append(f"{seg.text.strip()!r} is set in {seg.font or 'no font-family'}, without a generic family")
    return problems


# Notebooks ------------------------------------------------------------------------------------------


def svg_outputs(nb: dict):
    """(cell number, cell id, output data dict) of every image/svg+xml output of a notebook (JSON)."""
    for i, cell in enumerate(nb.get("cells", []), start=1):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if "image/svg+xml" in out.get("data", {}):
                yield i, cell.get("id", "?"), out["data"]


def translate_notebook(path: Path, lang: str, table: Table | None = None) -> int:
    """Translate the SVG outputs of an executed notebook file in place; returns how many figures changed."""
    if lang == FIGURE_LANG:
        return 0
    table = table or load_table()
    nb = json.loads(path.read_text(encoding="utf-8"))
    changed = 0
    for i, cell_id, data in svg_outputs(nb):
        svg = data["image/svg+xml"]
        svg = "".join(svg) if isinstance(svg, list) else svg
        try:
            new = translate_svg(svg, lang, table)
        except FigureTextError as e:
            raise FigureTextError(f"{path.name}: cell {i} ({cell_id}): {e}") from e
        if new != svg:
            data["image/svg+xml"] = new
            changed += 1
    if changed:
        path.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return changed


def translate_notebooks(folder: Path, lang: str) -> int:
    """Translate the figures of every notebook in `folder` (the assembled topics of one language)."""
    return sum(translate_notebook(p, lang) for p in sorted(folder.glob("*.ipynb"))) if lang != FIGURE_LANG else 0


def built_figures(build: Path | None = None) -> dict[str, str]:
    """Every figure the last build drew, by where it is shown: the SVG outputs of the executed notebooks
    (`<topic>: cell N (id)`; code and so figures are the same in every language, the FIGURE_LANG copy is
    read) and the explorer figures in the explorer cache (`explorer <name>: <file>`)."""
    from tools.paths import BUILD

    build = build or BUILD
    found: dict[str, str] = {}
    for p in sorted((build / "executed" / FIGURE_LANG).glob("*.ipynb")):
        for i, cell_id, data in svg_outputs(json.loads(p.read_text(encoding="utf-8"))):
            svg = data["image/svg+xml"]
            found[f"{p.stem}: cell {i} ({cell_id})"] = "".join(svg) if isinstance(svg, list) else svg
    for entry in sorted((build / "explorers").glob("*/*")):  # build/explorers/<name>/<key>/, as tools/explorers.py files it
        if entry.is_dir() and (entry / ".complete").is_file():
            for svg in sorted(entry.glob("*.svg")):
                found[f"explorer {entry.parent.name}: {svg.name}"] = svg.read_text(encoding="utf-8")
    return found


def missing_strings(lang: str, figures: dict[str, str] | None = None,
                    table: Table | None = None) -> dict[str, set[str]]:
    """Per figure, the strings the table leaves untranslated in `lang` (default: every built figure)."""
    table = table or load_table()
    figures = built_figures() if figures is None else figures
    found: dict[str, set[str]] = {}
    for where, svg in figures.items():
        miss = untranslated(svg, lang, table)
        if miss:
            found[where] = miss
    return found
