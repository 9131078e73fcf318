"""Assemble each language's docs tree in build/ and render it with mkdocs into site/<lang>/.

The build tree (`build/docs/<lang>/`) is made of `docs/<lang>/` (hand-written pages), `docs/assets/`
(self-hosted KaTeX, CSS, JS), the executed notebooks from `build/executed/<lang>/` as `topics/<topic>.ipynb`,
and the generated pages (translation status, glossary). All languages render in one process, so jieba and
the templates load once.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from pathlib import Path

from tools import generated_pages
from tools.notebooks import BuildError, languages
from tools.paths import BUILD, DOCS, ROOT, SITE, SOURCE_LANG, config_file

DOCS_TREE = BUILD / "docs"


def assemble(lang: str, executed: Path) -> Path:
    """Lay out build/docs/<lang>/ from its parts; returns the folder."""
    dst = DOCS_TREE / lang
    if dst.exists():
        shutil.rmtree(dst)
    pages = DOCS / lang if (DOCS / lang).is_dir() else DOCS / SOURCE_LANG  # a new language starts from zh's pages
    shutil.copytree(pages, dst)
    shutil.copytree(DOCS / "assets", dst / "assets")
    (dst / "topics").mkdir(exist_ok=True)
    for nb in sorted((executed / lang).glob("*.ipynb")):
        shutil.copy2(nb, dst / "topics" / nb.name)
    generated_pages.write_all(lang, dst)
    return dst


class _FailOnWarning(logging.Handler):
    """mkdocs' --strict, in-process: remember every warning so the build can fail naming them all."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def render(lang: str) -> float:
    """Render one language with mkdocs (strict); returns the seconds it took."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    t0 = time.perf_counter()
    handler = _FailOnWarning()
    log = logging.getLogger("mkdocs")
    log.addHandler(handler)
    os.chdir(ROOT)  # mkdocs-jupyter's render cache_dir is relative to the working directory
    try:
        config = load_config(str(config_file(lang)))
        build(config)
    except Exception as e:  # mkdocs logs the cause, then raises Abort / ConfigurationError
        logged = "".join(f"\n  {m}" for m in handler.messages)
        raise BuildError(f"{config_file(lang).name}: mkdocs build failed: {e}{logged}") from e
    finally:
        log.removeHandler(handler)
    if handler.messages:
        raise BuildError(f"{config_file(lang).name}: mkdocs reported warnings (strict):\n  " + "\n  ".join(handler.messages))
    return time.perf_counter() - t0


ROOT_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>PyTorch Docs Notes · PyTorch 文档笔记</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script>
  // Pick the reader's language when we have it, else the source language.
  var langs = {langs};
  var want = (navigator.languages || [navigator.language || ""]).map(function (l) {{ return l.slice(0, 2).toLowerCase(); }});
  var lang = want.find(function (l) {{ return langs.indexOf(l) >= 0; }}) || langs[0];
  location.replace(lang + "/");
</script>
<meta http-equiv="refresh" content="2; url={first}/">
</head>
<body>
<ul>{links}</ul>
</body>
</html>
"""


def write_root(langs: list[str]) -> None:
    """site/index.html: a redirect to the reader's language, with plain links for no-script readers."""
    links = "".join(f'<li><a href="{lang}/" hreflang="{lang}">{lang}</a></li>' for lang in langs)
    SITE.mkdir(exist_ok=True)
    (SITE / "index.html").write_text(ROOT_PAGE.format(langs=repr(langs).replace("'", '"'), first=langs[0], links=links), encoding="utf-8")


def inputs_fingerprint(lang: str) -> str:
    """Everything a language's render depends on: its assembled tree, the configs, theme overrides, hooks
    and the environment variables the configs read. Equal fingerprint, equal site: the render is skipped."""
    h = hashlib.sha256()
    files = [*sorted((DOCS_TREE / lang).rglob("*")), ROOT / "mkdocs.yml", config_file(lang), ROOT / "requirements.txt",
             *sorted((ROOT / "overrides").rglob("*")), *sorted((ROOT / "tools").glob("*.py"))]
    for f in files:
        if f.is_file():
            h.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    for var in ("SITE_URL", "REPO_URL", "REPO_EDIT_URI"):
        h.update(f"{var}={os.environ.get(var, '')}".encode())
    return h.hexdigest()


def build_all(executed: Path) -> dict[str, float | None]:
    """Assemble and render every language; returns seconds per language (None: unchanged, not rendered)."""
    langs = languages()
    timings: dict[str, float | None] = {}
    for lang in langs:
        if not config_file(lang).exists():
            raise BuildError(f"notebooks/{lang}/ exists but {config_file(lang).name} does not (run `make new-language LANG={lang}`)")
        assemble(lang, executed)
        stamp = BUILD / f"rendered-{lang}.sha256"
        fingerprint = inputs_fingerprint(lang)
        if stamp.exists() and stamp.read_text() == fingerprint and (SITE / lang / "index.html").exists():
            timings[lang] = None
            continue
        stamp.unlink(missing_ok=True)
        timings[lang] = render(lang)
        stamp.write_text(fingerprint)
    for stale in set(p.name for p in SITE.iterdir() if p.is_dir()) - set(langs) if SITE.exists() else ():
        shutil.rmtree(SITE / stale)  # a removed language leaves no pages behind
    write_root(langs)
    return timings
