"""Pages written at build time from data: the translation status and the glossary."""
from __future__ import annotations

from pathlib import Path

from tools import glossary, translation


def write_all(lang: str, dst: Path) -> None:
    (dst / "translation-status.md").write_text(translation.status_page(lang), encoding="utf-8")
    (dst / "glossary.md").write_text(glossary.glossary_page(lang), encoding="utf-8")
