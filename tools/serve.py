"""`make serve`: both languages on http://127.0.0.1:PORT/, rebuilt on save, the open page reloaded.

Why a server of our own rather than `mkdocs serve`: the site is two mkdocs builds fed by an execution step
(tools/execute.py) and an assembly step (tools/site.py), and `mkdocs serve` rebuilds a whole language on
every change (about 4 s each here). This process keeps each language's mkdocs state warm instead -- the
loaded config, the collected files, the navigation, the Jinja environment, jieba, every page already
rendered -- and on a save renders only what the save changed:

- a notebook's prose (markdown cells, alt text): its executed copy is re-made from the execution cache
  (the cache is keyed on code only, so this executes nothing) and that one page is rendered again;
- a notebook's code: `execute_all` runs that topic only (zh and en share one execution), printing its
  progress, then its pages are rendered;
- a hand-written page (docs/<lang>/*.md) or glossary.yml: that page, or the generated glossary pages;
- docs/assets/: the file is copied into each language's site;
- mkdocs*.yml, overrides/, a page added or removed, or a page whose title changed (the navigation of every
  page shows it): that language is built again with mkdocs' own `build`, into a new folder that replaces
  the served one only once it succeeded;
- snippets/*.py: nothing is rendered (notebooks hold copies); the stale copies are named.

The edited page is rendered first and the browser told at once; what depends on it waits until the saves
pause (IDLE_S): the other language's page of the topic (its stale-translation notice), the translation-status
pages, the topic's source checks as notes, then mkdocs' `on_post_build` of the touched languages (search
index, notebook.css).

What differs from `make build` (which stays the exact, atomic build of site/):
- the site is written under build/serve/ (site/ is never touched) and links to this server's origin
  (SITE_URL is set to it, so the language switcher works on any port);
- each HTML response gets <script src="/__reload.js" defer> (tools/reload.js) before </head>; the files
  on disk do not carry it;
- `/` redirects to the language the browser asks for (Accept-Language) instead of serving the root page;
  the root sitemap.xml and robots.txt are not served;
- the source checks of `make check` are not a gate: after a notebook edit its topic's parity, committed
  outputs and snippet copies are checked and printed as notes; the build-time checks (safety lint, alt
  text, the sanitizer, mkdocs strict) still refuse an edit;
- a page rendered alone does not write mkdocs-jupyter's render cache (each save would leave an entry of
  about 0.5 MB); search-index entries of the other pages, and notebook.css, come from the last full build
  until `on_post_build` runs again (a pause of IDLE_S seconds).

An edit that fails (malformed notebook, a refused payload, a failing cell, a strict warning) is printed
naming the file and cell; the last good page stays served (a page's folder is restored if its render
fails, and a language's new build replaces the old one only when whole) and the open page shows a notice
until the problem is fixed. Requests wait while a page is being written, so a half-written page is never
sent.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import io
import json
import logging
import os
import queue
import shutil
import socket
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tools.notebooks import BuildError
from tools.paths import BUILD, DOCS, NOTEBOOKS, ROOT, SOURCE_LANG, config_file

SERVE = BUILD / "serve"
EXECUTED = SERVE / "executed"
RELOAD_JS = Path(__file__).with_name("reload.js")
#: Seconds without a save after which the deferred part of a rebuild (mkdocs' on_post_build) runs.
IDLE_S = 2.0
#: Seconds a burst of file events must be quiet before it is processed (editors write in several steps).
QUIET_S = 0.05
#: What is watched, relative to the repository root (folders recursively).
WATCHED_DIRS = ("notebooks", "docs", "snippets", "overrides")
WATCHED_FILES = ("glossary.yml", "mkdocs.yml")  # and mkdocs.<lang>.yml

log = logging.getLogger("mkdocs")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def _say(*parts: object) -> None:
    print(*parts, flush=True)


# ------------------------------------------------------------------------------------------ strict mode

class _Collect(logging.Handler):
    """mkdocs' --strict, in-process: every warning or error mkdocs logs while a render runs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _strict(what: str):
    """Run a render; any exception or mkdocs warning becomes one BuildError naming `what` and every message."""
    handler = _Collect()
    log.addHandler(handler)
    try:
        yield
    except BuildError:
        raise
    except Exception as e:  # mkdocs logs the cause (the hooks' PluginError names file and cell), then raises
        said = list(dict.fromkeys([*handler.messages, str(e)]))
        raise BuildError(f"{what}:\n  " + "\n  ".join(m for m in said if m)) from e
    finally:
        log.removeHandler(handler)
    if handler.messages:
        raise BuildError(f"{what}: mkdocs reported warnings (strict):\n  " + "\n  ".join(handler.messages))


# ------------------------------------------------------------------------------------ one language, warm

def _keeper():
    """A plugin that keeps what mkdocs' own `build` computed (files, navigation, Jinja environment): the
    single-page renders after it need them. It runs last in each event, so it sees the final objects."""
    from mkdocs.plugins import BasePlugin, event_priority

    class Keep(BasePlugin):
        files = nav = env = None

        @event_priority(-1000)
        def on_files(self, files, config, **kwargs):
            self.files = files
            return files

        @event_priority(-1000)
        def on_nav(self, nav, config, files, **kwargs):
            self.nav = nav
            return nav

        @event_priority(-1000)
        def on_env(self, env, config, files, **kwargs):
            self.env = env
            return env

    return Keep()


