"""`make serve` (tools/serve.py): a save rebuilds what it changed and the open page reloads itself.

One server for the module, started the way `make serve` starts it (`python -m tools.serve`), on a copy of
the repository whose execution and render caches are seeded from build/ (so only what a test changes
executes), on a free port (`--port 0`: port 8000 may be taken). Nothing here asserts a wall time: the
timeouts only stop a hung test. The tests run in order: each leaves the notebook it edited good.
"""
from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import copy_repo, run_tools, seed_caches

from benchmarks.serve import edit  # the benchmark's editor: a save as an editor makes it
from tools.serve import Change, _inject, classify

TOPIC = "parameter"
VISIBLE_JS = "(marker) => !!document.body && document.body.textContent.includes(marker)"


class Server:
    """`python -m tools.serve --port 0` on a copy; every output line is kept and can be waited for."""

    def __init__(self, repo: Path):
        env = {**os.environ, "PYTORCH_DOCS_ROOT": str(repo), "PYTHONPATH": str(repo), "PYTHONUNBUFFERED": "1"}
        env.pop("SITE_URL", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "tools.serve", "--port", "0"], cwd=repo, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.log: list[str] = []
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.origin = self.wait(r"^serve: (http://127\.0\.0\.1:\d+/)")[1]

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.log.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))

    def wait(self, pattern: str, timeout: float = 600) -> re.Match:
        """The next line matching `pattern`; the lines before it are consumed (see `since`)."""
        end = time.monotonic() + timeout
        while True:
            if self.lines.empty() and self.proc.poll() is not None:
                time.sleep(0.2)  # the reader thread's last lines
                if self.lines.empty():
                    pytest.fail(f"serve exited ({self.proc.returncode}); its output:\n" + "\n".join(self.log[-60:]))
            try:
                line = self.lines.get(timeout=min(1.0, max(0.01, end - time.monotonic())))
            except queue.Empty:
                if time.monotonic() < end:
                    continue
                pytest.fail(f"serve printed no line matching /{pattern}/; its output:\n" + "\n".join(self.log[-60:]))
            if m := re.search(pattern, line):
                return m

    def settle(self, quiet: float = 4.0) -> list[str]:
        """Every line until the server has been silent for `quiet` seconds (its deferred work done)."""
        got = []
        while True:
            try:
                got.append(self.lines.get(timeout=quiet))
            except queue.Empty:
                return got

    def get(self, path: str) -> str:
        with urllib.request.urlopen(self.origin + path.lstrip("/"), timeout=120) as r:
            return r.read().decode("utf-8")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return seed_caches(copy_repo(tmp_path_factory.mktemp("serve")))


@pytest.fixture(scope="module")
def server(repo: Path):
    s = Server(repo)
    try:
        s.wait(r"^serve: watching")
        s.settle()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def page(server: Server, browser):
    """A browser tab on the zh topic page; console errors (a CSP violation among them) are collected.
    The suite's one chromium (conftest `browser`): playwright's sync API allows one at a time."""
    context = browser.new_context()
    tab = context.new_page()
    tab.console_errors = []
    tab.on("console", lambda m: tab.console_errors.append(m.text) if m.type == "error" else None)
    tab.goto(f"{server.origin}zh/topics/{TOPIC}/")
    tab.wait_for_function("() => document.readyState === 'complete'")
    yield tab
    context.close()


# ------------------------------------------------------------------------------------- without a server

def test_classify_maps_each_watched_source_to_what_it_changes():
    from tools.paths import ROOT

    assert classify(ROOT / "notebooks/zh/init.ipynb") == Change("notebook", ROOT / "notebooks/zh/init.ipynb", "zh", "init")
    assert classify(ROOT / "docs/en/index.md") == Change("page", ROOT / "docs/en/index.md", "en", "index.md")
    assert classify(ROOT / "docs/assets/site.css").kind == "asset"
    assert classify(ROOT / "mkdocs.en.yml") == Change("config", ROOT / "mkdocs.en.yml", "en")
    assert classify(ROOT / "overrides/main.html") == Change("config", ROOT / "overrides/main.html", "")
    assert classify(ROOT / "glossary.yml").kind == "glossary"
    assert classify(ROOT / "snippets/selfcheck.py").kind == "snippet"
    for ignored in ("notebooks/zh/.init.ipynb.swp", "notebooks/zh/init.ipynb~", "notebooks/zh/.ipynb_checkpoints/init-checkpoint.ipynb",
                    "notebooks/zh/drafts/init.ipynb", "notebooks/init.ipynb",
                    "tools/site.py", "build/serve/docs/zh-1/index.md", "README.md"):
        assert classify(ROOT / ignored) is None, ignored


def test_the_reload_script_is_a_same_origin_file_not_inline_code():
    page = b"<html><head><meta charset=utf-8><title>t</title></head><body>x</body></html>"
    out = _inject(page, "abc:3")
    assert out == page.replace(b"</head>", b'<script src="/__reload.js" data-serve="abc:3" defer></script></head>')


WARM_CHECK = """
import sys
from mkdocs_jupyter import nbconvert2
from tools.serve import warm_notebook_rendering
cold = nbconvert2.nb2html(sys.argv[1])
applied = warm_notebook_rendering()
warm = [nbconvert2.nb2html(sys.argv[1]) for _ in range(2)]
print(applied, cold == warm[0] == warm[1])
"""


