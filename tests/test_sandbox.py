"""The sandbox notebooks execute in, its limits, its clear failures, and the self-healing execution cache.

Every escape attempt is made by a notebook cell and judged from outside the sandbox: the repository's files,
the cache's files, a TCP listener on the host, the host's process table. The cell prints what it tried, so a
failing assertion shows what got through.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell
from test_execute import _counts, _write, mini_repo  # noqa: F401 - mini_repo is a fixture

from tools import sandbox as sandbox_module
from tools.notebooks import BuildError


def _tools(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m tools ARGS` on `repo`, with extra environment variables (conftest's run_tools has none)."""
    full = {**os.environ, "PYTORCH_DOCS_ROOT": str(repo), "PYTHONPATH": str(repo), **env}
    for key in [k for k, v in full.items() if v is None]:
        del full[key]
    return subprocess.run([sys.executable, "-m", "tools", *args], cwd=repo, env=full, capture_output=True, text=True)


def _both(repo: Path, topic: str, cells: list) -> None:
    for lang in ("zh", "en"):
        _write(repo, lang, topic, [new_markdown_cell(f"# {topic}"), *cells])


def _tree(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every file under `root` (except the `skip` folders) with a digest of its bytes."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not rel.startswith(skip) and "__pycache__" not in rel:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _outputs(repo: Path, lang: str, topic: str) -> str:
    nb = nbformat.read(repo / f"build/executed/{lang}/{topic}.ipynb", 4)
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def _processes_with(marker: str) -> list[str]:
    """Command lines of host processes that carry `marker`."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmd:
                found.append(f"{d.name}: {cmd}")
    return found


ESCAPE = r'''
import os, socket, subprocess, sys
REPO, PORT, MARK, VICTIM = {repo!r}, {port}, {mark!r}, {victim!r}

def attempt(what, fn):
    try:
        result = fn()
        print(f"{{what}}: SUCCEEDED {{result!r}}"[:300])
    except BaseException as e:
        print(f"{{what}}: blocked ({{type(e).__name__}}: {{e}})"[:300])

def write(path, text="pwned by a notebook"):
    with open(path, "w") as f:
        f.write(text)
    return path

# (a) the repository, by its path and through /proc
attempt("read a file of the repository", lambda: open(os.path.join(REPO, "secret.txt")).read())
attempt("overwrite a tracked notebook", lambda: write(os.path.join(REPO, "notebooks/zh/b.ipynb")))
attempt("create a file in the repository", lambda: write(os.path.join(REPO, "pwned.txt")))
for pid in ("self", str(os.getppid()), "1"):
    for link in ("cwd", "root"):
        base = f"/proc/{{pid}}/{{link}}"
        attempt(f"list {{base}}", lambda: os.listdir(base))
        attempt(f"write through {{base}}", lambda: write(os.path.join(base, REPO.lstrip("/") if link == "root" else "", "pwned.txt")))
attempt("walk up from the working folder", lambda: write(os.path.join("..", "..", REPO.lstrip("/"), "pwned.txt")))
# (b) the build's environment
attempt("read PYTORCH_DOCS_SECRET", lambda: os.environ["PYTORCH_DOCS_SECRET"])
print("environment:", sorted(os.environ))
# (c) the network: a listener the test opened on the host's loopback
attempt("connect to the host's listener", lambda: socket.create_connection(("127.0.0.1", PORT), timeout=5))
# (d) outlive the build: a detached child and a double-forked daemon
attempt("start a detached process", lambda: subprocess.Popen(["sleep", MARK], start_new_session=True).pid)
def daemon():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", MARK])
        os._exit(0)
    return "forked"
attempt("double-fork a daemon", daemon)
# (e) the execution cache, where another topic's outputs live
attempt("list the build folder", lambda: os.listdir(os.path.join(REPO, "build")))
attempt("overwrite another topic's cache entry", lambda: write(VICTIM, '{{"cells": []}}'))
attempt("create a file in the cache", lambda: write(os.path.join(REPO, "build/jupyter-cache/pwned.txt")))
'''


def test_a_notebook_cannot_escape_the_sandbox(mini_repo):
    secret_value = "token-" + secrets.token_hex(8)
    (mini_repo / "secret.txt").write_text(secret_value + "\n")
    assert _counts(_tools(mini_repo, "execute").stdout) == (2, 2)  # topic b's outputs are now in the cache
    victim = next((mini_repo / "build/jupyter-cache/executed").glob("*/base.ipynb"))

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))  # an ephemeral port: nothing fixed
    listener.listen(8)
    mark = str(10**6 + secrets.randbelow(10**6))  # `sleep MARK`: a command line no other process has
    code = ESCAPE.format(repo=str(mini_repo), port=listener.getsockname()[1], mark=mark, victim=str(victim))
    _both(mini_repo, "a", [new_code_cell(code)])
    repo_before = _tree(mini_repo, skip=("build/",))
    cache_before = _tree(mini_repo / "build/jupyter-cache", skip=("global.db",))
    proc = _tools(mini_repo, "execute", PYTORCH_DOCS_SECRET=secret_value)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    said = _outputs(mini_repo, "zh", "a")
    print(said)  # shown by pytest when an assertion below fails

    # (a) the repository is unchanged, nothing was added, nothing of it reached the page
    assert _tree(mini_repo, skip=("build/",)) == repo_before
    assert not list(mini_repo.rglob("pwned*")), said
    assert secret_value not in said
    # (b) the planted variable did not reach the kernel
    assert "read PYTORCH_DOCS_SECRET: blocked (KeyError" in said
    # (c) the listener saw no connection
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):
        listener.accept()
    listener.close()
    # (d) nothing the notebook started is still running
    assert _processes_with(f"sleep {mark}") == []
    assert "start a detached process: SUCCEEDED" in said  # it did try: the kill is what is being tested
    # (e) the cache holds only what the build wrote: the other entry is intact and the next build uses it
    cache_after = _tree(mini_repo / "build/jupyter-cache", skip=("global.db",))
    assert {k: v for k, v in cache_after.items() if k in cache_before} == cache_before
    assert not (mini_repo / "build/jupyter-cache/pwned.txt").exists()
    assert "list the build folder: blocked (FileNotFoundError" in said  # not mounted: it does not exist there
    assert _counts(_tools(mini_repo, "execute").stdout) == (0, 4)
    assert _outputs(mini_repo, "en", "b") == "b 42\n"


def test_the_environment_is_an_allowlist(mini_repo):
    _both(mini_repo, "a", [new_code_cell("import os\nprint(sorted(os.environ))")])
    proc = _tools(mini_repo, "execute", PYTORCH_DOCS_SECRET="planted", PYTHONPATH="/planted")
    assert proc.returncode == 0, proc.stderr
    names = set(eval(_outputs(mini_repo, "zh", "a")))  # the kernel's own print of a list of names
    assert "PYTORCH_DOCS_SECRET" not in names and "PYTORCH_DOCS_ROOT" not in names and "PYTHONPATH" not in names
    ours = set(sandbox_module.kernel_env("/h", "/w")) | {"JPY_PARENT_PID", "PWD"}  # PWD: bwrap's --chdir
    ipykernel = {"TERM", "PAGER", "GIT_PAGER", "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "MPLBACKEND",
                 "PYDEVD_USE_FRAME_EVAL"}  # what the kernel sets for itself at start-up
    assert names <= ours | ipykernel, names - ours - ipykernel


def test_execute_says_once_that_it_is_sandboxed(mini_repo):
    out = _tools(mini_repo, "execute").stdout
    assert len(re.findall(r"^sandbox: each notebook runs in bubblewrap [\d.]+", out, re.MULTILINE)) == 1, out
    assert "no network" in out and "SANDBOX_MEMORY_GIB" in out


def test_sandbox_off_warns_on_every_build(mini_repo):
    for _ in range(2):
        proc = _tools(mini_repo, "execute", SANDBOX="off")
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.count("warning: SANDBOX=off: notebooks execute WITHOUT the sandbox") == 1
        assert "sandbox: OFF" in proc.stdout


def test_an_unknown_sandbox_setting_is_refused(mini_repo):
    proc = _tools(mini_repo, "execute", SANDBOX="maybe")
    assert proc.returncode == 1 and "SANDBOX='maybe': expected 'on'" in proc.stderr


@pytest.mark.parametrize("how", ["nonexistent SANDBOX_BWRAP", "no bwrap on PATH"])
def test_missing_bubblewrap_is_a_clear_message(mini_repo, how):
    env = {"SANDBOX_BWRAP": "/nonexistent/bwrap"} if how.startswith("nonexistent") else {"PATH": str(mini_repo)}
    proc = _tools(mini_repo, "execute", **env)
    assert proc.returncode == 1
    assert "notebooks execute in a bubblewrap sandbox, but" in proc.stderr, proc.stderr
    assert "apt-get install bubblewrap" in proc.stderr and "SANDBOX=off" in proc.stderr
    assert "Traceback" not in proc.stderr and not (mini_repo / "build/executed").exists()


def test_bubblewrap_without_namespaces_is_a_clear_message(mini_repo, tmp_path):
    fake = tmp_path / "bwrap"  # what bwrap says on a host that forbids unprivileged user namespaces
    fake.write_text("#!/bin/sh\n[ \"$1\" = --version ] && { echo 'bubblewrap 0.8.0'; exit 0; }\n"
                    "echo 'bwrap: No permissions to create new namespace, likely because the kernel does not "
                    "allow non-privileged user namespaces.' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    proc = _tools(mini_repo, "execute", SANDBOX_BWRAP=str(fake))
    assert proc.returncode == 1
    assert "cannot create the notebook sandbox on this host" in proc.stderr, proc.stderr
    assert "No permissions to create new namespace" in proc.stderr  # bwrap's own words
    assert "kernel.unprivileged_userns_clone=1" in proc.stderr and "SANDBOX=off" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_probe_runs_once_per_process(monkeypatch):
    sandbox_module._probe.cache_clear()
    first = sandbox_module.sandbox({})
    second = sandbox_module.sandbox({})
    assert first == second and sandbox_module._probe.cache_info().misses == 1


def test_bad_limit_values_are_named():
    with pytest.raises(BuildError, match=r"SANDBOX_MEMORY_GIB='lots': expected a positive number"):
        sandbox_module.limits_from_env({"SANDBOX_MEMORY_GIB": "lots"})
    assert sandbox_module.limits_from_env({"SANDBOX_TIME_S": "30"}).notebook_s == 30


def test_running_out_of_memory_names_the_notebook_and_the_limit(mini_repo):
    _both(mini_repo, "a", [new_code_cell("x = 1"), new_code_cell("big = bytearray(2 << 30)")])
    proc = _tools(mini_repo, "execute", SANDBOX_MEMORY_GIB="0.5")
    assert proc.returncode == 1
    assert "notebooks/zh/a.ipynb: cell 3 ran out of its 0.5 GiB memory limit (SANDBOX_MEMORY_GIB raises it)" \
        in proc.stderr, proc.stderr
    assert "Traceback (most recent call last):\n  File" not in proc.stderr


def test_filling_tmp_names_the_notebook_and_the_limit(mini_repo):
    _both(mini_repo, "a", [new_code_cell("open('/tmp/big', 'wb').write(bytes(64 << 20))")])
    proc = _tools(mini_repo, "execute", SANDBOX_TMP_GIB="0.02")
    assert proc.returncode == 1
    assert "notebooks/zh/a.ipynb: cell 2 filled the sandbox's 0.02 GiB /tmp (SANDBOX_TMP_GIB raises it)" \
        in proc.stderr, proc.stderr


def test_running_past_the_time_limit_names_the_notebook(mini_repo):
    _both(mini_repo, "a", [new_code_cell("import time\nwhile True:\n    time.sleep(0.5)")])
    proc = _tools(mini_repo, "execute", SANDBOX_TIME_S="4")
    assert proc.returncode == 1
    assert re.search(r"notebooks/zh/a\.ipynb: exceeded its 4 s limit \(in cell \d; SANDBOX_TIME_S raises it\)",
                     proc.stderr), proc.stderr


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_corrupt_cache_database_is_named_and_rebuilt(mini_repo, damage):
    assert _counts(_tools(mini_repo, "execute").stdout) == (2, 2)
    db = mini_repo / "build/jupyter-cache/global.db"
    if damage == "truncated":
        os.truncate(db, 100)
    elif damage == "garbage":
        db.write_bytes(secrets.token_bytes(4096))
    else:
        db.write_bytes(b"")
    proc = _tools(mini_repo, "execute")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^build/jupyter-cache/global\.db is corrupt \(.+\): discarding the execution cache and "
                     r"rebuilding it$", proc.stdout, re.MULTILINE), proc.stdout
    assert _counts(proc.stdout) == (2, 2)
    assert _counts(_tools(mini_repo, "execute").stdout) == (0, 4)  # and it works again


@pytest.mark.parametrize("damage", ["missing", "not JSON", "other code"])
def test_a_corrupt_cache_entry_discards_only_itself(mini_repo, damage):
    assert _counts(_tools(mini_repo, "execute").stdout) == (2, 2)
    entries = sorted((mini_repo / "build/jupyter-cache/executed").glob("*/base.ipynb"))
    victim = next(p for p in entries if "'b'" in p.read_text())
    if damage == "missing":
        victim.unlink()
    elif damage == "not JSON":
        victim.write_text('{"cells": [')
    else:  # valid, but not the code it is filed under: its outputs must not reach topic b's page
        nb = nbformat.read(victim, 4)
        nb.cells[0].source = "print('something else')"
        nbformat.write(nb, victim)
    proc = _tools(mini_repo, "execute")
    assert proc.returncode == 0, proc.stderr
    rel = victim.relative_to(mini_repo).as_posix()
    assert re.search(rf"zh/b\.ipynb … cache entry {re.escape(rel)} is corrupt \(.+\): discarded it, executed in",
                     proc.stdout), proc.stdout
    assert _counts(proc.stdout) == (1, 3)  # topic a still came from the cache
    assert _outputs(mini_repo, "en", "b") == "b 42\n"
    assert _counts(_tools(mini_repo, "execute").stdout) == (0, 4)


def test_gpu_device_nodes_are_bound_when_present(monkeypatch):
    """On a GPU machine (record-gpu) the NVIDIA device nodes are bound in; elsewhere no /dev node is added.
    (Checked on the command line only: this project's test machines have no GPU.)"""
    monkeypatch.setattr(sandbox_module.glob, "glob", lambda pattern: [])
    args = sandbox_module.bwrap_args("bwrap", sandbox_module.Limits())
    assert "--dev-bind" not in args
    monkeypatch.setattr(sandbox_module.glob, "glob", lambda pattern: ["/dev/nvidia0", "/dev/nvidiactl"])
    args = sandbox_module.bwrap_args("bwrap", sandbox_module.Limits())
    joined = " ".join(args)
    assert "--dev-bind /dev/nvidia0 /dev/nvidia0" in joined and "--dev-bind /dev/nvidiactl /dev/nvidiactl" in joined
    assert args.index("--dev") < args.index("--dev-bind")  # bound on top of the sandbox's own /dev


def test_older_bubblewrap_gets_only_the_options_it_knows():
    """Ubuntu 22.04 ships bubblewrap 0.6.1, before --size (0.7) and --disable-userns (0.8): still sandboxed."""
    new = sandbox_module.bwrap_args("bwrap", sandbox_module.Limits(), version="0.8.0")
    old = sandbox_module.bwrap_args("bwrap", sandbox_module.Limits(), version="0.6.1")
    assert "--disable-userns" in new and "--size" in new
    assert "--disable-userns" not in old and "--size" not in old
    assert {"--unshare-all", "--die-with-parent", "--clearenv"} <= set(old)