def warm_notebook_rendering() -> list[str]:
    """Keep two pure, repeated parts of a notebook page's conversion warm in this process; returns which.

    - templates: nbconvert makes a new Jinja environment for every notebook it converts, so every page
      rendered alone would compile the same templates again (a fifth of the page's CPU time here). A Jinja
      bytecode cache shared in memory keys each template on its name and checks its source's checksum, so
      an edited template is compiled again.
    - code: a prose edit leaves every code cell as it was, yet mkdocs-jupyter highlights each one again with
      Pygments. Its highlighting call is memoized on everything it reads (source, CSS class, language,
      cell metadata).

    Each is applied only where the library still has the shape this expects (nbconvert and mkdocs-jupyter
    are pinned in requirements.in); otherwise it is left alone, and pages only render slower."""
    import functools
    import inspect

    import jinja2
    from mkdocs_jupyter import nbconvert2
    from nbconvert.exporters import templateexporter

    done = []
    highlight = getattr(nbconvert2, "_pygments_highlight", None)
    if highlight is not None and list(inspect.signature(highlight).parameters)[:4] == ["source", "output_formatter", "language", "metadata"]:
        @functools.lru_cache(maxsize=4096)
        def cached(source: str, cssclass: str, language: str | None, metadata: str) -> str:
            from pygments.formatters import HtmlFormatter

            return highlight(source, HtmlFormatter(cssclass=cssclass), language, json.loads(metadata))

        def memoized(source, output_formatter, language="ipython", metadata=None, **lexer_options):
            if lexer_options or type(output_formatter).__name__ != "HtmlFormatter":
                return highlight(source, output_formatter, language, metadata, **lexer_options)
            return cached(source, output_formatter.cssclass, language, json.dumps(metadata, sort_keys=True, default=str))

        nbconvert2._pygments_highlight = memoized
        done.append("code")
    if templateexporter.Environment is not jinja2.Environment:
        return done
    store: dict[str, bytes] = {}

    class Memory(jinja2.BytecodeCache):
        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            if bucket.key in store:
                bucket.bytecode_from_string(store[bucket.key])

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            store[bucket.key] = bucket.bytecode_to_string()

    cache = Memory()

    class Environment(jinja2.Environment):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("bytecode_cache", cache)
            super().__init__(*args, **kwargs)

    templateexporter.Environment = Environment
    return [*done, "templates"]


def assemble(lang: str, executed: Path, dst: Path) -> Path:
    """A language's docs tree in `dst`, laid out by tools/site.py's own `assemble` (pages, assets, the executed
    notebooks with their figures' text translated, generated pages, explorers) and copied from build/docs/<lang>.
    The caller holds the build lock: `make build` lays that folder out again itself before it renders."""
    from tools import site

    built = site.assemble(lang, executed)
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(built, dst)
    return dst


def page_notebook(lang: str, executed: Path, scratch: Path) -> Path:
    """The notebook a topic page is rendered from, as `assemble` makes it: the executed copy, with its
    figures' text translated into `lang` (tools/figure_text.py)."""
    from tools import figure_text

    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    shutil.copy2(executed, scratch / executed.name)
    figure_text.translate_notebooks(scratch, lang)
    return scratch / executed.name


class LanguageSite:
    """One language rendered by mkdocs in this process, into its own folder, with mkdocs' state kept.

    `build()` is mkdocs' own `build` (what `make build` runs), plus a plugin that keeps the files, the
    navigation and the Jinja environment; `render_page()` then repeats, for one page, the two steps
    `build` runs for every page (read and convert it, then fill the theme's template and write it).
    """

    def __init__(self, lang: str, docs_dir: Path, site_dir: Path, lock: threading.RLock):
        self.lang, self.docs_dir, self.site_dir, self.lock = lang, docs_dir, site_dir, lock
        self.config: Any = None
        self.keep: Any = None
        self.post_build_pending = False

    def build(self) -> float:
        """Render every page with mkdocs' `build`; returns seconds. Raises BuildError (site_dir then holds
        a partial render, which the caller discards)."""
        from mkdocs.commands.build import build
        from mkdocs.config import load_config

        t0 = time.perf_counter()
        os.chdir(ROOT)  # mkdocs-jupyter's render cache_dir is relative to the working directory
        with _strict(f"{config_file(self.lang).name}: mkdocs build failed"):
            config = load_config(str(config_file(self.lang)), docs_dir=str(self.docs_dir), site_dir=str(self.site_dir))
            self.keep = _keeper()
            config.plugins["serve-keep"] = self.keep
            build(config)
        self.config = config
        # Pages rendered alone from now on: no render-cache entry per save (the next full build evicts
        # what it does not use anyway).
        jupyter = config.plugins.get("mkdocs-jupyter")
        if jupyter is not None:
            jupyter.config["cache"] = False
        return time.perf_counter() - t0

    def page_url(self, src_path: str) -> str:
        """The served path of a page, e.g. /zh/topics/parameter/."""
        file = self.keep.files.get_file_from_path(src_path)
        return f"/{self.lang}/{file.url}" if file is not None else ""

    def has_page(self, src_path: str) -> bool:
        file = self.keep.files.get_file_from_path(src_path)
        return file is not None and file.page is not None

    def _search(self):
        """Material's search plugin and its index, if they are what this module knows how to update."""
        plugin = self.config.plugins.get("material/search") or self.config.plugins.get("search")
        index = getattr(plugin, "search_index", None)
        return index if isinstance(getattr(index, "entries", None), list) else None

    def render_page(self, src_path: str) -> bool:
        """Render one page again, in place, atomically for readers: the site lock is held while its folder
        is written, and on any failure the folder is put back as it was. Returns whether its title
        changed (then every page's navigation is out of date: the caller rebuilds the language)."""
        from mkdocs.commands.build import _build_page, _populate_page

        files = self.keep.files
        page = files.get_file_from_path(src_path).page
        folder = Path(page.file.abs_dest_path).parent
        own_folder = folder != self.site_dir  # a page's own folder holds only what its render writes
        index = self._search()
        title = page.title
        with self.lock:
            saved = {p: p.read_bytes() for p in folder.iterdir() if p.is_file()} if folder.is_dir() else {}
            entries = list(index.entries) if index is not None else None
            try:
                if own_folder:  # figures that are gone from the page go from its folder, as in a full build
                    for p in saved:
                        p.unlink()
                with _strict(f"{self.lang}: {src_path}"):
                    if index is not None:  # this page's entries are replaced by the ones its render adds
                        index.entries[:] = [e for e in index.entries if str(e.get("location", "")).split("#")[0] != page.url]
                    _populate_page(page, self.config, files)
                    doc_files = files.documentation_pages()
                    _build_page(page, self.config, doc_files, self.keep.nav, self.keep.env)
                    page.validate_anchor_links(files=files, log_level=self.config.validation.links.anchors)
            except BaseException:
                if folder.is_dir():
                    for p in folder.iterdir():
                        if p.is_file() and p not in saved:
                            p.unlink()
                for p, data in saved.items():
                    p.parent.mkdir(parents=True, exist_ok=True)
                    p.write_bytes(data)
                if entries is not None:
                    index.entries[:] = entries
                raise
        self.post_build_pending = True
        return page.title != title

    def post_build(self) -> None:
        """mkdocs' on_post_build for what was rendered page by page: the search index (this process keeps
        every page's entries) and the shared notebook.css. Readers wait while it writes."""
        if not self.post_build_pending:
            return
        self.post_build_pending = False
        with self.lock, _strict(f"{self.lang}: on_post_build"):
            self.config.plugins.on_post_build(config=self.config)

    def copy_asset(self, rel: str) -> bool:
        """Copy docs/assets/<rel> into this language's docs tree and site; False if mkdocs does not know
        the file (a new one: the caller rebuilds the language)."""
        src = DOCS / "assets" / rel
        file = self.keep.files.get_file_from_path(f"assets/{rel}")
        if file is None or not src.is_file() or file.is_documentation_page():
            return False
        shutil.copy2(src, self.docs_dir / "assets" / rel)
        with self.lock:
            file.copy_file()
        return True


