"""Execute the notebooks once per distinct code, and write executed copies into the build tree.

Why not mkdocs-jupyter's `execute: true`: its cache keys on the whole file, so a prose edit re-executes, and
zh and en of a topic would execute twice. Here jupyter-cache stores one executed notebook per *code view*
(code cells and kernelspec only, see `notebooks.code_view`), so:

- zh and en of a topic share one execution (their code is identical);
- a prose or alt-text edit executes nothing;
- a code edit executes only that topic;
- a change of `requirements.txt` clears the cache (the key does not see the environment);
- a damaged cache (database or one entry) is named, discarded and rebuilt (`ExecutionCache`).

Each execution runs in the sandbox of `tools.sandbox` (through `tools.run.run_notebook`); the cache is
written here, by the build, from the executed notebook: kernels cannot see build/ at all.

Outputs recorded on a GPU (`recorded/<topic>.ipynb`, see `tools.recorded`) are used instead of executing,
as long as the notebook's code is the one they were recorded from.
"""
from __future__ import annotations

import copy
import hashlib
import os
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.cache.db import DB_NAME, NbCacheRecord
from sqlalchemy.exc import SQLAlchemyError

from tools import recorded
from tools.checks import missing_alt_text
from tools.notebooks import (
    BuildError,
    Notebook,
    all_notebooks,
    code_key,
    code_sources,
    code_view,
    is_skipped,
    ran_as_expected,
    write_notebook,
)
from tools.paths import BUILD, ROOT, SOURCE_LANG
from tools.run import run_notebook
from tools.safety import lint_notebook
from tools.sandbox import sandbox
from tools.terms import figure_glyph_problems
from tools.translation import topic_status

CACHE_DIR = BUILD / "jupyter-cache"
EXECUTED = BUILD / "executed"


@dataclass
class Stats:
    """What one run of `execute_all` did, for the progress summary and the benchmark."""

    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)

    def summary(self) -> str:
        total = len(self.executed) + len(self.cached) + len(self.recorded)
        return (f"{total} notebooks: {len(self.executed)} executed, {len(self.cached)} from the cache, "
                f"{len(self.recorded)} from recorded GPU outputs")


def _requirements_digest() -> str:
    req = ROOT / "requirements.txt"
    return hashlib.sha256(req.read_bytes()).hexdigest() if req.exists() else "none"


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def _db_error(e: BaseException) -> SQLAlchemyError | ValueError | None:
    """The database error behind `e`, if it is one (jupyter-cache rewraps some as a bare RuntimeError)."""
    for err in (e, e.__cause__):
        if isinstance(err, (SQLAlchemyError, ValueError)):
            return err
    return None


def _reason(e: BaseException) -> str:
    """A short reason for a message: sqlite's own words ("file is not a database"), not a traceback."""
    err = getattr(e, "orig", None) or e
    return str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__


#: What a cached execution's stamp must hold for the page (see `run_notebook`).
_STAMP_KEYS = {"device", "gpu", "torch", "python", "date", "seconds"}


