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

#: Debian's chromium, which the browser tests and the page benchmark drive through playwright (no browser
#: download: `npx playwright install` cannot work offline), and the flags that keep it from calling home.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

#: The language the notes are written in; every other language translates it.
SOURCE_LANG = "zh"


def config_file(lang: str) -> Path:
    """The language's mkdocs config: mkdocs.<lang>.yml, which INHERITs the shared mkdocs.yml."""
    return ROOT / f"mkdocs.{lang}.yml"
