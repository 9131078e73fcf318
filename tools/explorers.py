"""Explorers: page figures whose parameters the reader changes, every variant computed at build time.

Torch does not run in a browser, so a figure can only be interactive if the build has already made every
picture the reader may ask for. An explorer is a generator script, `explorers/<name>.py`, that really runs
each combination of its controls and writes `variants.json` plus one SVG per combination (the contract:
README "Explorers"). This module

- **runs** each generator in the notebook sandbox (`tools.sandbox`: bubblewrap, no network, the repository
  not mounted, the memory and time limits of a notebook; `SANDBOX=off` runs it bare, as for notebooks), in
  an empty working folder, and **caches** the result under `build/explorers/<name>/<key>/`, keyed by the
  script's text and the torch version (like the execution cache: an unchanged generator never runs again);
- **validates** what it wrote against the contract before anything reaches a page: every combination of
  control values exactly once, figures that exist, pass the SVG allowlist (`tools.sanitize.check_svg_bytes`)
  and stay under 30 KB, plain-text labels and alt text in every language, the page cell it follows; every
  problem is named with the generator's file and the key (`variants[12].alt.zh`), and all of them at once;
- **publishes** each language's copy into the assembled docs tree (`build/docs/<lang>/explorers/<name>/`,
  figure text translated by `tools.figure_text.translate_svg` where that module exists) with a small
  `variants.<lang>.json` (params → figure and alt only: the client needs no recorded data), so that the
  render's fingerprint sees them and mkdocs copies them into the site;
- **mounts** the explorer on its page (`mount`, a site transform in `tools/site_hooks.py`): native, labelled
  form controls, the default variant's figure (what a reader without JavaScript sees), a live caption, and
  `assets/explorers.js` (from overrides/, where the project's trusted files live: docs/ is contributed),
  which fetches the JSON on the reader's first interaction and swaps src and alt.

Generators may be given `--only '<params as JSON>'` by tests, to recompute one variant; the build never does.
"""
from __future__ import annotations

import hashlib
import html
import importlib
import importlib.metadata
import itertools
import json
import os
import posixpath
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.notebooks import BuildError, languages
from tools.paths import BUILD, NOTEBOOKS, ROOT, SOURCE_LANG
from tools.sandbox import Sandbox, kernel_env, sandbox

EXPLORERS = ROOT / "explorers"
CACHE = BUILD / "explorers"
#: Where a language's copy lives, in its docs tree and so in its site: <lang>/explorers/<name>/.
SITE_FOLDER = "explorers"
#: What `mount` reads in the docs tree (a dot-file: mkdocs does not publish it).
MANIFEST = ".explorers.json"
SCRIPT = "assets/explorers.js"  # overrides/assets/explorers.js: trusted files only (docs/ is contributed)

KINDS = ("select", "radio", "checkbox", "range")
MAX_FIGURE_BYTES = 30 * 1024
MAX_SPEC_BYTES = 4 * 1024 * 1024
MAX_VARIANTS = 512
MAX_TEXT = 2000
#: Bumped when the cached layout or the validation changes in a way that must re-run the generators.
CACHE_VERSION = "1"

_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_PARAM = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_VALUE = re.compile(r"[A-Za-z0-9_.+-]{1,40}")
_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,119}\.svg")
_CELL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

#: Runs the generator inside the sandbox: into its output folder, then the script as __main__.
_RUNNER = ("import os, runpy, sys; os.chdir(sys.argv[1]); sys.argv = sys.argv[2:]; "
           "runpy.run_path(sys.argv[0], run_name='__main__')")


class ExplorerError(BuildError):
    """A generator that failed, or wrote something that breaks the contract; the message names the file."""


# --------------------------------------------------------------------------------------------- discovery