# ------------------------------------------------------------------------------------- browser channel

@dataclass
class _Client:
    page: str
    lang: str
    events: queue.Queue = field(default_factory=queue.Queue)


class Hub:
    """Who is looking at which page, what changed since which version, and what is broken now."""

    def __init__(self) -> None:
        self.instance = uuid.uuid4().hex[:8]  # a restarted server reloads every page it did not send
        self.generation = 0
        self.changed_at: dict[str, int] = {}  # page path → generation it last changed at
        self.lang_changed_at: dict[str, int] = {}  # a whole language rebuilt
        self.problems: dict[str, str] = {}  # source file → what is wrong with it now
        self.clients: list[_Client] = []
        self.mutex = threading.Lock()

    def version(self) -> str:
        return f"{self.instance}:{self.generation}"

    def changed(self, pages: set[str] = frozenset(), langs: set[str] = frozenset()) -> None:
        """Record that `pages` (or every page of `langs`) changed, and tell the browsers showing them."""
        if not pages and not langs:
            return
        with self.mutex:
            self.generation += 1
            for p in pages:
                self.changed_at[p] = self.generation
            for lang in langs:
                self.lang_changed_at[lang] = self.generation
            for c in self.clients:
                if c.page in pages or c.lang in langs:
                    c.events.put(("reload", {"generation": self.generation}))

    def stale(self, page: str, lang: str, version: str) -> bool:
        """Whether a page sent at `version` has changed since (or was sent by another server process)."""
        instance, _, gen = version.partition(":")
        if instance != self.instance or not gen.isdigit():
            return True
        return max(self.changed_at.get(page, 0), self.lang_changed_at.get(lang, 0)) > int(gen)

    def problem_text(self) -> str:
        return "\n\n".join(self.problems.values())

    def set_problems(self, fixed: set[str], found: dict[str, str]) -> None:
        """Forget the problems of the files in `fixed`, add `found`; tell every browser what is left."""
        with self.mutex:
            before = dict(self.problems)
            for key in fixed:
                self.problems.pop(key, None)
            self.problems.update(found)
            if self.problems == before:
                return
            event = ("problem", {"message": self.problem_text()}) if self.problems else ("fine", {})
            for c in self.clients:
                c.events.put(event)

    def attach(self, client: _Client) -> None:
        with self.mutex:
            self.clients.append(client)

    def detach(self, client: _Client) -> None:
        with self.mutex:
            if client in self.clients:
                self.clients.remove(client)


# ----------------------------------------------------------------------------------------- the server

