"""Adding and removing a language in one command.

A new language starts as a copy of the source notebooks whose markdown cells are marked untranslated: the
site builds at once, its status shows 0 %, and every page shows the source text under a notice in the
reader's language, never a 404. Translating a cell and running `mark-translated` brings it in.
"""
from __future__ import annotations

import re
import shutil

import yaml

from tools.notebooks import BuildError, all_notebooks, cell_hash, write_notebook
from tools.paths import DOCS, NOTEBOOKS, ROOT, SOURCE_LANG, config_file
from tools.translation import translatable

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


def scaffold(lang: str) -> list[str]:
    """Create notebooks/<lang>/, mkdocs.<lang>.yml and the switcher entry; returns what was done."""
    if not CODE.match(lang or ""):
        raise BuildError(f"'{lang}' is not a language code like ja or fr (usage: make new-language LANG=ja)")
    if (NOTEBOOKS / lang).exists() or config_file(lang).exists():
        raise BuildError(f"{lang} exists already (notebooks/{lang}/ or {config_file(lang).name})")
    name, notice, see = KNOWN.get(lang, (lang, None, None))
    done = []
    for nbf in [n for n in all_notebooks() if n.lang == SOURCE_LANG]:
        nb = nbf.read()
        for cell in nb.cells:
            text = translatable(cell)
            if text is not None:
                cell.metadata["translation"] = {"source": cell_hash(text), "state": "untranslated"}
        write_notebook(nb, NOTEBOOKS / lang / nbf.path.name)
    done.append(f"notebooks/{lang}/: {len(list((NOTEBOOKS / lang).glob('*.ipynb')))} notebooks, every markdown cell marked untranslated")

    base = yaml.safe_load(config_file("en").read_text(encoding="utf-8").replace("INHERIT:", "inherit:"))
    strings = dict(base["extra"]["strings"])
    if notice:
        strings.update(untranslated=notice, see_source=see)
    text = config_file("en").read_text(encoding="utf-8")
    text = re.sub(r"^# The English site.*$", f"# The {name} site ({lang}), scaffolded by `make new-language`. Shared settings: mkdocs.yml.", text, flags=re.M)
    text = text.replace("build/docs/en", f"build/docs/{lang}").replace("site/en", f"site/{lang}").replace("notebooks/en", f"notebooks/{lang}").replace("docs/en", f"docs/{lang}")
    text = re.sub(r"^  language: en$", f"  language: {lang}", text, flags=re.M)
    text = re.sub(r"^    lang: \[en\]$", f"    lang: [{lang}, en]" if lang in SEARCH_LANGS else "    lang: [en]", text, flags=re.M)
    text = text.split("\nextra:\n")[0] + "\n# Words the notebook pages add; translate them here.\n" + \
        yaml.safe_dump({"extra": {"strings": strings}}, allow_unicode=True, sort_keys=False)
    config_file(lang).write_text(text, encoding="utf-8")
    done.append(f"{config_file(lang).name}: created from mkdocs.en.yml")

    (DOCS / lang).mkdir(parents=True, exist_ok=True)
    index = (DOCS / SOURCE_LANG / "index.md").read_text(encoding="utf-8")
    (DOCS / lang / "index.md").write_text(f'!!! warning ""\n    {strings["untranslated"]}\n\n{index}', encoding="utf-8")
    done.append(f"docs/{lang}/index.md: the source's home page under the untranslated notice")

    base_cfg = ROOT / "mkdocs.yml"
    cfg = base_cfg.read_text(encoding="utf-8")
    base_cfg.write_text(cfg.rstrip("\n") + "\n" + _alternate_block(lang, name), encoding="utf-8")
    done.append(f"mkdocs.yml: language switcher entry '{name}'")
    done.append(f"next: `make build`, then translate notebooks/{lang}/*.ipynb and run "
                f"`python -m tools mark-translated {lang} TOPIC` for each topic done")
    return done


def remove(lang: str) -> list[str]:
    """Undo `scaffold`: the language's notebooks, pages, config and switcher entry."""
    if lang == SOURCE_LANG or not CODE.match(lang or ""):
        raise BuildError(f"cannot remove '{lang}'")
    done = []
    for path in (NOTEBOOKS / lang, DOCS / lang):
        if path.exists():
            shutil.rmtree(path)
            done.append(f"removed {path.relative_to(ROOT)}/")
    if config_file(lang).exists():
        config_file(lang).unlink()
        done.append(f"removed {config_file(lang).name}")
    base_cfg = ROOT / "mkdocs.yml"
    cfg = base_cfg.read_text(encoding="utf-8")
    block = re.compile(rf"    - name: [^\n]*\n      link: \.\./{lang}/\n      lang: {lang}\n")
    if block.search(cfg):
        base_cfg.write_text(block.sub("", cfg), encoding="utf-8")
        done.append("mkdocs.yml: switcher entry removed")
    return done or [f"{lang}: nothing to remove"]