class ExecutionCache:
    """jupyter-cache, with damage detected, named and repaired instead of ending the build in a traceback.

    Only the build writes the cache, from notebooks it executed (kernels cannot see build/ at all, see
    `tools.sandbox`), so damage comes from a killed build, a full disk or a hand edit. A damaged database
    discards the whole cache (it is only a cache: every notebook executes again); a damaged entry (its
    notebook file missing, unreadable, not the code it is filed under, or its stamp incomplete) discards
    only itself. Either way the message names the file and what is wrong with it.
    """

    def __init__(self, cache_dir: Path = CACHE_DIR):
        self.dir = cache_dir
        self.db_path = cache_dir / DB_NAME
        self.cache = self._open()

    def _open(self):
        cache = get_cache(self.dir)
        problem = self._db_problem(cache)
        if problem is not None:
            self._discard_all(problem)
            cache = get_cache(self.dir)
            if (again := self._db_problem(cache)) is not None:
                raise BuildError(f"{_rel(self.db_path)}: cannot create the execution cache: {again}")
        marker = self.dir / "requirements.sha256"
        digest = _requirements_digest()
        if marker.exists() and marker.read_text(errors="replace").strip() != digest:
            print("requirements.txt changed: clearing the execution cache", flush=True)
            cache.clear_cache()
            cache = get_cache(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(digest + "\n")
        return cache

    @staticmethod
    def _db_problem(cache) -> str | None:
        """Why the cache database is unusable, or None: sqlite's integrity check, then the tables it needs."""
        try:
            with cache.db.connect() as conn:
                verdict = conn.exec_driver_sql("PRAGMA quick_check").scalar()
            if verdict != "ok":
                return f"integrity check: {' '.join(str(verdict).split())[:200]}"  # sqlite's report is multi-line
            cache.list_cache_records()
            cache.get_cache_limit()
        except Exception as e:  # narrowed just below: anything but a database error is raised again
            if _db_error(e) is None:
                raise
            return _reason(_db_error(e))
        return None

    def _discard_all(self, problem: str) -> None:
        print(f"{_rel(self.db_path)} is corrupt ({problem}): discarding the execution cache and rebuilding it",
              flush=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _recover(self, e: Exception) -> None:
        """A database error in the middle of a build: start the cache again, or re-raise what is not one."""
        if _db_error(e) is None:
            raise e
        print()
        self._discard_all(_reason(_db_error(e)))
        self.cache = self._open()

    def lookup(self, view: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, dict] | str | None:
        """The cached execution of `view` and its stamp; None when there is none; a message when the entry
        was damaged and has been discarded (the caller executes the notebook again)."""
        try:
            record = self.cache.match_cache_notebook(view)
        except KeyError:
            return None
        except Exception as e:  # noqa: BLE001 - _recover re-raises anything that is not a database error
            self._recover(e)
            return None
        entry = self.cache._get_notebook_path_cache(record.hashkey)  # jupyter-cache's own layout
        try:
            executed = self.cache.get_cache_bundle(record.pk).nb
            nbformat.validate(executed)
            if code_sources(executed) != code_sources(view):
                raise ValueError("its code is not the code it is filed under")
            # jupyter-cache matches on sources only; a `skip-execution` tag added or removed since must re-run
            if [is_skipped(c) for c in executed.cells] != [is_skipped(c) for c in view.cells] \
                    or not ran_as_expected(executed):
                raise ValueError("its cells ran or were skipped otherwise than the cells' tags say now")
            stamp = dict(record.data)
            if missing := _STAMP_KEYS - stamp.keys():
                raise ValueError(f"its stamp lacks {', '.join(sorted(missing))}")
        except Exception as e:  # noqa: BLE001 - any damage to one entry discards only that entry
            if _db_error(e) is not None and not isinstance(_db_error(e), ValueError):
                self._recover(e)
                return None
            why = "the file is missing" if isinstance(e, KeyError) else _reason(e)
            shutil.rmtree(entry.parent, ignore_errors=True)
            NbCacheRecord.remove_records([record.pk], self.cache.db)
            return f"cache entry {_rel(entry)} is corrupt ({why}): discarded it,"
        return executed, stamp

    def store(self, executed: nbformat.NotebookNode, uri: str, stamp: dict) -> None:
        """File an execution the build made (never anything a kernel wrote: kernels cannot see the cache)."""
        bundle = CacheBundleIn(code_view(executed, keep_outputs=True), uri=uri, data=stamp)
        try:
            self.cache.cache_notebook_bundle(bundle, overwrite=True, check_validity=False)
        except Exception as e:  # noqa: BLE001 - _recover re-raises anything that is not a database error
            self._recover(e)
            self.cache.cache_notebook_bundle(bundle, overwrite=True, check_validity=False)


def merge_outputs(nb: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """`nb` with the outputs of `executed` (same code cells, in order); nb's prose and metadata are kept."""
    merged = copy.deepcopy(nb)
    runs = [c for c in executed.cells if c.cell_type == "code"]
    for cell in merged.cells:
        if cell.cell_type == "code":
            done = runs.pop(0)
            cell.outputs, cell.execution_count = done.outputs, done.execution_count
    return merged


def translation_state(nbf: Notebook, notebooks: list[Notebook]) -> dict:
    """What the page's notice needs: whether this translation is stale or untranslated, and which cells."""
    source = next((n for n in notebooks if n.lang == SOURCE_LANG and n.topic == nbf.topic), None)
    if nbf.lang == SOURCE_LANG or source is None:
        return {"state": "source"}
    st = topic_status(source, nbf, nbf.lang)
    return {"state": st.state, "stale": st.stale, "untranslated": st.untranslated}


def resolve_jobs(value: str | int | None = None, source: str = "--jobs") -> int:
    """How many notebooks execute at once: `value` (from `source`, named in the error), else the JOBS
    environment variable, else the number of CPUs. 1 is the serial build. Anything but a positive whole
    number is a BuildError that says what is expected."""
    if value is None:
        value, source = os.environ.get("JOBS") or None, "JOBS"
    if value is None:
        return max(1, os.cpu_count() or 1)
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise BuildError(f"{source} {value!r}: expected a whole number of notebooks to execute at once, 1 or more "
                         f"(1: one after another; default: the number of CPUs, {os.cpu_count() or 1})")
    return int(text)


@dataclass
class _Item:
    """One notebook on its way through `execute_all`: read, looked up, executed or fetched, finished."""

    index: int
    nbf: Notebook
    nb: nbformat.NotebookNode
    view: nbformat.NotebookNode
    key: str
    note: str = ""  # a damaged cache entry that was discarded, said before "executed in"


def execute_all(notebooks: list[Notebook] | None = None, out_dir: Path = EXECUTED, use_recorded: bool = True,
                jobs: int | None = None) -> Stats:
    """Execute (or fetch from the cache) every notebook; write executed copies to `out_dir/<lang>/<topic>.ipynb`.

    Up to `jobs` notebooks (default: `resolve_jobs()`) execute at once, each in its own sandboxed kernel
    (`run_notebook`, in a worker thread); everything else (the cache, which is sqlite, the lint and the
    writing) happens here, in the calling thread. Notebooks that share their code (zh and en of a topic)
    share one execution: the first executes, the others are fetched from the cache once it is stored, as in a
    serial run, so the notebooks written are the same whatever `jobs` is (but for the stamp's timing).
    A failure stops the build as a serial run would: notebooks after the failing one are not started, those
    before it (and those already running) are let finish, and the error raised is the first in notebook order.
    """
    notebooks = notebooks if notebooks is not None else all_notebooks()
    jobs = resolve_jobs() if jobs is None else resolve_jobs(jobs)
    box = sandbox()  # fails early, saying how to fix it, where bubblewrap cannot run
    print(box.describe(), flush=True)
    cache = ExecutionCache()
    total, shown = len(notebooks), 0
    results: dict[int, tuple[str, nbformat.NotebookNode, dict]] = {}  # index → (how, executed, stamp)

    def show(item: _Item, what: str) -> None:
        nonlocal shown
        shown += 1
        print(f"[{shown}/{total}] {item.nbf.name} … {what}", flush=True)

    def finish(item: _Item, how: str, executed: nbformat.NotebookNode, stamp: dict) -> None:
        """Merge the outputs into the notebook, lint it and write it (here, in the calling thread)."""
        results[item.index] = (how, executed, stamp)
        nbf = item.nbf
        stamp = {**stamp, "source": "recorded" if how == "recorded" else "build"}
        merged = merge_outputs(item.nb, executed)
        merged.metadata["pytorch_docs"] = {"execution": stamp, "code_key": item.key,
                                           "translation": translation_state(nbf, notebooks)}
        problems = (missing_alt_text(nbf.rel, merged) + lint_notebook(merged, nbf.rel)
                    + figure_glyph_problems(merged, nbf.rel))
        if problems:
            raise BuildError("\n".join(problems))
        write_notebook(merged, out_dir / nbf.lang / f"{nbf.topic}.ipynb")

    def fetch(item: _Item) -> bool:
        """Finish `item` from recorded outputs or the cache, if either has its code; else say why not."""
        rec = recorded.lookup(item.nbf.topic, item.key) if use_recorded else None
        if rec is not None:
            show(item, f"recorded on {rec[1]['device']} ({rec[1]['date']})")
            finish(item, "recorded", *rec)
            return True
        hit = cache.lookup(item.view)
        if isinstance(hit, tuple):
            show(item, "cached (code unchanged)")
            finish(item, "cached", *hit)
            return True
        item.note = f"{hit} " if isinstance(hit, str) else ""
        return False

    def executed(item: _Item, result: tuple[nbformat.NotebookNode, dict], seconds: float) -> None:
        cache.store(result[0], item.nbf.rel, result[1])
        show(item, f"{item.note}executed in {seconds:.1f} s")
        finish(item, "executed", *result)

    items = []
    for i, nbf in enumerate(notebooks):
        nb = nbf.read()
        items.append(_Item(i, nbf, nb, code_view(nb), code_key(nb)))
    if jobs == 1:  # serial: one notebook after another, in order
        for item in items:
            if not fetch(item):
                t0 = time.perf_counter()
                result = run_notebook(item.nb, item.nbf.rel, box)
                executed(item, result, time.perf_counter() - t0)
    else:
        _execute_concurrently(items, jobs, box, fetch, executed)
    stats = Stats()
    for i, nbf in enumerate(notebooks):
        {"executed": stats.executed, "cached": stats.cached, "recorded": stats.recorded}[results[i][0]].append(nbf.name)
    return stats


def _execute_concurrently(items: list[_Item], jobs: int, box, fetch, executed) -> None:
    """`execute_all`'s work with up to `jobs` kernels at once. Only `run_notebook` runs in the worker threads;
    `fetch` (recorded outputs, the cache) and `executed` (store, lint, write) run here, in this thread."""
    leaders: dict[str, _Item] = {}  # code key → the notebook that executes it
    followers: dict[str, list[_Item]] = {}  # code key → the notebooks that wait for its execution
    errors: dict[int, BaseException] = {}  # notebook index → what went wrong there
    for item in items:
        try:
            if item.key in leaders:
                followers[item.key].append(item)
            elif not fetch(item):
                leaders[item.key], followers[item.key] = item, []
        except Exception as e:  # noqa: BLE001 - a lint problem in a cached notebook: nothing after it starts
            errors[item.index] = e
            break

    def failed(index: int, e: BaseException) -> None:
        errors[index] = e
        for future, item in futures.items():  # what comes after it in notebook order will not start
            if item.index > index:
                future.cancel()

    def timed(item: _Item):
        t0 = time.perf_counter()
        return run_notebook(item.nb, item.nbf.rel, box), time.perf_counter() - t0

    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(leaders))), thread_name_prefix="notebook")
    futures: dict[Future, _Item] = {}
    try:
        for item in leaders.values():  # in notebook order: the first notebooks start first
            futures[pool.submit(timed, item)] = item
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: futures[f].index):
                item = futures[future]
                if future.cancelled():
                    continue
                try:
                    result, seconds = future.result()
                    executed(item, result, seconds)
                except Exception as e:  # noqa: BLE001 - kept, and the first in notebook order raised below
                    failed(item.index, e)
                    continue
                for other in followers[item.key]:  # the same code: fetched from the cache, as serially
                    if errors and min(errors) < other.index:
                        break
                    try:
                        if not fetch(other):  # not filed after all (a cache rebuilt meanwhile): use this run
                            executed(other, result, seconds)
                    except Exception as e:  # noqa: BLE001 - as above
                        failed(other.index, e)
    except BaseException:  # Ctrl-C, or a bug here: start nothing more; the running kernels finish and stop
        for future in futures:
            future.cancel()
        running = sum(1 for f in futures if not f.done())
        if running:
            print(f"\nwaiting for {running} running notebook(s) to finish and their kernels to stop", flush=True)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if errors:
        raise errors[min(errors)]