class _Handler(BaseHTTPRequestHandler):
    """Files of the served languages, the reload script and its event stream; nothing else."""

    server: DevServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would bury the rebuild messages

    def do_HEAD(self) -> None:
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:
        state = self.server.state
        path = unquote(urlsplit(self.path).path)
        if path == "/__reload.js":
            return self._send(200, state.reload_js, "text/javascript; charset=utf-8", head)
        if path == "/__events":
            return self._events()
        state.ready.wait()
        if path == "/":
            return self._redirect(f"/{self._preferred_language()}/")
        lang = path.split("/")[1]
        with state.lock:  # the worker holds it while it writes a site folder: never a half-written file
            root = state.live.get(lang)
            if root is None:
                if lang in state.langs:
                    return self._unavailable(lang, head)
                return self._not_found(head)
            target = (root / path[len(lang) + 2:]).resolve()
            if not target.is_relative_to(root.resolve()):
                return self._not_found(head)
            if target.is_dir():
                if not path.endswith("/"):
                    return self._redirect(path + "/")
                target = target / "index.html"
            if not target.is_file():
                return self._not_found(head)
            data, version = target.read_bytes(), state.hub.version()
        if target.suffix == ".html":
            return self._send(200, _inject(data, version), "text/html; charset=utf-8", head)
        etag = f'"{hashlib.sha1(data).hexdigest()[:16]}"'
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, b"", None, head, {"ETag": etag})
        return self._send(200, data, _content_type(target), head, {"ETag": etag, "Cache-Control": "no-cache"})

    def _preferred_language(self) -> str:
        state = self.server.state
        for part in (self.headers.get("Accept-Language") or "").split(","):
            tag = part.split(";")[0].strip().lower()[:2]
            if tag in state.live:
                return tag
        return SOURCE_LANG if SOURCE_LANG in state.langs else state.langs[0]

    def _send(self, status: int, body: bytes, ctype: str | None, head: bool, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if ctype and ctype.startswith("text/html"):
            self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _redirect(self, where: str) -> None:
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _not_found(self, head: bool) -> None:
        state = self.server.state
        page = state.live.get(SOURCE_LANG, Path("/nonexistent")) / "404.html"
        body = _inject(page.read_bytes(), state.hub.version()) if page.is_file() else b"not found"
        self._send(404, body, "text/html; charset=utf-8", head)

    def _unavailable(self, lang: str, head: bool) -> None:
        """A language with no good build yet: its error, on a page that reloads once it builds."""
        state = self.server.state
        text = html.escape(state.hub.problem_text() or "the first build is not finished")
        page = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'self'; connect-src 'self'\">"
                f"<title>make serve: {lang} did not build</title></head><body><h1>{lang}: no good build yet</h1>"
                f"<pre>{text}</pre></body></html>")
        self._send(503, _inject(page.encode(), state.hub.version()), "text/html; charset=utf-8", head)

    def _events(self) -> None:
        """Server-sent events for one open page: reload / problem / fine (see tools/reload.js)."""
        state = self.server.state
        query = parse_qs(urlsplit(self.path).query)
        page = (query.get("page") or [""])[0]
        client = _Client(page=page, lang=page.split("/")[1] if page.count("/") >= 2 else "")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        state.hub.attach(client)
        try:
            state.ready.wait()
            if state.hub.stale(page, client.lang, (query.get("version") or [""])[0]):
                client.events.put(("reload", {}))
            if state.hub.problems:
                client.events.put(("problem", {"message": state.hub.problem_text()}))
            while not state.stopping.is_set():
                try:
                    name, data = client.events.get(timeout=10)
                    self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                except queue.Empty:
                    self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
        except OSError:  # the page went away
            pass
        finally:
            state.hub.detach(client)


def _inject(page: bytes, version: str) -> bytes:
    """The page with the reload script before </head> (or at the end): a same-origin file, which the
    page's CSP allows by 'self'; nothing inline."""
    tag = f'<script src="/__reload.js" data-serve="{version}" defer></script>'.encode()
    at = page.lower().find(b"</head>")
    return page[:at] + tag + page[at:] if at >= 0 else page + tag


def _content_type(path: Path) -> str:
    import mimetypes

    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind in ("application/javascript", "application/json") else kind


class DevServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, state: Serve):
        self.state = state
        super().__init__(("127.0.0.1", port), _Handler)


# ------------------------------------------------------------------------------------------- watching

@dataclass(frozen=True)
class Change:
    """One source file that changed: what it is (`kind`) and where it lies."""

    kind: str  # notebook | page | asset | snippet | glossary | config
    path: Path
    lang: str = ""  # notebook, page; config: "" = every language
    name: str = ""  # notebook: topic; page: path in the docs tree; asset: path under docs/assets/


_IGNORED = (".swp", ".swx", ".swo", "~", ".tmp", ".part", ".crdownload")


def classify(path: Path) -> Change | None:
    """What an edited path means for the site, or None for files the site does not read."""
    try:
        rel = path.relative_to(ROOT)
    except ValueError:
        return None
    parts = rel.parts
    if not parts or any(p.startswith(".") or p in ("__pycache__", "4913") for p in parts) or rel.name.endswith(_IGNORED):
        return None
    if rel.name.startswith("#"):  # emacs autosave
        return None
    if parts[0] == "notebooks" and len(parts) == 3 and rel.suffix == ".ipynb":
        return Change("notebook", path, parts[1], rel.stem)
    if parts[0] == "docs" and len(parts) >= 3 and parts[1] == "assets":
        return Change("asset", path, "", "/".join(parts[2:]))
    if parts[0] == "docs" and len(parts) >= 3:
        return Change("page", path, parts[1], "/".join(parts[2:]))
    if parts[0] == "snippets" and rel.suffix == ".py":
        return Change("snippet", path)
    if rel.as_posix() == "glossary.yml":
        return Change("glossary", path)
    if rel.as_posix() == "mkdocs.yml" or parts[0] == "overrides":
        return Change("config", path)
    if len(parts) == 1 and rel.name.startswith("mkdocs.") and rel.suffix == ".yml":
        return Change("config", path, rel.name.split(".")[1])
    return None


