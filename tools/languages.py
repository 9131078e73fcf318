"""Adding and removing a language in one command.

A new language starts as a copy of the source notebooks whose markdown cells are marked untranslated: the
site builds at once, its status shows 0 %, and every page shows the source text under a notice in the
reader's language, never a 404. Translating a cell and running `mark-translated` brings it in.

A language's words live in languages.yml (see `tools.language_table`); `scaffold` adds its entry there with
ruamel.yaml's round-trip editor (the file keeps its comments and layout) and generates mkdocs.<lang>.yml and
the switcher entry from it; `remove` takes them out the same way.

Neither command loses work. `scaffold` checks every path it would write before writing anything, never
overwrites a file, and on an error half-way takes back what it wrote. `remove` refuses the source language
and the last translation, refuses a language with uncommitted or untracked files unless `--force`, and
moves the files to `build/removed/<lang>-<time>/` rather than deleting them, so even a forced removal can
be undone.
"""
from __future__ import annotations

import contextlib
import copy
import datetime as dt
import re
import shutil
from pathlib import Path
from typing import Any

import nbformat

from tools.language_table import (
    BASE_CONFIG,
    SEARCH_LANGS,
    TABLE,
    dumps,
    hreflang,
    og_locale,
    render_base_config,
    render_config,
    round_trip,
    site_languages,
    table,
    ui_string,
    write_generated,
)
from tools.notebooks import BuildError, all_notebooks, cell_hash, languages
from tools.paths import BUILD, DOCS, NOTEBOOKS, ROOT, SOURCE_LANG, config_file
from tools.translation import translatable
from tools.vcs import GitUnavailable, uncommitted

__all__ = ["hreflang", "og_locale", "regenerate", "remove", "scaffold", "ui_string"]

CODE = re.compile(r"^[a-z]{2,3}$")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def regenerate() -> list[str]:
    """`python -m tools languages`: rewrite mkdocs.<lang>.yml and mkdocs.yml's switcher from languages.yml."""
    written = write_generated()
    return [f"wrote {w}" for w in written] or ["every generated config matches languages.yml"]


def _new_entry(lang: str, doc: Any) -> Any:
    """The table entry a new language starts with (a round-trip node, so it is written in the table's own
    layout): a copy of English's words, to translate, with the starter's name and notice where languages.yml
    has a starter for it."""
    starter = (doc.get("starters") or {}).get(lang, {})
    e = copy.deepcopy(doc["languages"]["en"])
    e["name"] = starter.get("name", lang)
    e["hreflang"] = lang
    e["og_locale"] = starter.get("og_locale", lang)
    e["search"][:] = [lang, "en"] if lang in SEARCH_LANGS else ["en"]
    for key in ("untranslated", "see_source"):
        if key in starter:
            e["strings"][key] = starter[key]
    return e


def _plan(lang: str) -> tuple[dict[Path, str], str, str]:
    """Every file `scaffold` creates, with its text, and the new texts of languages.yml and mkdocs.yml, all
    computed before anything is written."""
    files: dict[Path, str] = {}
    for nbf in [n for n in all_notebooks() if n.lang == SOURCE_LANG]:
        nb = nbf.read()
        for cell in nb.cells:
            text = translatable(cell)
            if text is not None:
                cell.metadata["translation"] = {"source": cell_hash(text), "state": "untranslated"}
        files[NOTEBOOKS / lang / nbf.path.name] = nbformat.writes(nb) + "\n"  # as write_notebook lays it out

    y = round_trip()
    doc = y.load(TABLE.read_text(encoding="utf-8"))
    entry = _new_entry(lang, doc)
    doc["languages"][lang] = entry
    data = copy.deepcopy(table())
    data["languages"][lang] = entry
    files[config_file(lang)] = render_config(lang, data)
    index = (DOCS / SOURCE_LANG / "index.md").read_text(encoding="utf-8")
    files[DOCS / lang / "index.md"] = f'!!! warning ""\n    {entry["strings"]["untranslated"]}\n\n{index}'
    return files, dumps(y, doc), render_base_config(data)


def _edited_configs() -> dict[Path, str]:
    """languages.yml and mkdocs.yml as they are now: what `scaffold` restores if it fails half-way."""
    return {p: p.read_text(encoding="utf-8") for p in (TABLE, BASE_CONFIG)}