def test_warm_notebook_rendering_changes_no_byte_of_a_page():
    """The dev server's template and highlighting caches (a separate process: they patch the libraries)."""
    from tools.paths import ROOT

    proc = subprocess.run([sys.executable, "-c", WARM_CHECK, str(ROOT / "notebooks/zh" / f"{TOPIC}.ipynb")],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert proc.stdout.strip() == "['code', 'templates'] True", proc.stdout + proc.stderr


# ---------------------------------------------------------------------------------------- with a server

def test_prose_edit_renders_the_page_without_executing_and_the_open_page_reloads(repo, server, page):
    page.evaluate("() => { window.beforeTheEdit = true; }")
    marker = "serve-test-prose-edit"
    edit(repo / "notebooks/zh" / f"{TOPIC}.ipynb", "markdown", lambda s: s + f"\n\n{marker}")
    page.wait_for_function(VISIBLE_JS, arg=marker, timeout=300_000)
    assert page.evaluate("() => window.beforeTheEdit") is None, "the page was patched, not loaded again"
    lines = server.settle()
    log = "\n".join(server.log)
    assert f"rendered /zh/topics/{TOPIC}/ · 0 executed" in log
    assert not [line for line in lines if "executed in" in line], lines
    assert marker in (repo / "build/serve/executed/zh" / f"{TOPIC}.ipynb").read_text(encoding="utf-8")
    # what depends on it: the English page now says its source changed
    assert "nb-stale" in server.get(f"en/topics/{TOPIC}/")
    assert not [e for e in page.console_errors if "Content Security Policy" in e], page.console_errors


def test_code_edit_executes_exactly_the_edited_topic(repo, server, page):
    marker = "serve-test-code-edit"
    originals = {lang: (repo / "notebooks" / lang / f"{TOPIC}.ipynb").read_bytes() for lang in ("zh", "en")}
    for lang in ("zh", "en"):  # code is shared: a contributor changes it in every language
        edit(repo / "notebooks" / lang / f"{TOPIC}.ipynb", "code", lambda s: s + f"\nprint({marker!r})")
    page.wait_for_function(VISIBLE_JS, arg=marker, timeout=600_000)
    lines = server.settle()
    executed = [line for line in server.log if "executed in" in line]
    assert len(executed) == 1 and f"/{TOPIC}.ipynb … executed in" in executed[0], executed
    assert any(f"{TOPIC}.ipynb: code changed: executing topic {TOPIC}" in line for line in server.log)
    assert marker in server.get(f"en/topics/{TOPIC}/"), "the English page shows the new output too"
    assert not [line for line in lines if line.startswith("error")], lines
    for lang, data in originals.items():  # back to the committed code (cached: nothing executes)
        (repo / "notebooks" / lang / f"{TOPIC}.ipynb").write_bytes(data)
    server.settle()


def test_bad_edits_keep_the_last_good_page_and_name_the_file_and_cell(repo, server, page):
    nb = repo / "notebooks/zh" / f"{TOPIC}.ipynb"
    good = nb.read_bytes()
    served = server.get(f"zh/topics/{TOPIC}/")
    assert "serve-test-prose-edit" in served

    nb.write_text('{"cells": [', encoding="utf-8")  # a half-saved notebook
    m = server.wait(r"^error: (.*)")
    assert f"notebooks/zh/{TOPIC}.ipynb" in m[1] and "malformed JSON" in m[1], m[1]
    page.wait_for_selector("#serve-notice", timeout=120_000)
    assert f"{TOPIC}.ipynb" in page.inner_text("#serve-notice")
    assert server.get(f"zh/topics/{TOPIC}/") == served

    nb.write_bytes(good)
    edit(nb, "markdown", lambda s: s + "\n\n<script>alert('serve-test')</script>")  # a refused payload
    m = server.wait(r"^error: (.*)")
    assert re.search(rf"notebooks/zh/{TOPIC}\.ipynb: cell \d+ .*<script>", m[1]), m[1]
    assert server.get(f"zh/topics/{TOPIC}/") == served
    assert "alert(" not in (repo / "build/serve/executed/zh" / f"{TOPIC}.ipynb").read_text(encoding="utf-8")

    # A failure inside mkdocs (a hand-written page the sanitizer refuses): the page's folder is put back.
    home = repo / "docs/zh/index.md"
    before_home, before_text = server.get("zh/"), home.read_text(encoding="utf-8")
    home.write_text(before_text + "\n\n<script>alert('serve-test')</script>\n", encoding="utf-8")
    m = server.wait(r"^error: (.*)")
    assert "index.md" in m[1], m[1]
    assert "<script>" in "\n".join(server.log[-20:])
    assert server.get("zh/") == before_home

    home.write_text(before_text, encoding="utf-8")
    nb.write_bytes(good)  # fixed: the notice goes
    page.wait_for_selector("#serve-notice", state="detached", timeout=300_000)
    server.settle()


def test_served_pages_carry_the_reload_script_and_no_written_file_does(repo, server):
    assert '<script src="/__reload.js"' in server.get(f"zh/topics/{TOPIC}/")
    written = [p for p in (repo / "build/serve").rglob("*.html") if b"__reload" in p.read_bytes()]
    assert not written, written
    assert not (repo / "site").exists(), "serve wrote into site/"
    server.stop()
    run_tools(repo, "build")  # the exact build, after serving: nothing of the dev server in it
    pages = list((repo / "site").rglob("*.html"))
    assert pages and not [p for p in pages if b"__reload" in p.read_bytes()]