def start_watcher(on_path, poll: float | None):
    """watchdog's observer on the watched folders and files; `on_path(Path)` for every event."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event):
            if event.is_directory or event.event_type in ("opened", "closed_no_write"):
                return
            for p in (event.src_path, getattr(event, "dest_path", "")):
                if p:
                    on_path(Path(os.fsdecode(p)))

    observer = PollingObserver(timeout=poll) if poll else Observer()
    handler = Handler()
    for d in WATCHED_DIRS:
        if (ROOT / d).is_dir():
            observer.schedule(handler, str(ROOT / d), recursive=True)
    observer.schedule(handler, str(ROOT), recursive=False)  # glossary.yml, mkdocs*.yml
    observer.daemon = True
    observer.start()
    return observer


# ------------------------------------------------------------------------------------------ the engine

class _Quiet(io.TextIOBase):
    """stdout for `execute_all` after the first run: its progress lines pass, the sandbox description it
    prints on every call (already shown once) does not."""

    def __init__(self, out, drop: set[str]):
        self.out, self.drop, self.buf = out, drop, ""

    def write(self, s: str) -> int:
        self.buf += s
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            if line not in self.drop:
                self.out.write(line + "\n")
                self.out.flush()
        return len(s)

    def flush(self) -> None:
        self.out.flush()


@dataclass
class _Outcome:
    """What processing one burst of edits did."""

    pages: set[str] = field(default_factory=set)  # served paths rendered again
    langs: set[str] = field(default_factory=set)  # languages built again whole
    executed: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)  # source files processed without a problem


class Serve:
    """The dev server's state and its one worker: every build step runs in the thread that calls `run`."""

    def __init__(self, jobs: int | None = None):
        from tools.notebooks import languages

        self.jobs = jobs
        self.langs = languages()
        self.lock = threading.RLock()  # held while a served folder is written; requests wait for it
        self.live: dict[str, Path] = {}  # language → folder served now
        self.sites: dict[str, LanguageSite] = {}
        self.hub = Hub()
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.events: queue.Queue[Path] = queue.Queue()
        self.reload_js = RELOAD_JS.read_bytes()
        self.seen: dict[Path, str] = {}  # file → digest of the content last processed
        self.builds = 0
        self.quiet_lines: set[str] | None = None
        self.pending_topics: set[str] = set()  # edited topics whose dependents wait for a pause

    # -- helpers

    def _digest(self, path: Path) -> str:
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return "absent"

    @contextlib.contextmanager
    def _locked(self):
        """The tree's build lock (tools/build_lock.py) for one step: `make build` and this process share
        build/jupyter-cache and build/render-cache. Waits while another build holds it."""
        from tools.build_lock import build_lock

        said = False
        while True:
            try:
                with build_lock("serve"):
                    yield
                return
            except BuildError as e:
                if "another build" not in str(e):
                    raise
                if not said:
                    _say(f"serve: waiting: {e}")
                    said = True
                time.sleep(0.5)

    def _execute(self, notebooks) -> list[str]:
        """`execute_all` into build/serve/executed; returns the names of the notebooks it executed."""
        from tools.execute import execute_all

        if self.quiet_lines is None:
            from tools.sandbox import sandbox

            self.quiet_lines = set(sandbox().describe().splitlines())
            stats = execute_all(notebooks, out_dir=EXECUTED, jobs=self.jobs)
        else:
            with contextlib.redirect_stdout(_Quiet(sys.stdout, self.quiet_lines)):
                stats = execute_all(notebooks, out_dir=EXECUTED, jobs=self.jobs)
        return list(stats.executed)

    def _new_site(self, lang: str) -> LanguageSite:
        self.builds += 1
        return LanguageSite(lang, SERVE / "docs" / f"{lang}-{self.builds}", SERVE / "site" / f"{lang}-{self.builds}", self.lock)

    def build_language(self, lang: str) -> float:
        """Assemble and build `lang` whole into a new folder; it replaces the served one only if it built."""
        if not config_file(lang).exists():
            raise BuildError(f"notebooks/{lang}/ exists but {config_file(lang).name} does not (run `make new-language LANG={lang}`)")
        site = self._new_site(lang)
        for entry in _site_module().drop_broken_render_cache(lang):
            _say(f"{_rel(entry)}: unreadable render cache entry removed (a build was interrupted)")
        assemble(lang, EXECUTED, site.docs_dir)
        try:
            seconds = site.build()
        except BaseException:
            shutil.rmtree(site.site_dir, ignore_errors=True)
            shutil.rmtree(site.docs_dir, ignore_errors=True)
            raise
        old = self.sites.get(lang)
        with self.lock:
            self.sites[lang], self.live[lang] = site, site.site_dir
        if old is not None:
            shutil.rmtree(old.site_dir, ignore_errors=True)
            shutil.rmtree(old.docs_dir, ignore_errors=True)
        return seconds

    # -- startup

    def start(self) -> None:
        """Execute (cached) and build every language; a language that fails is served as its error."""
        from tools.notebooks import all_notebooks

        for leftover in ("site", "docs", "generated", "pages"):  # an earlier session's renders
            shutil.rmtree(SERVE / leftover, ignore_errors=True)
        t0 = time.perf_counter()
        notebooks = all_notebooks()
        for nbf in notebooks:
            self.seen[nbf.path] = self._digest(nbf.path)
        with self._locked():
            try:
                self._execute(notebooks)
            except Exception as e:  # noqa: BLE001 - one topic at a time then, so that one broken topic does not stop the rest
                _say(f"\nerror: {_message(e)}\nserve: executing the topics one by one")
                for topic in sorted({n.topic for n in notebooks}):
                    try:
                        self._execute([n for n in notebooks if n.topic == topic])
                    except Exception as e2:  # noqa: BLE001 - named, shown in the browser, and served as the last good page
                        key = next(n.rel for n in notebooks if n.topic == topic)
                        self.hub.set_problems(set(), {key: _message(e2)})
                        _say(f"error: {_message(e2)}")
            _site_module().prune_executed(EXECUTED)
            for lang in self.langs:
                try:
                    seconds = self.build_language(lang)
                    _say(f"serve: built {lang} in {seconds:.1f} s")
                except BuildError as e:
                    self.hub.set_problems(set(), {f"mkdocs.{lang}.yml": str(e)})
                    _say(f"\nerror: {e}\nserve: {lang} has no good build; fix the problem and save")
        self.ready.set()
        _say(f"serve: ready in {time.perf_counter() - t0:.1f} s")

    # -- the loop

    def on_path(self, path: Path) -> None:
        if classify(path) is not None:
            self.events.put(path)

    def run(self) -> None:
        """Process bursts of edits until stopped; after each pause, the deferred part of the rebuilds."""
        while not self.stopping.is_set():
            pending = bool(self.pending_topics) or any(s.post_build_pending for s in self.sites.values())
            try:
                first = self.events.get(timeout=IDLE_S if pending else 0.5)
            except queue.Empty:
                if pending:
                    self.after_pause()
                continue
            burst = {first}
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                try:
                    burst.add(self.events.get(timeout=QUIET_S))
                except queue.Empty:
                    break
            self.process(burst)

    def after_pause(self) -> _Outcome:
        """Once the saves pause, what depends on them: the other languages' pages of each edited topic (a
        translation's stale notice compares it with its source), the translation-status pages, the source
        checks as notes; then mkdocs' on_post_build of each language that had pages rendered alone."""
        from tools.notebooks import all_notebooks

        out, t0, full = _Outcome(), time.perf_counter(), set()
        topics, self.pending_topics = sorted(self.pending_topics), set()
        try:
            with self._locked():
                if topics:
                    notebooks = all_notebooks()
                    for topic in topics:
                        group = [n for n in notebooks if n.topic == topic and n.path.is_file()]
                        if group:
                            self._topic(topic, group, {n.lang for n in group} & set(self.sites), full, out, dependents=True)
                    self._generated(set(self.sites), out, f"notebooks/{SOURCE_LANG}/", only="translation-status.md")
                    self._source_notes(topics, notebooks)
                for lang in sorted(full):  # a new page, or a title that changed, in a dependent
                    self.build_language(lang)
                    self._publish(out, langs={lang})
        except Exception as e:  # noqa: BLE001 - as in `process`: say it, keep serving
            traceback.print_exc()
            out.problems["notebooks/"] = f"updating what depends on the edits failed unexpectedly: {type(e).__name__}: {e}"
        if out.pages:
            _say(f"serve: then rendered {', '.join(sorted(out.pages))} (what depends on the edits, "
                 f"{time.perf_counter() - t0:.1f} s)")
        for key, message in out.problems.items():
            _say(f"\nerror: {message}\nserve: {key}: the last good page stays served")
        if out.problems:
            self.hub.set_problems(set(), out.problems)
        self._post_build()
        return out

    def _post_build(self) -> None:
        """on_post_build of each language that had pages rendered alone."""
        for lang, site in list(self.sites.items()):
            if not site.post_build_pending:
                continue
            t0 = time.perf_counter()
            try:
                with self._locked():
                    site.post_build()
            except BuildError as e:
                _say(f"\nerror: {e}")
                continue
            _say(f"serve: {lang}: search index and notebook.css brought up to date ({time.perf_counter() - t0:.1f} s)")

    def process(self, paths: set[Path]) -> _Outcome:
        """Rebuild what `paths` changed; the edited pages first and the browsers told, then what depends on
        them. Problems are printed and shown in the browsers; the last good pages stay served."""
        t0 = time.perf_counter()
        changes = []
        for p in sorted(paths):
            digest = self._digest(p)
            if self.seen.get(p) == digest:
                continue  # saved without a change, or an event of a file we already processed
            self.seen[p] = digest
            if (c := classify(p)) is not None:
                changes.append(c)
        if not changes:
            return _Outcome()
        out = _Outcome()
        try:
            with self._locked():
                self._process(changes, out, t0)
        except Exception as e:  # noqa: BLE001 - a bug in a build step must not end the server: say it, keep serving
            traceback.print_exc()
            out.problems[_rel(changes[0].path)] = f"{_rel(changes[0].path)}: the rebuild failed unexpectedly: {type(e).__name__}: {e}"
        self.hub.set_problems(out.done, out.problems)
        for key, message in out.problems.items():
            _say(f"\nerror: {message}\nserve: {key}: the last good page stays served")
        return out

    def _publish(self, out: _Outcome, pages: set[str] = frozenset(), langs: set[str] = frozenset()) -> None:
        out.pages |= pages
        out.langs |= langs
        self.hub.changed(set(pages), set(langs))

    def _process(self, changes: list[Change], out: _Outcome, t0: float) -> None:
        from tools.notebooks import all_notebooks, languages

        cpu0 = time.process_time()
        if languages() != self.langs:
            out.problems["notebooks/"] = ("the languages changed (a language folder was added or removed): "
                                          "stop `make serve` and start it again")
            return
        full = {lang for lang in self.langs if lang not in self.sites}  # no good build yet: try again
        for c in changes:
            if c.kind == "config":
                full |= {c.lang} if c.lang else set(self.langs)
        notebooks = all_notebooks()
        edited = [c for c in changes if c.kind == "notebook"]
        topics = sorted({c.name for c in edited})

        # 1. The edited pages first, and the browsers told at once.
        for topic in topics:
            langs = {c.lang for c in edited if c.name == topic}
            for lang in [lang for lang in langs if not (NOTEBOOKS / lang / f"{topic}.ipynb").is_file()]:
                (EXECUTED / lang / f"{topic}.ipynb").unlink(missing_ok=True)  # a deleted topic
                full.add(lang)
                langs.discard(lang)
            if langs:  # a translation's stale notice compares it with its source: both go through execute_all
                wanted = langs | ({SOURCE_LANG} if langs - {SOURCE_LANG} else set())
                self._topic(topic, [n for n in notebooks if n.topic == topic and n.lang in wanted], langs, full, out)
        for c in changes:
            if c.kind == "page":  # docs/<source>/ also serves the languages that have no pages of their own
                borrowers = {lang for lang in self.langs if not (DOCS / lang).is_dir()} if c.lang == SOURCE_LANG else set()
                for lang in ({c.lang} | borrowers) - full:
                    self._hand_page(c, lang, full, out)
        if any(c.kind == "asset" for c in changes):
            self._assets([c for c in changes if c.kind == "asset"], full, out)
        if any(c.kind == "glossary" for c in changes):
            self._generated(set(self.langs) - full, out, "glossary.yml")
        if out.pages:
            _say(f"serve: rendered {', '.join(sorted(out.pages))} · {len(out.executed)} executed "
                 f"· {time.perf_counter() - t0:.2f} s after the save ({time.process_time() - cpu0:.2f} s CPU)")

        # 2. Languages built whole: configs, templates, pages added or removed, a changed title.
        for lang in sorted(full):
            try:
                seconds = self.build_language(lang)
            except BuildError as e:
                key = next((_rel(c.path) for c in changes if c.kind == "config"), f"mkdocs.{lang}.yml")
                out.problems[key] = str(e)
                continue
            self._publish(out, langs={lang})
            out.done.add(f"mkdocs.{lang}.yml")
            _say(f"serve: built {lang} whole in {seconds:.1f} s")

        # 3. What depends on the edits: the other languages of an edited topic (the stale-translation
        #    notice), the translation-status pages; then the source checks, as notes.
        # 3. What depends on the edits waits for a pause in the saves (`after_pause`).
        broken = {topic for topic in topics if any(k.startswith(f"{NOTEBOOKS.name}/") and k.endswith(f"/{topic}.ipynb") for k in out.problems)}
        self.pending_topics |= set(topics) - broken
        if any(c.kind == "snippet" for c in changes):
            self._snippet_notes()
        out.done |= {_rel(c.path) for c in changes} - set(out.problems)

    def _topic(self, topic: str, group, langs: set[str], full: set[str], out: _Outcome, dependents: bool = False) -> None:
        """Re-make the executed copies of `group` (the execution cache is keyed on code: a prose edit
        executes nothing, a code edit executes the topic once) and render each page of `langs` whose copy
        differs from the one its served page was built from."""
        key = next((n.rel for n in group if n.lang in langs), group[0].rel)
        if not dependents:
            self._announce_code_edit(group, langs)
        try:
            out.executed += self._execute(group)
        except BuildError as e:
            out.problems[key] = str(e)
            return
        for lang in sorted(langs - full):
            try:
                source = page_notebook(lang, EXECUTED / lang / f"{topic}.ipynb", SERVE / "pages" / lang)
            except Exception as e:  # noqa: BLE001 - figure_text names the notebook and cell; shown, last good page kept
                out.problems[key] = _message(e)
                continue
            self._render(lang, f"topics/{topic}.ipynb", source, full, out, key)

    def _announce_code_edit(self, group, langs: set[str]) -> None:
        """Say so before a code edit executes (it takes seconds): which topic, and that only it runs."""
        from tools.notebooks import code_key

        for n in group:
            if n.lang not in langs:
                continue
            try:
                new = code_key(n.read())
                old = json.loads((EXECUTED / n.lang / f"{n.topic}.ipynb").read_text(encoding="utf-8"))
                was = old.get("metadata", {}).get("pytorch_docs", {}).get("code_key")
            except (BuildError, OSError, ValueError):
                continue  # execute_all names a malformed notebook
            if new != was:
                _say(f"serve: {n.rel}: code changed: executing topic {n.topic} (only it)")
                return

    def _render(self, lang: str, src_path: str, source: Path, full: set[str], out: _Outcome, key: str) -> None:
        """Copy `source` into the language's docs tree as `src_path` and render that page alone, unless it
        is what the served page was built from already."""
        site = self.sites[lang]
        if not site.has_page(src_path):  # a new page: the files and the navigation change
            full.add(lang)
            return
        dst = site.docs_dir / src_path
        previous = dst.read_bytes() if dst.is_file() else None
        data = source.read_bytes()
        if data == previous:
            return
        dst.write_bytes(data)
        try:
            title_changed = site.render_page(src_path)
        except BuildError as e:
            if previous is not None:
                dst.write_bytes(previous)  # the docs tree stays what the served page was built from
            out.problems[key] = str(e)
            return
        self._publish(out, pages={site.page_url(src_path)})
        if title_changed:
            _say(f"serve: {lang}/{src_path}: its title changed: building {lang} whole (every page's navigation shows it)")
            full.add(lang)

    def _hand_page(self, c: Change, lang: str, full: set[str], out: _Outcome) -> None:
        """A hand-written page of docs/<lang>/, rendered alone; added or removed, the language is built whole."""
        if lang not in self.sites or not c.path.is_file() or not self.sites[lang].has_page(c.name):
            full.add(lang)
            return
        self._render(lang, c.name, c.path, full, out, _rel(c.path))

    def _assets(self, changes: list[Change], full: set[str], out: _Outcome) -> None:
        for lang, site in self.sites.items():
            if lang in full:
                continue
            if all(site.copy_asset(c.name) for c in changes):
                self._publish(out, langs={lang})
            else:
                full.add(lang)

    def _generated(self, langs: set[str], out: _Outcome, key: str, only: str | None = None) -> None:
        """Write the generated pages (tools/generated_pages.py) again; render those that changed."""
        from tools import generated_pages

        for lang in sorted(langs & set(self.sites)):
            scratch = SERVE / "generated" / lang
            scratch.mkdir(parents=True, exist_ok=True)
            try:
                generated_pages.write_all(lang, scratch)
            except BuildError as e:
                out.problems[key] = str(e)
                continue
            for page in sorted(p.name for p in scratch.iterdir()):
                if only and page != only:
                    continue
                self._render(lang, page, scratch / page, set(), out, key)

    def _source_notes(self, topics: list[str], notebooks) -> None:
        """The source checks `make build` starts with, for the edited topics: printed, not a gate here."""
        from tools.checks import committed_outputs, structure_parity
        from tools.snippets import find_drift

        group = [n for n in notebooks if n.topic in topics and n.path.is_file()]
        try:
            notes = structure_parity(group) + committed_outputs(group) + [str(d) for d in find_drift(group)]
        except BuildError as e:
            notes = [str(e)]
        for note in notes:
            _say(f"serve: note (`make build` refuses this until it is fixed): {note}")

    def _snippet_notes(self) -> None:
        from tools.snippets import find_drift

        try:
            drift = find_drift()
        except BuildError as e:
            _say(f"serve: note: {e}")
            return
        for d in drift:
            _say(f"serve: note: {d}")
        if not drift:
            _say("serve: snippets: every notebook copy is current (pages unchanged)")


