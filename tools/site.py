"""Assemble each language's docs tree in build/ and render it with mkdocs into site/<lang>/.

The build tree (`build/docs/<lang>/`) is made of `docs/<lang>/` (hand-written pages), `docs/assets/`
(self-hosted KaTeX, CSS, JS), the executed notebooks from `build/executed/<lang>/` as `topics/<topic>.ipynb`,
and the generated pages (translation status, glossary). All languages render in one process, so jieba and
the templates load once.

Atomic: each language renders into a temporary folder beside it (`site/.tmp-<lang>-XXXX`) that replaces
`site/<lang>` only once mkdocs succeeded, by an atomic exchange of the two names (see `swap_in`). Ctrl-C,
SIGKILL or a failed render at any moment leave the previous `site/<lang>` whole; the next build removes what
the interrupted one left (`clean_leftovers`). Only the topics that are in `notebooks/<lang>/` now are
published: the executed tree is pruned of deleted topics first (`prune_executed`).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools import figure_text, generated_pages
from tools.notebooks import BuildError, languages
from tools.paths import BUILD, DOCS, NOTEBOOKS, ROOT, SITE, SOURCE_LANG, config_file

DOCS_TREE = BUILD / "docs"
RENDER_CACHE = BUILD / "render-cache"
#: Prefixes of the folders a render leaves beside site/<lang> while it runs (never published).
TMP_PREFIX, OLD_PREFIX = ".tmp-", ".old-"


def prune_executed(executed: Path) -> list[Path]:
    """Remove executed notebooks whose source is gone from `notebooks/<lang>/` (a deleted topic or language),
    so that the executed tree, and with it the site, holds only current topics. Returns what was removed."""
    removed = []
    if not executed.is_dir():
        return removed
    for lang_dir in sorted(p for p in executed.iterdir() if p.is_dir()):
        if not (NOTEBOOKS / lang_dir.name).is_dir():
            shutil.rmtree(lang_dir)
            removed.append(lang_dir)
            continue
        for nb in sorted(lang_dir.glob("*.ipynb")):
            if not (NOTEBOOKS / lang_dir.name / nb.name).is_file():
                nb.unlink()
                removed.append(nb)
    return removed


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
        if (NOTEBOOKS / lang / nb.name).is_file():  # only current topics, whatever the executed tree holds
            shutil.copy2(nb, dst / "topics" / nb.name)
    figure_text.translate_notebooks(dst / "topics", lang)  # figures are drawn in English; figure-text.yml
    generated_pages.write_all(lang, dst)
    __import__("tools.explorers", fromlist=["_"]).publish(lang, dst)  # explorers: variants run, checked, copied
    return dst


class _FailOnWarning(logging.Handler):
    """mkdocs' --strict, in-process: remember every warning so the build can fail naming them all."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_RENAME_EXCHANGE = 2  # linux/fs.h
