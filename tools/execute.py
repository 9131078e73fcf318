"""Execute the notebooks once per distinct code, and write executed copies into the build tree.

Why not mkdocs-jupyter's `execute: true`: its cache keys on the whole file, so a prose edit re-executes, and
zh and en of a topic would execute twice. Here jupyter-cache stores one executed notebook per *code view*
(code cells and kernelspec only, see `notebooks.code_view`), so:

- zh and en of a topic share one execution (their code is identical);
- a prose or alt-text edit executes nothing;
- a code edit executes only that topic;
- a change of `requirements.txt` clears the cache (the key does not see the environment).

Outputs recorded on a GPU (`recorded/<topic>.ipynb`, see `tools.recorded`) are used instead of executing,
as long as the notebook's code is the one they were recorded from.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from tools import recorded
from tools.checks import missing_alt_text
from tools.safety import lint_notebook
from tools.notebooks import BuildError, Notebook, all_notebooks, code_key, code_view, write_notebook
from tools.paths import BUILD, ROOT, SOURCE_LANG
from tools.translation import topic_status

CACHE_DIR = BUILD / "jupyter-cache"
EXECUTED = BUILD / "executed"
CELL_TIMEOUT_S = 600
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: Run in the notebook's own kernel after its cells, so the stamp describes the kernel that really ran it.
_STAMP_PROBE = """
import json as _j, platform as _p, torch as _t
print(_j.dumps({
    "device": _t.cuda.get_device_name() if _t.cuda.is_available() else "CPU (" + (_p.processor() or _p.machine()) + ")",
    "gpu": _t.cuda.is_available(),
    "torch": _t.__version__.split("+")[0],
    "cuda": _t.version.cuda,
    "python": _p.python_version(),
}))
"""


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


def open_cache(cache_dir: Path = CACHE_DIR):
    """The execution cache, emptied first if requirements.txt changed since it was filled."""
    cache = get_cache(cache_dir)
    marker = cache_dir / "requirements.sha256"
    digest = _requirements_digest()
    if marker.exists() and marker.read_text().strip() != digest:
        print("requirements.txt changed: clearing the execution cache", flush=True)
        cache.clear_cache()
        cache = get_cache(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(digest + "\n")
    return cache


def kernel_env() -> dict[str, str]:
    """The kernel's environment: this one, minus anything that would let a notebook import from the repo."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTORCH_DOCS_ROOT")}
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silences a debugger warning on every kernel start
    return env


def run_notebook(nb: nbformat.NotebookNode, display_path: str) -> tuple[nbformat.NotebookNode, dict]:
    """Execute `nb` alone in an empty temporary folder, as Colab would; return it with its stamp.

    A failing cell raises a BuildError naming the file and the cell number (1-based, counting all cells).
    """
    nb = copy.deepcopy(nb)
    workdir = Path(tempfile.mkdtemp(prefix="nb-run-"))
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, startup_timeout=120, kernel_name="python3",
                            allow_errors=False, resources={"metadata": {"path": str(workdir)}})
    client.km = client.create_kernel_manager()
    client.km.transport = "ipc"  # local sockets: no TCP ports, no "running over TCP without encryption" warning
    sockets = Path(tempfile.mkdtemp(prefix="nb-ipc-"))
    client.km.ip = str(sockets / "kernel")  # absolute, and outside workdir, which the notebook sees empty
    start = time.perf_counter()
    try:
        with client.setup_kernel(env=kernel_env(), cwd=str(workdir)):
            for index, cell in enumerate(nb.cells):
                try:
                    client.execute_cell(cell, index)
                except (CellExecutionError, CellTimeoutError) as e:
                    raise BuildError(f"{display_path}: cell {index + 1} failed:\n{_ANSI.sub('', str(e))}") from None
            seconds = time.perf_counter() - start
            probe = nbformat.v4.new_code_cell(_STAMP_PROBE)
            nb.cells.append(probe)
            client.execute_cell(probe, len(nb.cells) - 1)
            nb.cells.pop()
    except DeadKernelError as e:
        raise BuildError(f"{display_path}: the kernel died while running it: {e}") from None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(sockets, ignore_errors=True)
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
    stamp = json.loads(text.strip().splitlines()[-1])
    stamp.update(date=dt.date.today().isoformat(), seconds=round(seconds, 1))
    return nb, stamp


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
    cache = open_cache()
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
            try:
                record = cache.match_cache_notebook(view)
                executed, stamp = cache.get_cache_bundle(record.pk).nb, dict(record.data)
                stats.cached.append(nbf.name)
                print("cached (code unchanged)", flush=True)
            except KeyError:
                t0 = time.perf_counter()
                executed, stamp = run_notebook(nb, nbf.rel)
                cache.cache_notebook_bundle(CacheBundleIn(code_view(executed, keep_outputs=True), uri=nbf.rel, data=stamp),
                                            overwrite=True)
                stats.executed.append(nbf.name)
                print(f"executed in {time.perf_counter() - t0:.1f} s", flush=True)
            stamp = {**stamp, "source": "build"}
        merged = merge_outputs(nb, executed)
        merged.metadata["pytorch_docs"] = {"execution": stamp, "code_key": code_key(nb),
                                           "translation": translation_state(nbf, notebooks)}
        problems = missing_alt_text(nbf.rel, merged) + lint_notebook(merged, nbf.rel)
        if problems:
            raise BuildError("\n".join(problems))
        write_notebook(merged, out_dir / nbf.lang / f"{nbf.topic}.ipynb")
    return stats
