"""Adding and removing a language in one command.

A new language starts as a copy of the source notebooks whose markdown cells are marked untranslated: the
site builds at once, its status shows 0 %, and every page shows the source text under a notice in the
reader's language, never a 404. Translating a cell and running `mark-translated` brings it in.

Neither command loses work. `scaffold` checks every path it would write before writing anything, never
overwrites a file, and on an error half-way takes back what it wrote. `remove` refuses the source language
and the last translation, refuses a language with uncommitted or untracked files unless `--force`, and
moves the files to `build/removed/<lang>-<time>/` rather than deleting them, so even a forced removal can
be undone.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import nbformat
import yaml

from tools.notebooks import BuildError, all_notebooks, cell_hash, languages
from tools.paths import BUILD, DOCS, NOTEBOOKS, ROOT, SOURCE_LANG, config_file
from tools.translation import translatable
from tools.vcs import GitUnavailable, uncommitted

#: Native names and the untranslated-page notice for languages a contributor is likely to start; others
#: get English wording until their contributor translates `extra.strings` in mkdocs.<lang>.yml.
KNOWN = {
    "ja": ("日本語", "このページはまだ翻訳されていません。原文（中国語）を表示しています。", "原文を見る"),
    "ko": ("한국어", "이 페이지는 아직 번역되지 않았습니다. 원문(중국어)을 표시합니다.", "원문 보기"),
    "fr": ("Français", "Cette page n'est pas encore traduite ; le texte original (chinois) est affiché.", "Lire l'original"),
    "de": ("Deutsch", "Diese Seite ist noch nicht übersetzt; der Originaltext (Chinesisch) wird angezeigt.", "Original lesen"),
    "es": ("Español", "Esta página aún no está traducida; se muestra el texto original (chino).", "Leer el original"),
    "ru": ("Русский", "Эта страница ещё не переведена; показан исходный текст (на китайском).", "Читать оригинал"),
    "pt": ("Português", "Esta página ainda não foi traduzida; o texto original (chinês) é mostrado.", "Ler o original"),
}
#: Languages Material's search can stem/segment (lunr-languages); others search with the English pipeline.
SEARCH_LANGS = {"ar", "da", "de", "du", "el", "es", "fi", "fr", "he", "hi", "hu", "hy", "it", "ja", "kn", "ko",
                "no", "pt", "ro", "ru", "sa", "sv", "ta", "te", "th", "tr", "vi", "zh"}
CODE = re.compile(r"^[a-z]{2,3}$")


def _alternate_block(lang: str, name: str) -> str:
    return f"    - name: {name}\n      link: ../{lang}/\n      lang: {lang}\n"


def _switcher_entry(lang: str) -> re.Pattern:
    return re.compile(rf"    - name: [^\n]*\n      link: \.\./{re.escape(lang)}/\n      lang: {re.escape(lang)}\n")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _plan(lang: str) -> dict[Path, str]:
    """Every file `scaffold` creates, with its text, computed before anything is written."""
    name, notice, see = KNOWN.get(lang, (lang, None, None))
    files: dict[Path, str] = {}
    for nbf in [n for n in all_notebooks() if n.lang == SOURCE_LANG]:
        nb = nbf.read()
        for cell in nb.cells:
            text = translatable(cell)
            if text is not None:
                cell.metadata["translation"] = {"source": cell_hash(text), "state": "untranslated"}
        files[NOTEBOOKS / lang / nbf.path.name] = nbformat.writes(nb) + "\n"  # as write_notebook lays it out

    base = yaml.safe_load(config_file("en").read_text(encoding="utf-8").replace("INHERIT:", "inherit:"))
    strings = dict(base["extra"]["strings"])
    if notice:
        strings.update(untranslated=notice, see_source=see)
    text = config_file("en").read_text(encoding="utf-8")
    text = re.sub(r"^# The English site.*$", f"# The {name} site ({lang}), scaffolded by `make new-language`. Shared settings: mkdocs.yml.", text, flags=re.M)
    text = text.replace("build/docs/en", f"build/docs/{lang}").replace("site/en", f"site/{lang}").replace("notebooks/en", f"notebooks/{lang}").replace("docs/en", f"docs/{lang}")
    text = text.replace("build/render-cache/en", f"build/render-cache/{lang}")
    text = re.sub(r"^  language: en$", f"  language: {lang}", text, flags=re.M)
    text = re.sub(r"^    lang: \[en\]$", f"    lang: [{lang}, en]" if lang in SEARCH_LANGS else "    lang: [en]", text, flags=re.M)
    text = text.split("\nextra:\n")[0] + "\n# Words the notebook pages add; translate them here.\n" + \
        yaml.safe_dump({"extra": {"strings": strings}}, allow_unicode=True, sort_keys=False)
    files[config_file(lang)] = text

    index = (DOCS / SOURCE_LANG / "index.md").read_text(encoding="utf-8")
    files[DOCS / lang / "index.md"] = f'!!! warning ""\n    {strings["untranslated"]}\n\n{index}'
    return files


def scaffold(lang: str) -> list[str]:
    """Create notebooks/<lang>/, docs/<lang>/index.md, mkdocs.<lang>.yml and the switcher entry; returns what
    was done. Refuses, naming them, if any of those files exists already; writes all of them or none."""
    if not CODE.match(lang or ""):
        raise BuildError(f"'{lang}' is not a language code like ja or fr (usage: make new-language LANG=ja)")
    if lang == SOURCE_LANG or lang in languages():
        raise BuildError(f"{lang} exists already (notebooks/{lang}/); `make translations` shows its state")
    name = KNOWN.get(lang, (lang,))[0]
    files = _plan(lang)
    base_cfg = ROOT / "mkdocs.yml"
    cfg = base_cfg.read_text(encoding="utf-8")
    existing = [_rel(p) for p in files if p.exists() or p.is_symlink()]
    if _switcher_entry(lang).search(cfg):
        existing.append(f"mkdocs.yml (a language switcher entry for {lang})")
    if existing:
        raise BuildError(f"new-language {lang}: these exist already and would be overwritten: {', '.join(existing)}\n"
                         f"nothing was written; move them away (or `make remove-language LANG={lang}`) and run it again")

    created: list[Path] = []
    made_dirs: list[Path] = []
    try:
        for path, text in files.items():
            for d in reversed([*path.parents]):
                if d.is_relative_to(ROOT) and not d.exists():
                    d.mkdir()
                    made_dirs.append(d)
            with open(path, "x", encoding="utf-8") as f:  # "x": never overwrite, even a file made meanwhile
                created.append(path)
                f.write(text)
        base_cfg.write_text(cfg.rstrip("\n") + "\n" + _alternate_block(lang, name), encoding="utf-8")
    except BaseException as e:  # all or nothing: take back what this call wrote, then report the error
        for path in reversed(created):
            path.unlink(missing_ok=True)
        for d in reversed(made_dirs):
            try:
                d.rmdir()
            except OSError:
                pass
        if base_cfg.read_text(encoding="utf-8") != cfg:
            base_cfg.write_text(cfg, encoding="utf-8")
        if isinstance(e, OSError):
            raise BuildError(f"new-language {lang}: cannot write {e.filename or ''}: {e.strerror or e}; "
                             f"everything it had written was taken back") from None
        raise
    n = sum(1 for p in files if p.suffix == ".ipynb")
    return [
        f"notebooks/{lang}/: {n} notebooks, every markdown cell marked untranslated",
        f"{config_file(lang).name}: created from mkdocs.en.yml",
        f"docs/{lang}/index.md: the source's home page under the untranslated notice",
        f"mkdocs.yml: language switcher entry '{name}'",
        f"next: `make build`, then translate notebooks/{lang}/*.ipynb and run "
        f"`python -m tools mark-translated {lang} TOPIC` for each topic done",
    ]


def remove(lang: str, force: bool = False) -> list[str]:
    """Undo `scaffold`: the language's notebooks, pages, config and switcher entry.

    Refused for the source language and for the last translation (the site is bilingual at least), and,
    unless `force`, for a language with uncommitted or untracked files (or where git cannot tell). The files
    are moved to build/removed/<lang>-<time>/, not deleted."""
    if not CODE.match(lang or ""):
        raise BuildError(f"'{lang}' is not a language code like ja or fr (usage: make remove-language LANG=ja)")
    if lang == SOURCE_LANG:
        raise BuildError(f"{lang} is the source language: every translation is made from it, so it cannot be removed")
    translations = [x for x in languages() if x != SOURCE_LANG]
    if translations == [lang]:
        raise BuildError(f"{lang} is the only translation: the site needs at least one besides {SOURCE_LANG} "
                         f"(add another with `make new-language` first)")
    targets = [p for p in (NOTEBOOKS / lang, DOCS / lang, config_file(lang)) if p.exists() or p.is_symlink()]
    base_cfg = ROOT / "mkdocs.yml"
    cfg = base_cfg.read_text(encoding="utf-8")
    entry = _switcher_entry(lang).search(cfg)
    if not targets and not entry:
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
    backup = BUILD / "removed" / f"{lang}-{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S-%f}"
    for path in targets:
        dest = backup / _rel(path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, dest)
        done.append(f"removed {_rel(path)}{'/' if dest.is_dir() else ''}")
    if entry:
        backup.mkdir(parents=True, exist_ok=True)
        (backup / "mkdocs.yml.switcher-entry").write_text(entry[0], encoding="utf-8")
        base_cfg.write_text(cfg.replace(entry[0], "", 1), encoding="utf-8")
        done.append("mkdocs.yml: switcher entry removed")
    done.append(f"the removed files are in {_rel(backup)}/ (move them back to undo; `make clean` deletes them)")
    return done