_libc = None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap the names `a` and `b` (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    fn = getattr(_libc, "renameat2", None)
    if fn is None:  # not glibc >= 2.28 (e.g. macOS, musl)
        return False
    at_fdcwd = -100
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # a filesystem or kernel without it
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def swap_in(new: Path, final: Path) -> None:
    """Make the finished render `new` the published `final`, and remove the previous one.

    With an atomic exchange, `final` is a whole site at every instant. Where the exchange is unsupported,
    two renames are used (`final` -> `.old-<name>`, `new` -> `final`); a kill between them leaves the
    previous site whole as `.old-<name>`, which `clean_leftovers` puts back before the next build.
    """
    old = final.parent / f"{OLD_PREFIX}{final.name}"
    if final.exists() and _exchange(new, final):
        shutil.rmtree(new)  # now the previous site
        return
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.rename(final, old)
    os.rename(new, final)
    shutil.rmtree(old, ignore_errors=True)


def clean_leftovers(site: Path = SITE) -> list[str]:
    """Undo what an interrupted build left in site/: temporary renders go, and a previous site that was
    moved aside (`.old-<lang>`) comes back if its language folder is missing. Returns what was done."""
    done = []
    if not site.is_dir():
        return done
    for p in sorted(site.iterdir()):
        if p.name.startswith(TMP_PREFIX) and p.is_dir():
            shutil.rmtree(p)
            done.append(f"removed {p.name}/ (an interrupted render)")
        elif p.name.startswith(TMP_PREFIX) and p.is_file():  # write_text_atomic's temporary file
            p.unlink()
            done.append(f"removed {p.name} (an interrupted write)")
        elif p.name.startswith(OLD_PREFIX) and p.is_dir():
            final = site / p.name.removeprefix(OLD_PREFIX)
            if final.exists():
                shutil.rmtree(p)
                done.append(f"removed {p.name}/ (a replaced site)")
            else:
                os.rename(p, final)
                done.append(f"restored {final.name}/ from {p.name}/ (a build was interrupted while swapping)")
    return done


def drop_broken_render_cache(lang: str) -> list[Path]:
    """mkdocs-jupyter writes its render cache entries non-atomically, and reads them back without a check:
    an entry cut short by a killed build would stop every later build with a raw traceback. Unreadable
    entries are removed (they are re-rendered). Returns the removed files."""
    removed = []
    for entry in sorted((RENDER_CACHE / lang).glob("*.json")):
        try:
            data = json.loads(entry.read_text(encoding="utf-8"))
            ok = isinstance(data, dict) and "content" in data and "toc_tokens" in data
        except (OSError, UnicodeDecodeError, ValueError):
            ok = False
        if not ok:
            entry.unlink()
            removed.append(entry)
    return removed


def _new_tmp(lang: str) -> Path:
    """A fresh, empty, world-readable temporary render folder beside site/<lang> (`clean_leftovers` knows its
    prefix, so one left by a killed build is removed by the next)."""
    SITE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{lang}-", dir=SITE))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; the published folder must be readable by a web server
    return tmp


def _render_into(lang: str, tmp: Path) -> None:
    """Render one language with mkdocs (strict) into `tmp`; a BuildError names the config and every warning."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    handler = _FailOnWarning()
    log = logging.getLogger("mkdocs")
    log.addHandler(handler)
    os.chdir(ROOT)  # mkdocs-jupyter's render cache_dir is relative to the working directory
    try:
        config = load_config(str(config_file(lang)))
        if Path(config.site_dir).resolve() != (SITE / lang).resolve():
            raise BuildError(f"{config_file(lang).name}: site_dir must be site/{lang}, not {config.site_dir}")
        config.site_dir = str(tmp)  # the hooks and plugins write into config.site_dir, so into tmp
        build(config)
    except BuildError:
        raise
    except Exception as e:  # mkdocs logs the cause, then raises Abort / ConfigurationError
        logged = "".join(f"\n  {m}" for m in handler.messages)
        raise BuildError(f"{config_file(lang).name}: mkdocs build failed: {e}{logged}") from e
    finally:
        log.removeHandler(handler)
    if handler.messages:
        raise BuildError(f"{config_file(lang).name}: mkdocs reported warnings (strict):\n  " + "\n  ".join(handler.messages))


def render(lang: str) -> float:
    """Render one language with mkdocs (strict) into a temporary folder, then swap it in; returns the seconds
    it took. On any failure or interruption the published site/<lang> is left as it was."""
    t0 = time.perf_counter()
    tmp = _new_tmp(lang)
    try:
        _render_into(lang, tmp)
        swap_in(tmp, SITE / lang)
        tmp = None
    finally:  # also on KeyboardInterrupt: the half-written render goes, the published site stays
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return time.perf_counter() - t0


#: How a render child reports a BuildError to the build (the rest of its stderr is passed through).
_ERROR_MARK = "render-error: "


def render_child(lang: str, tmp: str, parent: str) -> int:
    """Entry point of one language's render process (see `render_concurrently`): render into `tmp`, never
    swap (the build does that once every language succeeded). It dies with the build: a build killed by
    SIGKILL leaves no render running that could write into site/ behind the next build's back."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux): killed when the build goes
    except (OSError, AttributeError):  # not Linux: a killed build's render runs to its end, into its tmp folder
        pass
    if os.getppid() != int(parent):  # the build died before the line above took effect
        return 1
    try:
        _render_into(lang, Path(tmp))
    except BuildError as e:
        print(_ERROR_MARK + str(e).replace("\n", "\n" + _ERROR_MARK), file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the build reports it once
        return 130
    return 0


def render_concurrently(langs: list[str], jobs: int) -> dict[str, float]:
    """Render `langs`, up to `jobs` at once, each in a process of its own (mkdocs, its plugins and the hooks
    keep module-level state, so languages cannot share one process), then publish them together.

    Each child renders into a temporary folder made here; only when every language has succeeded are they
    swapped in, one by one in language order, so a failed or interrupted build leaves every language as it
    was. One line is printed per language as it finishes (its own output first, unmixed); the error raised
    is the first failing language's, in language order, whatever finished first. Returns seconds per
    language (wall time of its process)."""
    code_root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (code_root, os.environ.get("PYTHONPATH")) if p)}
    tmps = {lang: _new_tmp(lang) for lang in langs}
    pending, running = list(langs), {}
    seconds: dict[str, float] = {}
    errors: dict[str, str] = {}
    try:
        while pending or running:
            while pending and len(running) < jobs and not errors:
                lang = pending.pop(0)
                log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - read and closed when the child ends
                proc = subprocess.Popen(
                    [sys.executable, "-c", ("import sys; from tools.site import render_child; "
                                            "sys.exit(render_child(*sys.argv[1:]))"), lang, str(tmps[lang]), str(os.getpid())],
                    cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
                running[lang] = (proc, log, time.perf_counter())
            if errors:  # no new language starts after a failure; the running ones finish
                pending.clear()
            for lang, (proc, log, t0) in list(running.items()):
                if proc.poll() is None:
                    continue
                del running[lang]
                log.seek(0)
                out = log.read()
                log.close()
                said = [ln.removeprefix(_ERROR_MARK) for ln in out.splitlines() if ln.startswith(_ERROR_MARK)]
                chatter = "".join(ln + "\n" for ln in out.splitlines() if not ln.startswith(_ERROR_MARK))
                if chatter:
                    print(chatter, end="")
                if proc.returncode == 0:
                    seconds[lang] = time.perf_counter() - t0
                    print(f"render {lang}: done in {seconds[lang]:.1f} s", flush=True)
                else:
                    errors[lang] = "\n".join(said) or f"{config_file(lang).name}: the render process exited with {proc.returncode}"
                    print(f"render {lang}: failed", flush=True)
            if running:
                time.sleep(0.05)
        if errors:
            raise BuildError(errors[min(errors, key=langs.index)])
        for lang in langs:  # every language succeeded: publish them
            swap_in(tmps.pop(lang), SITE / lang)
    finally:  # failure or interruption (Ctrl-C, SIGTERM as KeyboardInterrupt): stop the children, drop the renders
        for proc, log, _ in running.values():
            proc.kill()
            proc.wait()
            log.close()
        for tmp in tmps.values():
            shutil.rmtree(tmp, ignore_errors=True)
    return seconds


def write_text_atomic(path: Path, text: str) -> None:
    """Write `path` so that a reader (or a killed build) sees the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}-", dir=path.parent)  # clean_leftovers knows the prefix
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it private; a published file must be readable by a web server
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def site_root_url() -> str:
    """The URL the language folders hang from: mkdocs.yml's site_url (SITE_URL when set), with a final /."""
    from mkdocs.utils.yaml import yaml_load

    with open(ROOT / "mkdocs.yml", encoding="utf-8") as f:
        return str(yaml_load(f).get("site_url") or "/").rstrip("/") + "/"


def write_root(langs: list[str]) -> None:
    """The site root: index.html, a redirect to the reader's language (plain links for no-script readers,
    hreflang alternates: it is the x-default of the home pages); sitemap.xml, the index of the languages'
    sitemaps; robots.txt naming it; and 404.html, the source language's bilingual not-found page, which a
    host such as GitHub Pages serves for every missing URL."""
    import jinja2
    from mkdocs.utils.yaml import yaml_load

    from tools import seo
    from tools.csp import add_csp

    root = site_root_url()
    descriptions = []
    for lang in langs:
        with open(config_file(lang), encoding="utf-8") as f:
            descriptions.append(str(yaml_load(f).get("site_description") or ""))
    # overrides/root.html, autoescaped: the descriptions come from the configs' strings.
    templates = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "overrides"), autoescape=True,
                                   keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    page = add_csp(templates.get_template("root.html").render(
        langs=langs, root=root, description=" · ".join(d for d in descriptions if d),
        alternates=seo.alternates(root, "", langs, lambda lang: True, default_lang=SOURCE_LANG),
        links=[{"lang": lang, "href": f"{lang}/", "hreflang": seo.hreflang(lang)} for lang in langs]))
    write_text_atomic(SITE / "index.html", page)
    write_text_atomic(SITE / "sitemap.xml", seo.sitemap_index(root, langs))
    write_text_atomic(SITE / "robots.txt", seo.robots_txt(root))
    not_found = SITE / SOURCE_LANG / "404.html"
    if not_found.is_file():
        write_text_atomic(SITE / "404.html", not_found.read_text(encoding="utf-8"))