def discover(folder: Path | None = None) -> list[Path]:
    """The generators, `explorers/<name>.py`, in name order. A file whose name cannot be an explorer's (it
    becomes a folder of the site and a data attribute) is an error, not silently skipped."""
    folder = EXPLORERS if folder is None else folder
    if not folder.is_dir():
        return []
    found = sorted(p for p in folder.iterdir() if p.suffix == ".py")
    bad = [p.name for p in found if not _NAME.fullmatch(p.stem) or p.is_symlink()]
    if bad:
        raise ExplorerError(f"{_rel(folder)}: {', '.join(bad)}: an explorer is a regular file named "
                            "lowercase-with-hyphens.py")
    return found


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def torch_version() -> str:
    """The torch the generators run on (the build's own environment), without importing it."""
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return "none"


def cache_key(script_text: bytes, torch: str | None = None) -> str:
    """What a generator's output depends on: its text and the torch version (and this module's layout)."""
    h = hashlib.sha256(b"explorer-cache-" + CACHE_VERSION.encode() + b"\0" + (torch or torch_version()).encode()
                       + b"\0" + script_text)
    return h.hexdigest()[:20]


# ------------------------------------------------------------------------------------------------ running

def run_generator(script: Path, out: Path, args: tuple[str, ...] = (), box: Sandbox | None = None) -> float:
    """Run `script` with `out` (an empty folder) as its working folder, in the notebook sandbox; returns the
    seconds it took. A generator that fails, or runs past the notebook time limit, raises ExplorerError
    with the end of what it printed."""
    box = box or sandbox()
    display = _rel(script)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise ExplorerError(f"{display}: the output folder {out} is not empty")
    work = Path(tempfile.mkdtemp(prefix="explorer-"))
    home = Path(tempfile.mkdtemp(prefix="explorer-home-")) if not box.enabled else None
    try:
        staged = work / "generator.py"  # the repository is not mounted in the sandbox: a read-only copy is
        shutil.copyfile(script, staged)
        staged.chmod(0o444)
        dest = work / "out"
        dest.mkdir()
        cmd = [sys.executable, "-c", _RUNNER, str(dest), str(staged), *args]
        if box.enabled:
            cmd, env, cwd = box.wrap(cmd, writable=work, readonly_files=(staged,)), {"PATH": os.environ.get("PATH", "")}, work
        else:
            cmd, env, cwd = box.wrap(cmd, writable=work), kernel_env(str(home), str(dest)), dest
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        try:
            said, _ = proc.communicate(timeout=box.limits.notebook_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the generator and every process it started (DataLoader workers)
            proc.communicate()
            raise ExplorerError(f"{display}: exceeded the {box.limits.notebook_s} s limit (SANDBOX_TIME_S raises it)") from None
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        seconds = time.monotonic() - t0
        if proc.returncode != 0:
            tail = (said or "").strip()[-3000:]
            raise ExplorerError(f"{display} failed (exit status {proc.returncode}):\n{tail}")
        for entry in dest.iterdir():  # moved out by the build; links and folders are refused by validate()
            if entry.is_symlink() or not entry.is_file():
                raise ExplorerError(f"{display}: wrote {entry.name!r}, which is not a plain file")
            shutil.copyfile(entry, out / entry.name)
        return seconds
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)


@dataclass
class Explorer:
    """A validated generator output: its spec (variants.json) and the folder holding its figures."""

    name: str
    script: Path
    folder: Path
    spec: dict

    @property
    def display(self) -> str:
        return _rel(self.script)