def scaffold(lang: str) -> list[str]:
    """Create notebooks/<lang>/, docs/<lang>/index.md and mkdocs.<lang>.yml, and add the language to
    languages.yml and the switcher; returns what was done. Refuses, naming them, if any of those exists
    already; writes all of them or none."""
    if not CODE.match(lang or ""):
        raise BuildError(f"'{lang}' is not a language code like ja or fr (usage: make new-language LANG=ja)")
    if lang == SOURCE_LANG or lang in languages():
        raise BuildError(f"{lang} exists already (notebooks/{lang}/); `make translations` shows its state")
    existing: list[str] = []
    if lang in site_languages():
        existing.append(f"languages.yml (an entry for {lang})")
    files, table_text, base_text = _plan(lang)
    existing += [_rel(p) for p in files if p.exists() or p.is_symlink()]
    if existing:
        raise BuildError(f"new-language {lang}: these exist already and would be overwritten: {', '.join(existing)}\n"
                         f"nothing was written; move them away (or `make remove-language LANG={lang}`) and run it again")

    before = _edited_configs()
    created: list[Path] = []
    made_dirs: list[Path] = []
    try:
        for path, text in files.items():
            for d in reversed([*path.parents]):
                if d.is_relative_to(ROOT) and not d.exists():
                    d.mkdir()
                    made_dirs.append(d)
            with path.open("x", encoding="utf-8") as f:  # "x": never overwrite, even a file made meanwhile
                created.append(path)
                f.write(text)
        TABLE.write_text(table_text, encoding="utf-8")
        BASE_CONFIG.write_text(base_text, encoding="utf-8")
    except BaseException as e:  # all or nothing: take back what this call wrote, then report the error
        for path in reversed(created):
            path.unlink(missing_ok=True)
        for d in reversed(made_dirs):
            with contextlib.suppress(OSError):
                d.rmdir()
        for path, text in before.items():
            if path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
        if isinstance(e, OSError):
            raise BuildError(f"new-language {lang}: cannot write {e.filename or ''}: {e.strerror or e}; "
                             f"everything it had written was taken back") from None
        raise
    n = sum(1 for p in files if p.suffix == ".ipynb")
    name = table()["languages"][lang]["name"]
    return [
        f"notebooks/{lang}/: {n} notebooks, every markdown cell marked untranslated",
        f"languages.yml: an entry for {lang} ('{name}'), its words in English where no starter has them: translate them there",
        f"{config_file(lang).name}: generated from languages.yml",
        f"docs/{lang}/index.md: the source's home page under the untranslated notice",
        f"mkdocs.yml: language switcher entry '{name}'",
        (f"next: `make build`, then translate notebooks/{lang}/*.ipynb and run "
         f"`python -m tools mark-translated {lang} TOPIC` for each topic done"),
    ]


def remove(lang: str, force: bool = False) -> list[str]:
    """Undo `scaffold`: the language's notebooks, pages, config, languages.yml entry and switcher entry.

    Refused for the source language and for the last translation (the site is bilingual at least), and,
    unless `force`, for a language with uncommitted or untracked files (or where git cannot tell). The files
    (and the table entry, as YAML) are moved to build/removed/<lang>-<time>/, not deleted."""
    if not CODE.match(lang or ""):
        raise BuildError(f"'{lang}' is not a language code like ja or fr (usage: make remove-language LANG=ja)")
    if lang == SOURCE_LANG:
        raise BuildError(f"{lang} is the source language: every translation is made from it, so it cannot be removed")
    translations = [x for x in languages() if x != SOURCE_LANG]
    if translations == [lang]:
        raise BuildError(f"{lang} is the only translation: the site needs at least one besides {SOURCE_LANG} "
                         f"(add another with `make new-language` first)")
    targets = [p for p in (NOTEBOOKS / lang, DOCS / lang, config_file(lang)) if p.exists() or p.is_symlink()]
    in_table = lang in site_languages()
    if not targets and not in_table:
        return [f"{lang}: nothing to remove"]

    if not force:
        try:
            dirty = uncommitted([_rel(p) for p in targets])
        except GitUnavailable as e:
            raise BuildError(f"remove-language {lang}: cannot tell whether {', '.join(_rel(p) for p in targets)} hold uncommitted "
                             f"work ({e}); re-run with --force (make remove-language LANG={lang} FORCE=1): the files are "
                             f"moved to build/removed/, not deleted") from None
        if dirty:
            raise BuildError(f"remove-language {lang}: these files have work that is not committed:\n  " + "\n  ".join(dirty) +
                             f"\ncommit them first, or re-run with --force (make remove-language LANG={lang} FORCE=1): "
                             f"the files are moved to build/removed/, not deleted")

    done = []
    backup = BUILD / "removed" / f"{lang}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S-%f}"
    for path in targets:
        dest = backup / _rel(path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, dest)
        done.append(f"removed {_rel(path)}{'/' if dest.is_dir() else ''}")
    if in_table:
        backup.mkdir(parents=True, exist_ok=True)
        y = round_trip()
        doc = y.load(TABLE.read_text(encoding="utf-8"))
        (backup / "languages.yml.entry").write_text(dumps(y, {lang: doc["languages"][lang]}), encoding="utf-8")
        base = y.load(BASE_CONFIG.read_text(encoding="utf-8"))
        switch = [a for a in base["extra"]["alternate"] if a.get("lang") == lang]
        (backup / "mkdocs.yml.switcher-entry").write_text(dumps(y, switch), encoding="utf-8")
        del doc["languages"][lang]
        data = copy.deepcopy(table())
        del data["languages"][lang]
        base_text = render_base_config(data)
        TABLE.write_text(dumps(y, doc), encoding="utf-8")
        BASE_CONFIG.write_text(base_text, encoding="utf-8")
        done.append("languages.yml: entry removed; mkdocs.yml: switcher entry removed")
    done.append(f"the removed files are in {_rel(backup)}/ (move them back to undo; `make clean` deletes them)")
    return done