def inputs_fingerprint(lang: str) -> str:
    """Everything a language's render depends on: its assembled tree, the configs, theme overrides, hooks
    and the environment variables the configs read. Equal fingerprint, equal site: the render is skipped."""
    h = hashlib.sha256()
    files = [*sorted((DOCS_TREE / lang).rglob("*")), ROOT / "mkdocs.yml", config_file(lang), ROOT / "requirements.txt",
             *sorted((ROOT / "overrides").rglob("*")), *sorted((ROOT / "tools").glob("*.py")),
             *sorted((ROOT / "compat").glob("*.json"))]  # the torch-version lines under each title
    for f in files:
        if f.is_file():
            h.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    for var in ("SITE_URL", "REPO_URL", "REPO_EDIT_URI"):
        h.update(f"{var}={os.environ.get(var, '')}".encode())
    return h.hexdigest()


def build_all(executed: Path, jobs: int | None = None) -> dict[str, float | None]:
    """Assemble and render every language; returns seconds per language (None: unchanged, not rendered).

    Languages whose inputs changed render concurrently, up to `jobs` at once (default: as for execution,
    JOBS or the number of CPUs; 1: one after another, in this process), each still atomic."""
    from tools.execute import resolve_jobs

    jobs = resolve_jobs(jobs)
    langs = languages()
    for line in clean_leftovers():
        print(f"site/: {line}")
    prune_executed(executed)
    timings: dict[str, float | None] = {}
    todo: dict[str, str] = {}  # language -> fingerprint of its inputs
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
        for entry in drop_broken_render_cache(lang):
            print(f"{entry.relative_to(ROOT)}: unreadable render cache entry removed (a build was interrupted)")
        todo[lang] = fingerprint
    if jobs > 1 and len(todo) > 1:
        timings.update(render_concurrently(list(todo), jobs))
        for lang, fingerprint in todo.items():
            write_text_atomic(BUILD / f"rendered-{lang}.sha256", fingerprint)
    else:
        for lang, fingerprint in todo.items():
            timings[lang] = render(lang)
            write_text_atomic(BUILD / f"rendered-{lang}.sha256", fingerprint)
    timings = {lang: timings[lang] for lang in langs}  # language order, whatever finished first
    for stale in sorted({p.name for p in SITE.iterdir() if p.is_dir() and not p.name.startswith(".")} - set(langs)) if SITE.exists() else ():
        aside = SITE / f"{OLD_PREFIX}{stale}"  # moved aside first: the folder goes whole or not at all
        os.rename(SITE / stale, aside)
        shutil.rmtree(aside)  # a removed language leaves no pages behind
    write_root(langs)
    return timings
