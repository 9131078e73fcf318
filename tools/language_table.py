"""languages.yml, the one table of what differs between the site's languages, and what is made from it.

Why one table: a language's words used to live in three places (mkdocs.<lang>.yml, the scaffolding code,
the status page's code), and a new UI string meant editing each language's config by hand. Now every
per-language word, the switcher's label, the hreflang tag and the navigation's section titles are entries
in languages.yml; `mkdocs.<lang>.yml` and the switcher list in mkdocs.yml are *generated* from it
(`python -m tools languages`), and `make check` fails while a generated file differs from what the table
says. Python code reads the table directly: `ui_string(lang, key)`, `hreflang(lang)`, `status_words(lang)`.

The table is read with PyYAML (fast, plain data); it is *written* only by `tools.languages` (new-language,
remove-language) through ruamel.yaml's round-trip mode, which keeps its comments and layout.
"""
from __future__ import annotations

import functools
import io
import json
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML

from tools.paths import ROOT, SOURCE_LANG, config_file

TABLE = ROOT / "languages.yml"
BASE_CONFIG = ROOT / "mkdocs.yml"
#: A translation's missing strings, and a language with no status words, fall back to this language.
FALLBACK = "en"
#: Languages Material's search can stem/segment (lunr-languages); others search with the English pipeline.
SEARCH_LANGS = {"ar", "da", "de", "du", "el", "es", "fi", "fr", "he", "hi", "hu", "hy", "it", "ja", "kn", "ko",
                "no", "pt", "ro", "ru", "sa", "sv", "ta", "te", "th", "tr", "vi", "zh"}
GENERATED_HEADER = "# GENERATED from languages.yml by `python -m tools languages`: edit languages.yml (or mkdocs.yml), not this file.\n"


class TableError(LookupError):
    """languages.yml lacks what was asked for (a language, a key): the message names the file and the key."""


def round_trip() -> YAML:
    """ruamel.yaml set up to write languages.yml and mkdocs.yml back byte for byte where nothing changed
    (their indentation: mappings 2, sequences 4 with the dash at 2; quotes kept; no line folding)."""
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def dumps(y: YAML, data: Any) -> str:
    out = io.StringIO()
    y.dump(data, out)
    return out.getvalue()


@functools.lru_cache(maxsize=4)
def _load(path: Path, mtime_ns: int, size: int) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("languages"), dict) or not isinstance(data.get("nav"), list):
        raise TableError(f"{path.name}: expected a mapping with `nav` (a list) and `languages` (a mapping)")
    return data


def table(path: Path | None = None) -> dict:
    """languages.yml as plain data (re-read when the file changes: a long-running server sees edits)."""
    path = path or TABLE
    st = path.stat()
    return _load(path, st.st_mtime_ns, st.st_size)


def entry(lang: str, data: dict | None = None) -> dict:
    """The table's entry for `lang`."""
    langs = (data or table())["languages"]
    if lang not in langs:
        raise TableError(f"languages.yml: no entry for '{lang}' (it has {', '.join(langs)}); `make new-language LANG={lang}` adds one")
    return langs[lang]


def site_languages(data: dict | None = None) -> list[str]:
    """The languages in the table's order (the switcher's order), the source language first."""
    return list((data or table())["languages"])


def ui_string(lang: str, key: str) -> str:
    """A word the pages add, in `lang` (languages.yml `strings`), e.g. ui_string("zh", "solution") == "解答".
    A key the language lacks falls back to English; a key no language has is a TableError naming it."""
    data = table()
    for candidate in (lang, FALLBACK):
        strings = data["languages"].get(candidate, {}).get("strings", {})
        if key in strings:
            return str(strings[key])
    raise TableError(f"languages.yml: no string '{key}' for '{lang}' (nor for {FALLBACK}); add it under languages.{FALLBACK}.strings")


def hreflang(lang: str) -> str:
    """The BCP 47 tag of a site language for <html lang> and hreflang (languages.yml `hreflang`, else the code)."""
    return str(table()["languages"].get(lang, {}).get("hreflang", lang))


def og_locale(lang: str) -> str:
    """Open Graph's language_TERRITORY for a site language (languages.yml `og_locale`, else the code)."""
    return str(table()["languages"].get(lang, {}).get("og_locale", lang))


def status_words(lang: str) -> dict:
    """The translation-status page's words in `lang` (languages.yml `status`), English where it has none."""
    langs = table()["languages"]
    return langs.get(lang, {}).get("status") or langs[FALLBACK]["status"]


# Generated configs -----------------------------------------------------------------------------------------

