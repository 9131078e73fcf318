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
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.cache.db import DB_NAME, NbCacheRecord
from sqlalchemy.exc import SQLAlchemyError

from tools import recorded
from tools.checks import missing_alt_text
from tools.terms import figure_glyph_problems
from tools.safety import lint_notebook
from tools.notebooks import BuildError, Notebook, all_notebooks, code_key, code_sources, code_view, write_notebook
from tools.paths import BUILD, ROOT, SOURCE_LANG
from tools.run import run_notebook
from tools.sandbox import sandbox
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
        except Exception as e:  # noqa: BLE001 - narrowed just below
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
        print("")
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
            self.cache.cache_notebook_bundle(bundle, overwrite=True)
        except Exception as e:  # noqa: BLE001 - _recover re-raises anything that is not a database error
            self._recover(e)
            self.cache.cache_notebook_bundle(bundle, overwrite=True)


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


def execute_all(notebooks: list[Notebook] | None = None, out_dir: Path = EXECUTED, use_recorded: bool = True) -> Stats:
    """Execute (or fetch from the cache) every notebook; write executed copies to `out_dir/<lang>/<topic>.ipynb`."""
    notebooks = notebooks if notebooks is not None else all_notebooks()
    box = sandbox()  # fails early, saying how to fix it, where bubblewrap cannot run
    print(box.describe(), flush=True)
    cache = ExecutionCache()
    stats = Stats()
    for n, nbf in enumerate(notebooks, start=1):
        print(f"[{n}/{len(notebooks)}] {nbf.name} … ", end="", flush=True)
        nb = nbf.read()
        view = code_view(nb)
        rec = recorded.lookup(nbf.topic, code_key(nb)) if use_recorded else None
        if rec is not None:
            executed, stamp = rec
            stamp = {**stamp, "source": "recorded"}
            stats.recorded.append(nbf.name)
            print(f"recorded on {stamp['device']} ({stamp['date']})", flush=True)
        else:
            hit = cache.lookup(view)
            if isinstance(hit, tuple):
                executed, stamp = hit
                stats.cached.append(nbf.name)
                print("cached (code unchanged)", flush=True)
            else:
                if isinstance(hit, str):
                    print(hit, end=" ", flush=True)
                t0 = time.perf_counter()
                executed, stamp = run_notebook(nb, nbf.rel, box)
                cache.store(executed, nbf.rel, stamp)
                stats.executed.append(nbf.name)
                print(f"executed in {time.perf_counter() - t0:.1f} s", flush=True)
            stamp = {**stamp, "source": "build"}
        merged = merge_outputs(nb, executed)
        merged.metadata["pytorch_docs"] = {"execution": stamp, "code_key": code_key(nb),
                                           "translation": translation_state(nbf, notebooks)}
        problems = missing_alt_text(nbf.rel, merged) + lint_notebook(merged, nbf.rel) + figure_glyph_problems(merged, nbf.rel)
        if problems:
            raise BuildError("\n".join(problems))
        write_notebook(merged, out_dir / nbf.lang / f"{nbf.topic}.ipynb")
    return stats
