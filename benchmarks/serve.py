"""`make serve` benchmark (not a test): how long from a save to the new text in the open browser page.

Drives the real thing on a temporary copy of the repository (its execution and render caches seeded from
build/, so only what an edit changes executes): starts `python -m tools.serve --port 0`, opens a topic page
in Debian's chromium through playwright, and for each kind of edit saves the notebook and times save →
the new text in the page (the page reloads itself through /__reload.js). Each edit waits for the server to
be quiet first (its deferred search-index update done), as a person looking at the result would.

    .venv/bin/python benchmarks/serve.py [--runs N] [--topic TOPIC] [--keep]

Prints a table: median, min and max of N edits (default 5) per kind, and the executions each caused.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.paths import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

IGNORE = shutil.ignore_patterns(".venv", ".git", "build", "site", "__pycache__", ".pytest_cache", "node_modules", ".cache")
#: The page shows the text: it is in the DOM of the loaded page, and two animation frames later it is painted.
VISIBLE_JS = "(marker) => !!document.body && document.body.textContent.includes(marker)"
PAINTED_JS = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


class Server:
    """`python -m tools.serve --port 0` on a copy; its output lines are read in a thread."""

    def __init__(self, repo: Path):
        env = {**os.environ, "PYTORCH_DOCS_ROOT": str(repo), "PYTHONPATH": str(repo), "PYTHONUNBUFFERED": "1"}
        env.pop("SITE_URL", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "tools.serve", "--port", "0"], cwd=repo, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.origin = self.wait(r"^serve: (http://127\.0\.0\.1:\d+/)", 60)[1]

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.log.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))

    def wait(self, pattern: str, timeout: float) -> re.Match:
        """The next output line matching `pattern` (lines before it are consumed)."""
        end = time.monotonic() + timeout
        while True:
            if self.lines.empty() and self.proc.poll() is not None:
                time.sleep(0.2)  # the reader thread's last lines
                if self.lines.empty():
                    raise SystemExit(f"serve exited ({self.proc.returncode}); its output:\n" + "\n".join(self.log[-40:]))
            try:
                line = self.lines.get(timeout=min(1.0, max(0.01, end - time.monotonic())))
            except queue.Empty:
                if time.monotonic() < end:
                    continue
                raise SystemExit(f"serve did not print /{pattern}/ within {timeout} s; its output:\n" + "\n".join(self.log[-40:])) from None
            if m := re.search(pattern, line):
                return m

    def drain(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self.lines.get_nowait())
            except queue.Empty:
                return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def edit(path: Path, kind: str, change) -> None:
    """Change the first markdown cell or the last code cell of a notebook, as an editor saves it."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if c["cell_type"] == kind and "-ex" not in c.get("id", "")]  # not an exercise
    cell = cells[0] if kind == "markdown" else cells[-1]
    src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    cell["source"] = change(src)
    path.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def quiet(server: Server, seconds: float = 3.5) -> list[str]:
    """Wait until the server printed nothing for `seconds` (its deferred work done); returns the lines."""
    lines = []
    while True:
        time.sleep(seconds)
        new = server.drain()
        if not new:
            return lines
        lines += new


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--topic", default="parameter")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copy (and serve.log in it)")
    ap.add_argument("--cache-from", type=Path, default=ROOT, metavar="REPO",
                    help="seed the copy's execution and render caches from REPO/build (default: this repository)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    repo = tmp / "repo"
    shutil.copytree(ROOT, repo, ignore=IGNORE)
    for cache in ("jupyter-cache", "render-cache"):
        if (args.cache_from / "build" / cache).exists():
            shutil.copytree(args.cache_from / "build" / cache, repo / "build" / cache)
    t0 = time.perf_counter()
    server = Server(repo)
    results: dict[str, list[tuple[float, int]]] = {}
    try:
        server.wait(r"^serve: watching", 900)
        startup = time.perf_counter() - t0
        quiet(server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            kinds = [("prose edit, zh (markdown cell)", "zh", "markdown"),
                     ("prose edit, en (markdown cell)", "en", "markdown"),
                     ("code edit, zh + en (one code cell)", "", "code")]
            for name, lang, kind in kinds:
                page.goto(f"{server.origin}{lang or 'zh'}/topics/{args.topic}/")
                page.wait_for_load_state("load")
                quiet(server)
                for run in range(args.runs):
                    marker = f"bench{kind}{run}x{int(time.time() * 1000) % 100000}"
                    if kind == "markdown":
                        nb = repo / "notebooks" / lang / f"{args.topic}.ipynb"
                        t_save = time.perf_counter()
                        edit(nb, "markdown", lambda s, m=marker: s + f"\n\n{m}")
                    else:  # code is shared: both languages, as a contributor keeps them in step
                        t_save = time.perf_counter()
                        for lang_ in ("zh", "en"):
                            edit(repo / "notebooks" / lang_ / f"{args.topic}.ipynb", "code",
                                 lambda s, m=marker: s + f"\nprint({m!r})")
                    page.wait_for_function(VISIBLE_JS, arg=marker, timeout=600_000, polling=10)
                    page.evaluate(PAINTED_JS)
                    seconds = time.perf_counter() - t_save
                    lines = quiet(server)
                    executed = sum(1 for line in lines if re.search(r"… executed in", line))
                    results.setdefault(name, []).append((seconds, executed))
                    print(f"{name} #{run + 1}: {seconds:.2f} s, {executed} executed", flush=True)
            browser.close()
    finally:
        server.stop()
        (tmp / "serve.log").write_text("\n".join(server.log) + "\n", encoding="utf-8")
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")

    load = os.getloadavg()
    print(f"\nServe benchmark · topic {args.topic} · {os.cpu_count()} CPUs · load average {load[0]:.1f} "
          f"(other work on the machine counts) · startup (cached executions, both languages) {startup:.1f} s\n")
    print("| edit | runs | save → visible, median | min | max | executions per edit |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, rows in results.items():
        secs = [s for s, _ in rows]
        execs = sorted({e for _, e in rows})
        print(f"| {name} | {len(rows)} | {statistics.median(secs):.2f} s | {min(secs):.2f} s | {max(secs):.2f} s "
              f"| {', '.join(map(str, execs))} |")
    prose = [s for name, rows in results.items() if name.startswith("prose") for s, _ in rows]
    prose_execs = sum(e for name, rows in results.items() if name.startswith("prose") for _, e in rows)
    code_execs = [e for name, rows in results.items() if name.startswith("code") for _, e in rows]
    print(f"\nGoals: prose edit visible ≤ 1.5 s (median {statistics.median(prose):.2f} s): "
          + ("met" if statistics.median(prose) <= 1.5 else "MISSED")
          + f"; prose edits execute nothing ({prose_execs} executions): " + ("met" if prose_execs == 0 else "MISSED")
          + "; a code edit executes its topic once: " + ("met" if set(code_execs) == {1} else f"MISSED ({code_execs})"))


if __name__ == "__main__":
    main()