def generate(script: Path, box: Sandbox | None = None, cache: Path | None = None, log=print) -> Explorer:
    """The generator's output from the cache, or from a fresh run (which is then cached); validated either
    way (the notebooks it points into may have changed since)."""
    cache = CACHE if cache is None else cache
    name, display = script.stem, _rel(script)
    key = cache_key(script.read_bytes())
    folder = cache / name / key
    if not (folder / ".complete").is_file():
        tmp = cache / name / f".tmp-{key}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        seconds = run_generator(script, tmp, box=box)
        spec = validate(tmp, name, display)  # nothing invalid is ever filed
        (tmp / ".complete").write_text(f"{len(spec['variants'])} variants\n")
        for old in (cache / name).iterdir():  # one entry per explorer: the current one (runs in flight stay)
            if old != tmp and not old.name.startswith(".tmp-"):
                shutil.rmtree(old, ignore_errors=True)
        try:
            tmp.replace(folder)  # atomic: a reader sees no entry or a whole one (.complete inside)
        except OSError:
            if not (folder / ".complete").is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another build filed the same key meanwhile: same output
        log(f"explorer {name} … generated {len(spec['variants'])} variants in {seconds:.1f} s")
    else:
        log(f"explorer {name} … cached (generator and torch unchanged)")
    return Explorer(name, script, folder, validate(folder, name, display))


# --------------------------------------------------------------------------------------------- validation

def _texts(value: Any, where: str, langs: list[str], problems: list[str], limit: int = MAX_TEXT) -> None:
    """A {lang: plain text} object: the required languages present, each non-empty plain text."""
    from tools.sanitize import plain_text_problem

    if not isinstance(value, dict) or not value:
        problems.append(f"{where}: expected an object {{\"{langs[0]}\": \"…\", …}} with one text per language")
        return
    for lang in langs:
        if lang not in value:
            problems.append(f"{where}: missing {lang!r}")
    for lang, text in value.items():
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}.{lang}: expected non-empty text")
        elif len(text) > limit:
            problems.append(f"{where}.{lang}: {len(text)} characters (at most {limit})")
        elif (why := plain_text_problem(text)) is not None:
            problems.append(f"{where}.{lang}: {why}")


def _languages_of(spec: Any) -> set[str]:
    """Every language any text of the spec has (texts are the dicts under title/label/alt)."""
    found: set[str] = set()

    def walk(v: Any, key: str = "") -> None:
        if isinstance(v, dict):
            if key in ("title", "label", "alt"):
                found.update(k for k in v if isinstance(k, str))
            for k, x in v.items():
                if k != "data":
                    walk(x, k)
        elif isinstance(v, list):
            for x in v:
                walk(x, key)

    walk(spec)
    return found


def required_languages(spec: Any, site_langs: list[str] | None = None) -> list[str]:
    """The languages every text must have: the source language, and each site language the generator
    writes at all. A language it knows nothing of yet (one `make new-language` just added) shows the source
    language's text, as its untranslated notebooks do; a language it writes for some texts but not all is
    an error (that is a forgotten alt text, not a new language)."""
    site_langs = languages() if site_langs is None else site_langs
    known = _languages_of(spec)
    return [lang for lang in site_langs if lang == SOURCE_LANG or lang in known]


