"""Where things live. One place, so that tests can point the tools at a temporary copy of the repo."""
from __future__ import annotations

import os
from pathlib import Path

#: The repository root (override with PYTORCH_DOCS_ROOT to work on a copy, as the benchmark does).
ROOT = Path(os.environ.get("PYTORCH_DOCS_ROOT", Path(__file__).resolve().parent.parent)).resolve()

NOTEBOOKS = ROOT / "notebooks"
SNIPPETS = ROOT / "snippets"
DOCS = ROOT / "docs"
BUILD = ROOT / "build"
SITE = ROOT / "site"
RECORDED = ROOT / "recorded"

#: The language the notes are written in; every other language translates it.
SOURCE_LANG = "zh"


def config_file(lang: str) -> Path:
    """The language's mkdocs config: mkdocs.<lang>.yml, which INHERITs the shared mkdocs.yml."""
    return ROOT / f"mkdocs.{lang}.yml"