def _q(value: Any) -> str:
    """A YAML scalar: strings double-quoted (JSON's quoting is valid YAML), so no word is read as a number,
    a boolean or a comment."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else json.dumps(value)


def _shared_palette() -> list:
    """mkdocs.yml's `theme.palette` (each language repeats it with its own toggle labels: INHERIT replaces
    a list as a whole rather than merging it)."""
    base = round_trip().load(BASE_CONFIG.read_text(encoding="utf-8"))
    return base["theme"]["palette"]


def render_config(lang: str, data: dict | None = None) -> str:
    """The text of mkdocs.<lang>.yml for `lang`, from the table and mkdocs.yml's palette."""
    data = data or table()
    e = entry(lang, data)
    role = "the source language" if lang == SOURCE_LANG else f"a translation of {SOURCE_LANG}"
    out = [GENERATED_HEADER.rstrip("\n"),
           f"# The {e['name']} site ({lang}, {role}). Shared settings: mkdocs.yml.",
           "INHERIT: mkdocs.yml",
           f"site_name: {_q(e['site_name'])}",
           f"site_description: {_q(e['site_description'])}",
           f"docs_dir: build/docs/{lang}          # assembled by `make build` from docs/{lang} and notebooks/{lang}",
           f"site_dir: site/{lang}",
           "",
           "theme:",
           f"  language: {lang}",
           "  palette:                          # mkdocs.yml's palette with this language's toggle labels"]
    labels = list(e.get("palette") or [])
    for i, scheme in enumerate(_shared_palette()):
        out.append(f"    - media: {_q(scheme['media'])}")
        out += [f"      {k}: {_q(scheme[k])}" for k in scheme if k not in ("media", "toggle")]
        toggle = scheme.get("toggle")
        if toggle is not None:
            name = labels[i] if i < len(labels) else toggle["name"]
            out += ["      toggle:", f"        icon: {_q(toggle['icon'])}", f"        name: {_q(name)}"]
    out += ["",
            "plugins:",
            "  mkdocs-jupyter:",
            f"    cache_dir: build/render-cache/{lang}   # one per language: each build evicts entries it did not use",
            "  search:",
            f"    lang: [{', '.join(e.get('search') or [FALLBACK])}]",
            "",
            "nav:"]
    titles = e.get("nav") or {}
    for section in data["nav"]:
        (key, pages), = section.items()
        title = titles.get(key, key)
        if isinstance(pages, str):
            out.append(f"  - {_q(title)}: {pages}")
        else:
            out.append(f"  - {_q(title)}:")
            out += [f"      - {p}" for p in pages]
    out += ["", "extra:", "  # Words the pages add (tools/site_hooks.py, overrides/partials/*.html): languages.yml `strings`",
            "  strings:"]
    out += [f"    {k}: {_q(v)}" for k, v in (e.get("strings") or {}).items()]
    return "\n".join(out) + "\n"


def switcher(data: dict | None = None) -> list[dict]:
    """mkdocs.yml's `extra.alternate`: one entry per language of the table, in its order."""
    data = data or table()
    return [{"name": entry(lang, data)["name"], "link": f"../{lang}/", "lang": lang} for lang in site_languages(data)]


def render_base_config(data: dict | None = None) -> str:
    """mkdocs.yml with its `extra.alternate` made from the table, everything else (comments too) as it is."""
    y = round_trip()
    base = y.load(BASE_CONFIG.read_text(encoding="utf-8"))
    want = switcher(data)
    have = base["extra"]["alternate"]
    if [dict(a) for a in have] != want:
        del have[:]
        have.extend(want)
    return dumps(y, base)


def generated_files(data: dict | None = None) -> dict[Path, str]:
    """Every file made from the table, with the text it should have."""
    data = data or table()
    files = {config_file(lang): render_config(lang, data) for lang in site_languages(data)}
    files[BASE_CONFIG] = render_base_config(data)
    return files


def stale_generated() -> list[str]:
    """A problem per generated file that differs from what languages.yml says (for `check`)."""
    problems = []
    try:
        files = generated_files()
    except (TableError, KeyError, OSError) as e:
        return [f"languages.yml: {e}"]
    for path, text in files.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            problems.append(f"{path.relative_to(ROOT).as_posix()}: differs from languages.yml; run `python -m tools languages` "
                            f"(it is generated: edit languages.yml instead)")
    return problems


def write_generated() -> list[str]:
    """Rewrite every generated file that differs from the table; returns the files written."""
    written = []
    for path, text in generated_files().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path.relative_to(ROOT).as_posix())
    return written
