"""Translation status, per cell: translated, stale or untranslated.

Each markdown cell of a translation records which source cell it translates, as a fingerprint of the
source (zh) cell's text in its metadata: `{"translation": {"source": "<hash>"}}` (`"state": "untranslated"`
is added to cells a new-language scaffold copied from the source). A code cell that draws a figure has its
alt text translated too, and records the fingerprint of the source's alt text the same way. When the source cell changes, its
fingerprint no longer matches and the translated cell is *stale*. `mark` records the current fingerprints
once a translator has brought cells up to date.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tools.language_table import status_words
from tools.notebooks import BuildError, Notebook, all_notebooks, cell_hash, languages, topics, write_notebook
from tools.paths import NOTEBOOKS, SOURCE_LANG


@dataclass
class TopicStatus:
    topic: str
    lang: str
    cells: int = 0  # markdown cells in the source
    stale: list[int] = field(default_factory=list)  # 1-based cell numbers
    untranslated: list[int] = field(default_factory=list)
    missing: bool = False

    @property
    def translated(self) -> int:
        return 0 if self.missing else self.cells - len(self.stale) - len(self.untranslated)

    @property
    def state(self) -> str:
        if self.missing:
            return "missing"
        if self.untranslated and len(self.untranslated) == self.cells:
            return "untranslated"
        if self.stale or self.untranslated:
            return "stale" if self.stale else "partial"
        return "translated"


def translatable(cell) -> str | None:
    """The text of a cell that a translation renders in its own language: markdown, or a figure's alt text."""
    if cell.cell_type == "markdown":
        return cell.source
    return cell.metadata.get("alt") or None


def topic_status(source: Notebook, translation: Notebook | None, lang: str) -> TopicStatus:
    src = source.read()
    st = TopicStatus(source.topic, lang, cells=sum(translatable(c) is not None for c in src.cells))
    if lang == SOURCE_LANG:
        return st
    if translation is None or not translation.path.exists():
        st.missing = True
        return st
    tr = translation.read()
    for i, (a, b) in enumerate(zip(src.cells, tr.cells, strict=False), start=1):
        text = translatable(a)
        if text is None or a.cell_type != b.cell_type:
            continue
        meta = b.metadata.get("translation", {})
        if meta.get("state") == "untranslated":
            st.untranslated.append(i)
        elif meta.get("source") != cell_hash(text):
            st.stale.append(i)
    return st


def status(lang: str) -> list[TopicStatus]:
    """Status of every topic in `lang` (the source language is complete by definition)."""
    nbs = all_notebooks()
    sources = [n for n in nbs if n.lang == SOURCE_LANG]
    by_topic = {n.topic: n for n in nbs if n.lang == lang}
    return [topic_status(s, by_topic.get(s.topic), lang) for s in sources]


def percent(statuses: list[TopicStatus]) -> int:
    """Whole percent of translated cells, rounded down: 100 only when nothing is stale or missing."""
    total = sum(s.cells for s in statuses)
    return 100 * sum(s.translated for s in statuses) // total if total else 100


def translation_notebook(lang: str, topic: str) -> Notebook:
    """The translation `notebooks/<lang>/<topic>.ipynb` that `mark` may mark; a BuildError names what is wrong."""
    translations = [x for x in languages() if x != SOURCE_LANG]
    if lang == SOURCE_LANG:
        raise BuildError(f"{lang} is the source language: its cells are not translations, there is nothing to mark "
                         f"(translations: {', '.join(translations) or 'none'})")
    if lang not in translations:
        raise BuildError(f"'{lang}' is not a language of this site (translations: {', '.join(translations) or 'none'})")
    nbf = Notebook(lang, topic, NOTEBOOKS / lang / f"{topic}.ipynb")
    if topic in ("", ".", "..") or "/" in topic or "\\" in topic or not nbf.path.is_file():  # a topic name, not a path
        raise BuildError(f"{nbf.rel}: no such notebook (topics: {', '.join(topics())})")
    return nbf


def parse_cells(nbf: Notebook, raw: list[str]) -> list[int]:
    """Cell numbers as typed on the command line (1-based, as `make translations` prints them)."""
    bad = [c for c in raw if not c.strip().lstrip("-").isdigit()]
    if bad:
        raise BuildError(f"{nbf.rel}: {', '.join(repr(c) for c in bad)} is not a cell number "
                         f"(cells are numbered from 1, as `make translations` prints them)")
    return [int(c) for c in raw]