def problems_of(spec: Any, folder: Path, name: str, site_langs: list[str] | None = None,
                notebooks: Path | None = None) -> list[str]:
    """Everything in `spec` (a parsed variants.json) and `folder` that breaks the contract, each as
    "<key>: <what is wrong>"; empty when it is valid."""
    notebooks = NOTEBOOKS if notebooks is None else notebooks
    p: list[str] = []
    if not isinstance(spec, dict):
        return ["the top level: expected an object"]
    langs = required_languages(spec, site_langs)
    for key in ("name", "topic", "after_cell", "title", "controls", "default", "variants"):
        if key not in spec:
            p.append(f"{key}: missing")
    if p:
        return p
    if spec["name"] != name:
        p.append(f"name: {spec['name']!r}, but the generator is explorers/{name}.py (they must be the same)")
    topic, cell = spec["topic"], spec["after_cell"]
    if not isinstance(topic, str) or not _NAME.fullmatch(topic):
        p.append(f"topic: {topic!r} is not a topic name")
    elif not (notebooks / SOURCE_LANG / f"{topic}.ipynb").is_file():
        p.append(f"topic: {topic!r}: there is no notebooks/{SOURCE_LANG}/{topic}.ipynb")
    elif not isinstance(cell, str) or not _CELL_ID.fullmatch(cell):
        p.append(f"after_cell: {cell!r} is not a cell id")
    else:
        for lang in (site_langs if site_langs is not None else languages()):
            path = notebooks / lang / f"{topic}.ipynb"
            if path.is_file():
                ids = [c.get("id") for c in json.loads(path.read_text(encoding="utf-8")).get("cells", [])]
                if cell not in ids:
                    p.append(f"after_cell: {cell!r}: no cell with that id in notebooks/{lang}/{topic}.ipynb")
    _texts(spec["title"], "title", langs, p, 200)

    controls = spec["controls"]
    values: dict[str, list[str]] = {}
    if not isinstance(controls, list) or not controls:
        p.append("controls: expected a non-empty list")
        controls = []
    for i, c in enumerate(controls):
        at = f"controls[{i}]"
        if not isinstance(c, dict):
            p.append(f"{at}: expected an object")
            continue
        cname = c.get("name")
        if not isinstance(cname, str) or not _PARAM.fullmatch(cname):
            p.append(f"{at}.name: {cname!r} is not a parameter name (letters, digits, _)")
            continue
        if cname in values:
            p.append(f"{at}.name: {cname!r} appears twice")
            continue
        if c.get("kind") not in KINDS:
            p.append(f"{at}.kind: {c.get('kind')!r}: expected one of {', '.join(KINDS)}")
        _texts(c.get("label"), f"{at}.label", langs, p, 200)
        options = c.get("options")
        if not isinstance(options, list) or len(options) < 2:
            p.append(f"{at}.options: expected a list of at least 2 options")
            values[cname] = []
            continue
        vals = []
        for j, o in enumerate(options):
            v = o.get("value") if isinstance(o, dict) else None
            if not isinstance(v, str) or not _VALUE.fullmatch(v):
                p.append(f"{at}.options[{j}].value: {v!r}: expected a short string of letters, digits, _ . + -")
                continue
            if v in vals:
                p.append(f"{at}.options[{j}].value: {v!r} appears twice")
            vals.append(v)
            _texts(o.get("label"), f"{at}.options[{j}].label", langs, p, 200)
        if c.get("kind") == "checkbox" and sorted(vals) != ["false", "true"]:
            p.append(f"{at}.options: a checkbox has exactly the values \"false\" and \"true\" (got {vals})")
        values[cname] = vals

    default = spec["default"]
    if not isinstance(default, dict) or set(default) != set(values):
        p.append(f"default: expected one value for each control ({', '.join(values)})")
    else:
        p += [f"default.{k}: {v!r} is not one of its control's values" for k, v in default.items() if v not in values[k]]

    variants = spec["variants"]
    if not isinstance(variants, list):
        return [*p, "variants: expected a list"]
    if len(variants) > MAX_VARIANTS:
        p.append(f"variants: {len(variants)} (at most {MAX_VARIANTS})")
    seen: dict[tuple, int] = {}
    figures: set[str] = set()
    for i, v in enumerate(variants):
        at = f"variants[{i}]"
        if not isinstance(v, dict):
            p.append(f"{at}: expected an object")
            continue
        params = v.get("params")
        if not isinstance(params, dict) or set(params) != set(values):
            p.append(f"{at}.params: expected one value for each control ({', '.join(values)}), got {params!r}")
        else:
            wrong = [f"{at}.params.{k}: {x!r} is not one of its control's values" for k, x in params.items()
                     if x not in values[k]]
            p += wrong
            if not wrong:
                combo = tuple(params[k] for k in values)
                if combo in seen:
                    p.append(f"{at}.params: {params} is also variants[{seen[combo]}] (each combination exactly once)")
                seen.setdefault(combo, i)
        fig = v.get("figure")
        if not isinstance(fig, str) or not _FILE.fullmatch(fig):
            p.append(f"{at}.figure: {fig!r}: expected a plain file name ending in .svg")
        else:
            if fig in figures:
                p.append(f"{at}.figure: {fig!r} is another variant's figure too (one file per variant)")
            figures.add(fig)
            p += [f"{at}.figure: {x}" for x in _figure_problems(folder / fig)]
        _texts(v.get("alt"), f"{at}.alt", langs, p)
        if "data" not in v:
            p.append(f"{at}.data: missing (what the run recorded, from which the alt text was made)")
    if values and all(values.values()):
        missing = [dict(zip(values, combo, strict=True)) for combo in itertools.product(*values.values()) if combo not in seen]
        if missing:
            shown = "; ".join(json.dumps(m) for m in missing[:5])
            p.append(f"variants: {len(missing)} combination(s) of the controls have no variant: {shown}"
                     + (" …" if len(missing) > 5 else ""))
    extra = sorted(f.name for f in folder.iterdir() if f.name not in figures | {"variants.json", ".complete"})
    if extra:
        p.append(f"files: {', '.join(extra[:10])}: written but not any variant's figure (nothing else is published)")
    return p