def _message(e: BaseException) -> str:
    """A BuildError's message as it is (it names the file and cell); anything else with its type."""
    return str(e) if isinstance(e, BuildError) else f"{type(e).__name__}: {e}"


def _site_module():
    from tools import site

    return site


# ----------------------------------------------------------------------------------------------- main

def _free_or_given(port: int) -> socket.socket:
    """Bind 127.0.0.1:`port` now (0: a free port), so that the site is built for the origin it is served on."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
    except OSError as e:
        s.close()
        raise BuildError(f"cannot serve on 127.0.0.1:{port}: {e.strerror} (another server? try --port 0)") from None
    return s


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools serve",
        description="Serve both languages on 127.0.0.1, rebuild what a save changed, reload the open page.")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000; 0: a free one, printed)")
    p.add_argument("--jobs", default=None, help="notebooks executed at once (default: JOBS, else the number of CPUs)")
    p.add_argument("--poll", type=float, default=None, metavar="SECONDS",
                   help="poll the files every SECONDS instead of using inotify (network or container filesystems)")
    return p


def main(argv: list[str]) -> int:
    """`python -m tools serve [--port N] [--jobs N] [--poll S]`; returns the exit status."""
    args = parser().parse_args(argv)
    if not 0 <= args.port < 65536:
        parser().error(f"--port {args.port}: not a port number")
    try:
        from tools.execute import resolve_jobs

        jobs = resolve_jobs(args.jobs, "--jobs") if args.jobs is not None else None
        sock = _free_or_given(args.port)
    except BuildError as e:
        print(f"serve: {e}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    sock.close()  # bound long enough to learn the port; the server binds it again at once
    origin = f"http://127.0.0.1:{port}/"
    if os.environ.get("SITE_URL", origin) != origin:
        _say(f"serve: SITE_URL={os.environ['SITE_URL']} is ignored here: pages link to {origin}")
    os.environ["SITE_URL"] = origin
    from tools.build_lock import build_lock, holder

    try:
        one_server = build_lock("serve", path=SERVE / ".lock")
        one_server.__enter__()  # held until this process ends: build/serve/ is this server's
    except BuildError:
        print(f"serve: another `make serve` ({holder(SERVE / '.lock')}) serves this tree; stop it first", file=sys.stderr)
        return 2
    warm_notebook_rendering()
    state = Serve(jobs)
    try:
        httpd = DevServer(port, state)
    except OSError as e:
        print(f"serve: cannot serve on 127.0.0.1:{port}: {e.strerror}", file=sys.stderr)
        return 2
    threading.Thread(target=httpd.serve_forever, name="http", daemon=True).start()
    _say(f"serve: {origin} (zh: {origin}zh/, en: {origin}en/) · building first")
    observer = start_watcher(state.on_path, args.poll)
    import signal

    signal.signal(signal.SIGTERM, _interrupt)  # `kill`: stop as Ctrl-C does (kernels stop, nothing half-written)
    try:
        state.start()
        _say(f"serve: watching {', '.join(d + '/' for d in WATCHED_DIRS)}, glossary.yml, mkdocs*.yml · "
             f"open {origin} · Ctrl-C stops")
        state.run()
    except KeyboardInterrupt:
        _say("\nserve: stopped")
    except BuildError as e:
        print(f"\nerror: {e}", file=sys.stderr)
        return 1
    finally:
        state.stopping.set()
        observer.stop()
        httpd.shutdown()
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