def mark(nbf: Notebook, cells: list[int] | None = None) -> list[int]:
    """Record that the translated cells of `nbf` (all, or the 1-based `cells`) are up to date with the source.

    Every requested cell is checked before anything is written: it must exist, have the source's kind at
    the same position and have something to translate (markdown, or a code cell's alt text); otherwise a
    BuildError names the file and each bad cell, and the notebook is left as it was.
    """
    src_path = nbf.path.parent.parent / SOURCE_LANG / nbf.path.name
    src = Notebook(SOURCE_LANG, nbf.topic, src_path)
    if not src_path.is_file():
        raise BuildError(f"{nbf.rel}: no source notebook {src.rel} to translate")
    source, nb, src_rel = src.read(), nbf.read(), src.rel
    problems = []
    for c in dict.fromkeys(cells or []):
        if not 1 <= c <= len(nb.cells):
            problems.append(f"{nbf.rel}: there is no cell {c} (its cells are numbered 1 to {len(nb.cells)})")
        elif c > len(source.cells):
            problems.append(f"{nbf.rel}: cell {c} has no counterpart in {src_rel}, which has {len(source.cells)} cells (run `make check`)")
        elif source.cells[c - 1].cell_type != nb.cells[c - 1].cell_type:
            problems.append(f"{nbf.rel}: cell {c} is {nb.cells[c - 1].cell_type}, but cell {c} of {src_rel} is "
                            f"{source.cells[c - 1].cell_type} (run `make check`)")
        elif translatable(source.cells[c - 1]) is None:
            problems.append(f"{nbf.rel}: cell {c} is a code cell without alt text: it has nothing to translate "
                            f"(only markdown cells and figure alt text are marked)")
    if problems:
        raise BuildError("\n".join(problems) + "\nnothing was marked")
    done = []
    for i, (a, b) in enumerate(zip(source.cells, nb.cells, strict=False), start=1):
        text = translatable(a)
        if text is not None and a.cell_type == b.cell_type and (cells is None or i in cells):
            b.metadata["translation"] = {"source": cell_hash(text)}
            done.append(i)
    write_notebook(nb, nbf.path)
    return done


def report() -> str:
    """The text `make translations` prints: per language and topic, what is done and what is not."""
    lines = []
    for lang in languages():
        sts = status(lang)
        lines.append(f"{lang}: {percent(sts)}% translated" + (" (source language)" if lang == SOURCE_LANG else ""))
        if lang == SOURCE_LANG:
            continue
        for s in sts:
            detail = ""
            if s.stale:
                detail += f"  stale cells: {', '.join(map(str, s.stale))}"
            if s.untranslated:
                detail += f"  untranslated cells: {len(s.untranslated)}"
            lines.append(f"  {s.topic:<20} {s.state:<12} {s.translated}/{s.cells} cells{detail}")
    return "\n".join(lines + figure_text_report())


def figure_text_report() -> list[str]:
    """The figure-text section of `make translations`: per language, the strings of the built figures
    (executed notebooks, explorer figures) that figure-text.yml neither translates nor keeps, and the
    table's own problems (tools/figure_text.py)."""
    from tools import figure_text

    lines = ["", "figure text (figure-text.yml):"]
    lines += [f"  {p}" for p in figure_text.table_problems()]
    if not figure_text.built_figures():
        return [*lines, "  no built figures yet: `make build` draws them"]
    for lang in languages():
        if lang == figure_text.FIGURE_LANG:
            continue
        places: dict[str, dict[str, int]] = {}  # string -> where it is drawn -> how many figures
        for where, found in figure_text.missing_strings(lang).items():
            shown = where.partition(":")[0] if where.startswith("explorer ") else where  # explorers: one line each
            for s in found:
                places.setdefault(s, {}).setdefault(shown, 0)
                places[s][shown] += 1
        lines.append(f"  {lang}: " + (f"{len(places)} figure string(s) untranslated (add them to figure-text.yml)"
                                        if places else "every figure string translated or marked untranslated"))
        for s in sorted(places):
            where = ", ".join(w + (f" ({n} figures)" if n > 1 else "") for w, n in places[s].items())
            lines.append(f"    {s!r}: {where}")
    return lines


# The status page -------------------------------------------------------------------------------------

def status_page(lang: str) -> str:
    """Markdown of the translation-status page, in `lang` (languages.yml `status`; English where it has none)."""
    w = status_words(lang)
    title, intro, (h_lang, h_done), (h_topic, h_state, h_cells, h_todo), states = (
        w["title"], w["intro"], w["languages"], w["topics"], w["states"])
    out = [f"# {title}", "", intro, "", f"| {h_lang} | {h_done} |", "| --- | ---: |"]
    for other in languages():
        out.append(f"| `{other}` | {percent(status(other))}% |")
    for other in languages():
        if other == SOURCE_LANG:
            continue
        out += ["", f"## `{other}`", "", f"| {h_topic} | {h_state} | {h_cells} | {h_todo} |", "| --- | --- | ---: | --- |"]
        for s in status(other):
            todo = ", ".join(map(str, s.stale + s.untranslated)) or "—"
            out.append(f"| [{s.topic}](topics/{s.topic}.ipynb) | {states[s.state]} | {s.translated}/{s.cells} | {todo} |")
    return "\n".join(out) + "\n"