def _figure_problems(path: Path) -> list[str]:
    from tools.sanitize import check_svg_bytes

    if path.is_symlink() or not path.is_file():
        return [f"{path.name}: no such file"]
    size = path.stat().st_size
    if size > MAX_FIGURE_BYTES:
        return [f"{path.name}: {size / 1024:.1f} KB (at most {MAX_FIGURE_BYTES // 1024} KB: no embedded fonts or rasters)"]
    problems = check_svg_bytes(path.read_bytes())
    return [f"{path.name}: {x} is not allowed in a figure" for x in problems]


def validate(folder: Path, name: str, display: str, site_langs: list[str] | None = None,
             notebooks: Path | None = None) -> dict:
    """The parsed variants.json in `folder`, or an ExplorerError listing every problem, each naming the
    generator and the key."""
    path = folder / "variants.json"
    if not path.is_file():
        raise ExplorerError(f"{display}: wrote no variants.json")
    if path.stat().st_size > MAX_SPEC_BYTES:
        raise ExplorerError(f"{display}: variants.json is {path.stat().st_size >> 20} MiB (at most {MAX_SPEC_BYTES >> 20})")
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ExplorerError(f"{display}: variants.json is not valid JSON ({e})") from None
    problems = problems_of(spec, folder, name, site_langs, notebooks)
    if problems:
        raise ExplorerError("\n".join(f"{display}: variants.json: {x}" for x in problems))
    return spec


# ------------------------------------------------------------------------------------------------ publishing

def _translator():
    """tools.figure_text.translate_svg (figure text in the page's language) once that module exists; until
    then the figures are published as the generator wrote them (English)."""
    try:
        module = importlib.import_module("tools.figure_text")
    except ModuleNotFoundError as e:
        if e.name != "tools.figure_text":
            raise
        return lambda svg, lang: svg
    return module.translate_svg


def _text(texts: dict, lang: str) -> str:
    return texts.get(lang) or texts[SOURCE_LANG]


def _svg_size(svg: str) -> tuple[int, int] | None:
    """The figure's size in CSS pixels (matplotlib writes pt), for the <img>'s width and height."""
    m = re.search(r"<svg\b[^>]*?\bwidth=\"([\d.]+)(pt|px)?\"[^>]*?\bheight=\"([\d.]+)(pt|px)?\"", svg)
    if not m:
        return None
    scale = lambda unit: 4 / 3 if unit == "pt" else 1.0  # noqa: E731
    return round(float(m[1]) * scale(m[2])), round(float(m[3]) * scale(m[4]))


_generated: dict[str, Explorer] = {}


