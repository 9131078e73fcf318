"""Outputs recorded on a real GPU, committed under `recorded/<topic>.ipynb`.

CI and most contributors have no GPU, so the outputs a reader sees can come from a GPU run made elsewhere
(`make execute-gpu` on a machine with CUDA). A recording holds the code view of the topic's notebook with its
outputs, the fingerprint of the code it ran (`code_key`) and a stamp saying where and when it ran. It is used
only while the notebook's code is unchanged; after a code edit the build executes the notebook on its own
device again and the page's stamp says so.

Recording runs each notebook in the same sandbox as the build (`tools.sandbox`, with the GPU's device nodes
bound in). On a GPU machine without a working bubblewrap, `SANDBOX=off make execute-gpu` records anyway, with
its warning. A recording is data from outside like any contribution: the build lints and sanitizes its outputs
exactly as it does a fresh execution's.
"""
from __future__ import annotations

from nbformat import NotebookNode

from tools.notebooks import BuildError, all_notebooks, code_key, code_view, read_notebook, write_notebook
from tools.paths import RECORDED, ROOT, SOURCE_LANG
from tools.run import run_notebook
from tools.sandbox import sandbox


def lookup(topic: str, key: str) -> tuple[NotebookNode, dict] | None:
    """The recorded executed notebook and its stamp, if one exists for exactly this code."""
    path = RECORDED / f"{topic}.ipynb"
    if not path.exists():
        return None
    nb = read_notebook(path)
    meta = nb.metadata.get("pytorch_docs", {})
    if meta.get("code_key") != key:
        return None
    stamp = meta.get("execution")
    if not isinstance(stamp, dict) or not {"device", "date", "gpu"} <= stamp.keys():
        raise BuildError(f"{path.relative_to(ROOT)}: not a valid recording: metadata.pytorch_docs.execution must hold the stamp "
                         "(device, gpu, date, …) that `make execute-gpu` writes")
    return nb, dict(stamp)


def record_all(require_gpu: bool = True) -> list[str]:
    """Execute every source notebook here and store the results as recordings; returns the topics done."""
    box = sandbox()  # on a GPU machine too: the NVIDIA devices are bound into it (see tools.sandbox)
    print(box.describe(), flush=True)
    done = []
    sources = [n for n in all_notebooks() if n.lang == SOURCE_LANG]
    for i, nbf in enumerate(sources, start=1):
        print(f"[{i}/{len(sources)}] {nbf.name} … ", end="", flush=True)
        nb = nbf.read()
        executed, stamp = run_notebook(nb, nbf.rel, box)
        if require_gpu and not stamp["gpu"]:
            raise BuildError("no GPU visible to the kernel: recordings are for GPU runs (use --allow-cpu to record anyway)")
        out = code_view(executed, keep_outputs=True)
        out.metadata["pytorch_docs"] = {"code_key": code_key(nb), "execution": stamp}
        write_notebook(out, RECORDED / f"{nbf.topic}.ipynb")
        done.append(nbf.topic)
        print(f"{stamp['seconds']} s on {stamp['device']}", flush=True)
    return done
