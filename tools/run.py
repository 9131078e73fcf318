"""Run one notebook: a fresh kernel in the sandbox (`tools.sandbox`), time limits, a stamp of what ran it.

Both the build (`tools.execute`) and the GPU recordings (`tools.recorded`) execute notebooks through
`run_notebook`, so they share one sandbox, one set of limits and one way of naming a failure.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from tools.notebooks import BuildError
from tools.sandbox import Sandbox, kernel_env, sandbox

#: nbclient's limit for one cell; the whole notebook has its own, `Limits.notebook_s`.
CELL_TIMEOUT_S = 300
STARTUP_TIMEOUT_S = 120
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: How an allocation that hit RLIMIT_DATA shows up in a cell's error: Python's MemoryError, torch's CPU
#: allocator ("DefaultCPUAllocator: can't allocate memory"), numpy ("Unable to allocate"), errno 12.
_OUT_OF_MEMORY = re.compile(r"MemoryError|can't allocate memory|Unable to allocate|Cannot allocate memory|ENOMEM")

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


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel command runs inside the sandbox.

    jupyter_client builds the kernel's command line in `format_kernel_cmd` (after writing the connection
    file); wrapping it there keeps everything else of jupyter_client's start, shutdown and kill unchanged.
    """

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        box: Sandbox = self.sandbox_box  # set by run_notebook before the kernel starts
        return box.wrap(cmd, writable=Path(self.connection_file).parent, readonly_files=(Path(self.connection_file),))


def run_notebook(nb: nbformat.NotebookNode, display_path: str, box: Sandbox | None = None,
                 ) -> tuple[nbformat.NotebookNode, dict]:
    """Execute `nb` alone, in the sandbox, in an empty folder (as Colab would); return it with its stamp.

    A failing cell raises a BuildError naming the file and the cell number (1-based, counting all cells);
    so does a notebook that runs past its time limit, out of its memory, or kills its kernel.
    """
    box = box or sandbox()
    limits = box.limits
    nb = copy.deepcopy(nb)
    sockets = Path(tempfile.mkdtemp(prefix="nb-ipc-"))  # the only host folder the kernel may write
    if box.enabled:
        workdir, home, cwd = None, None, sockets  # the kernel's folder and home are inside the sandbox's /tmp
        env = {"PATH": kernel_env("/", "/tmp")["PATH"]}  # bwrap's own; it clears it for the kernel
    else:
        workdir, home = Path(tempfile.mkdtemp(prefix="nb-run-")), Path(tempfile.mkdtemp(prefix="nb-home-"))
        cwd = workdir
        env = kernel_env(str(home), str(workdir))
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, startup_timeout=STARTUP_TIMEOUT_S, kernel_name="python3",
                            allow_errors=False, kernel_manager_class=SandboxedKernelManager,
                            resources={"metadata": {"path": str(cwd)}})
    client.km = client.create_kernel_manager()
    client.km.sandbox_box = box
    client.km.transport = "ipc"  # local sockets: no TCP ports, no "running over TCP without encryption" warning
    client.km.ip = str(sockets / "kernel")
    client.km.connection_file = str(sockets / "kernel.json")
    start = time.monotonic()
    deadline = start + limits.notebook_s
    index, notebook_bound = -1, True  # whether the running cell's timeout is the notebook's remaining time
    try:
        with client.setup_kernel(env=env, cwd=str(cwd)):
            for index, cell in enumerate(nb.cells):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CellTimeoutError("notebook time limit")
                notebook_bound = left < CELL_TIMEOUT_S
                client.timeout = max(1, round(left)) if notebook_bound else CELL_TIMEOUT_S
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    client.shutdown_kernel = "immediate"
                    raise
                except CellExecutionError as e:
                    raise BuildError(_cell_failed(display_path, index, e, limits.memory_gib, limits.tmp_gib)) from None
            seconds = time.monotonic() - start
            probe = nbformat.v4.new_code_cell(_STAMP_PROBE)
            nb.cells.append(probe)
            client.timeout = CELL_TIMEOUT_S
            client.execute_cell(probe, len(nb.cells) - 1)
            nb.cells.pop()
    except CellTimeoutError:
        if notebook_bound:
            raise BuildError(f"{display_path}: exceeded its {limits.notebook_s} s limit (in cell {index + 1}; "
                             "SANDBOX_TIME_S raises it)") from None
        raise BuildError(f"{display_path}: cell {index + 1} exceeded the {CELL_TIMEOUT_S} s limit per cell") from None
    except DeadKernelError as e:
        where = f"cell {index + 1}" if 0 <= index < len(nb.cells) else "start-up"
        raise BuildError(f"{display_path}: the kernel died while running {where} ({e}). A kernel that runs out "
                         f"of memory (its limit: {limits.memory_gib:g} GiB per process; SANDBOX_MEMORY_GIB raises "
                         "it) or exits on its own ends this way") from None
    except RuntimeError as e:  # jupyter_client: "Kernel died before replying to kernel_info"
        if "kernel" not in str(e).lower():
            raise
        raise BuildError(f"{display_path}: the kernel did not start in the sandbox: {e}") from None
    finally:
        for d in (sockets, workdir, home):
            if d is not None:
                shutil.rmtree(d, ignore_errors=True)
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
    stamp = json.loads(text.strip().splitlines()[-1])
    stamp.update(date=dt.date.today().isoformat(), seconds=round(seconds, 1))
    return nb, stamp


def _cell_failed(display_path: str, index: int, e: CellExecutionError, memory_gib: float, tmp_gib: float) -> str:
    """The message for a cell that raised: a limit it hit named as such, anything else with its traceback."""
    text = _ANSI.sub("", str(e))
    if _OUT_OF_MEMORY.search(f"{e.ename}: {e.evalue}"):
        return (f"{display_path}: cell {index + 1} ran out of its {memory_gib:g} GiB memory limit "
                f"(SANDBOX_MEMORY_GIB raises it): {e.ename}: {_ANSI.sub('', e.evalue)[:300]}")
    if "No space left on device" in f"{e.evalue}":
        return (f"{display_path}: cell {index + 1} filled the sandbox's {tmp_gib:g} GiB /tmp (SANDBOX_TMP_GIB raises "
                f"it): {e.ename}: {_ANSI.sub('', e.evalue)[:300]}")
    return f"{display_path}: cell {index + 1} failed:\n{text}"
