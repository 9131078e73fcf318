"""The zh ↔ en glossary (glossary.yml): its page, and a lint for translated cells that miss a term."""
from __future__ import annotations

from dataclasses import dataclass

import yaml

from tools.notebooks import Notebook, all_notebooks
from tools.paths import ROOT, SOURCE_LANG


@dataclass(frozen=True)
class Term:
    zh: str
    en: str
    also: tuple[str, ...] = ()

    def found_in(self, text: str) -> bool:
        """Whether an English text uses the term or an accepted variant (plurals included)."""
        low = text.lower()
        return any(form.lower() in low for form in (self.en, *self.also))


def load(path=None) -> list[Term]:
    data = yaml.safe_load((path or ROOT / "glossary.yml").read_text(encoding="utf-8")) or []
    return [Term(e["zh"], e["en"], tuple(e.get("also", ()))) for e in data]


@dataclass
class Miss:
    notebook: Notebook
    cell: int
    term: Term

    def __str__(self) -> str:
        return f"{self.notebook.rel}: cell {self.cell} translates a cell that uses {self.term.zh}, but has no '{self.term.en}'"


def lint(notebooks: list[Notebook] | None = None, terms: list[Term] | None = None) -> list[Miss]:
    """English markdown cells whose source cell uses a glossary term they do not render."""
    notebooks = notebooks if notebooks is not None else all_notebooks()
    terms = terms if terms is not None else load()
    sources = {n.topic: n.read() for n in notebooks if n.lang == SOURCE_LANG}
    misses = []
    for nbf in notebooks:
        if nbf.lang != "en" or nbf.topic not in sources:
            continue
        for i, (a, b) in enumerate(zip(sources[nbf.topic].cells, nbf.read().cells, strict=False), start=1):
            if a.cell_type != "markdown" or b.cell_type != "markdown":
                continue
            if b.metadata.get("translation", {}).get("state") == "untranslated":
                continue
            misses += [Miss(nbf, i, t) for t in terms if t.zh in a.source and not t.found_in(b.source)]
    return misses


_TITLES = {"zh": ("术语表", "翻译时请使用下表中的译法；`make translations` 会报告漏用术语的单元。", "中文", "English", "也可写作"),
           "en": ("Glossary", "Translations use these terms; `make translations` reports cells that miss one.", "Chinese", "English", "Also accepted")}


def glossary_page(lang: str) -> str:
    title, intro, h_zh, h_en, h_also = _TITLES.get(lang, _TITLES["en"])
    rows = [f"| {t.zh} | {t.en} | {', '.join(t.also) or '—'} |" for t in load()]
    return "\n".join([f"# {title}", "", intro, "", f"| {h_zh} | {h_en} | {h_also} |", "| --- | --- | --- |", *rows]) + "\n"