def load_all(box: Sandbox | None = None, log=print) -> list[Explorer]:
    """Every explorer, generated or from the cache, validated (once per process and generator text)."""
    out = []
    for script in discover():
        key = f"{script}:{cache_key(script.read_bytes())}"
        if key not in _generated:
            _generated[key] = generate(script, box=box, log=log)
        out.append(_generated[key])
    return out


def publish(lang: str, docs_dir: Path, explorers: list[Explorer] | None = None) -> list[str]:
    """Write the language's copy of every explorer whose topic it has into `docs_dir/explorers/<name>/`
    (figures translated, variants.<lang>.json) and the manifest `mount` reads; returns the names."""
    explorers = load_all() if explorers is None else explorers
    translate = _translator()
    from tools.sanitize import check_svg_bytes

    manifest = []
    for ex in explorers:
        spec = ex.spec
        if not (NOTEBOOKS / lang / f"{spec['topic']}.ipynb").is_file():
            continue
        out = docs_dir / SITE_FOLDER / ex.name
        out.mkdir(parents=True, exist_ok=True)
        table = []
        for i, v in enumerate(spec["variants"]):
            svg = translate((ex.folder / v["figure"]).read_text(encoding="utf-8"), lang)
            if problems := check_svg_bytes(svg):
                raise ExplorerError(f"{ex.display}: variants[{i}].figure {v['figure']} in {lang}: "
                                    + "; ".join(problems) + " is not allowed in a figure (after translation)")
            (out / v["figure"]).write_text(svg, encoding="utf-8")
            table.append({"params": v["params"], "src": v["figure"], "alt": _text(v["alt"], lang)})
        data_file = f"variants.{lang}.json"
        (out / data_file).write_text(json.dumps({"name": ex.name, "variants": table}, ensure_ascii=False,
                                                separators=(",", ":")), encoding="utf-8")
        default = next(v for v in spec["variants"] if v["params"] == spec["default"])
        manifest.append({
            "name": ex.name, "topic": spec["topic"], "after_cell": spec["after_cell"],
            "title": _text(spec["title"], lang), "data": data_file,
            "controls": [{"name": c["name"], "kind": c["kind"], "label": _text(c["label"], lang),
                          "options": [{"value": o["value"], "label": _text(o["label"], lang)} for o in c["options"]]}
                         for c in spec["controls"]],
            "default": spec["default"], "figure": default["figure"], "alt": _text(default["alt"], lang),
            "size": _svg_size((out / default["figure"]).read_text(encoding="utf-8")),
        })
    if manifest:
        (docs_dir / SITE_FOLDER).mkdir(parents=True, exist_ok=True)
        (docs_dir / SITE_FOLDER / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1),
                                                       encoding="utf-8")
    return [m["name"] for m in manifest]


# ------------------------------------------------------------------------------------------------- the page

def _manifest(docs_dir: Path) -> list[dict]:
    path = docs_dir / SITE_FOLDER / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def _control_html(ex: dict, c: dict) -> str:
    """One native, labelled control (keyboard and screen reader work without any script of ours)."""
    e = lambda s: html.escape(str(s), quote=True)  # noqa: E731
    cid = f"explorer-{ex['name']}-{c['name']}"
    current = ex["default"][c["name"]]
    if c["kind"] == "select":
        opts = "".join(f'<option value="{e(o["value"])}"{" selected" if o["value"] == current else ""}>{e(o["label"])}</option>'
                       for o in c["options"])
        return (f'<div class="explorer__control"><label for="{cid}">{e(c["label"])}</label>'
                f'<select id="{cid}" data-param="{e(c["name"])}">{opts}</select></div>')
    if c["kind"] == "radio":
        opts = "".join(f'<label><input type="radio" name="{cid}" value="{e(o["value"])}"'
                       f'{" checked" if o["value"] == current else ""}> {e(o["label"])}</label>' for o in c["options"])
        return f'<fieldset class="explorer__control" data-param="{e(c["name"])}"><legend>{e(c["label"])}</legend>{opts}</fieldset>'
    if c["kind"] == "checkbox":
        return (f'<div class="explorer__control"><input type="checkbox" id="{cid}" data-param="{e(c["name"])}"'
                f'{" checked" if current == "true" else ""}> <label for="{cid}">{e(c["label"])}</label></div>')
    # range: positions 0..n-1 stand for the option values in order
    vals = [o["value"] for o in c["options"]]
    labels = [o["label"] for o in c["options"]]
    at = vals.index(current)
    return (f'<div class="explorer__control"><label for="{cid}">{e(c["label"])}</label>'
            f'<input type="range" id="{cid}" data-param="{e(c["name"])}" min="0" max="{len(vals) - 1}" step="1" '
            f'value="{at}" aria-valuetext="{e(labels[at])}" data-values="{e(json.dumps(vals))}" '
            f'data-labels="{e(json.dumps(labels, ensure_ascii=False))}">'
            f'<output for="{cid}">{e(labels[at])}</output></div>')


def explorer_html(ex: dict, base: str) -> str:
    """The explorer's markup: `base` is the path from the page to its language's site root ("../../")."""
    e = lambda s: html.escape(str(s), quote=True)  # noqa: E731
    folder = f"{base}{SITE_FOLDER}/{ex['name']}/"
    size = f' width="{ex["size"][0]}" height="{ex["size"][1]}"' if ex.get("size") else ""
    controls = "".join(_control_html(ex, c) for c in ex["controls"])
    # disabled until assets/explorers.js runs: without JavaScript the default figure shows, with inert controls
    return (f'<figure class="explorer" data-explorer="{e(ex["name"])}" data-variants="{e(folder + ex["data"])}" '
            f'data-search-exclude>'
            f'<fieldset class="explorer__controls" disabled><legend>{e(ex["title"])}</legend>{controls}</fieldset>'
            f'<img class="explorer__figure" src="{e(folder + ex["figure"])}" alt="{e(ex["alt"])}"{size} '
            f'loading="lazy" decoding="async">'
            f'<figcaption class="explorer__caption" aria-live="polite">{e(ex["alt"])}</figcaption></figure>')


def _nodes(markup: str) -> list:
    from selectolax.lexbor import LexborHTMLParser

    return list(LexborHTMLParser(f"<body>{markup}").body.iter(include_text=True))


def _base(page_url: str) -> str:
    """The relative path from a page (mkdocs' page.url: "topics/init/", "", "topics/init.html") to the
    site root, ending in "/" (or "" at the root)."""
    folder = posixpath.dirname(page_url)
    rel = posixpath.relpath(".", folder) if folder else "."
    return "" if rel == "." else rel + "/"


def mount(root, ctx) -> None:
    """Site transform (tools/site_hooks.py TRANSFORMS): after the cell `after_cell` of a page whose topic
    has explorers, insert each one (see `explorer_html`), and the script once per page. Pages without an
    explorer get nothing, not even the script. A cell that is not on the page fails the build."""
    if not getattr(ctx, "is_notebook", False) or ctx.page is None or ctx.config is None:
        return
    topic = Path(ctx.page.file.src_path).stem
    found = [ex for ex in _manifest(Path(ctx.config["docs_dir"])) if ex["topic"] == topic]
    if not found:
        return
    base = _base(ctx.page.url)
    for i, ex in enumerate(found):
        cell = root.css_first(f'[id="cell-id={ex["after_cell"]}"]')
        if cell is None:
            raise ExplorerError(f"explorers/{ex['name']}.py: after_cell {ex['after_cell']!r} is not a cell of "
                                f"{getattr(ctx, 'source_name', topic)}")
        markup = explorer_html(ex, base)
        if i == 0:
            markup += f'<script src="{html.escape(base + SCRIPT)}" defer></script>'
        anchor = cell
        for node in _nodes(markup):
            anchor.insert_after(node)
            anchor = anchor.next
