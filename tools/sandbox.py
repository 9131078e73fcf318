"""The sandbox every notebook kernel runs in: bubblewrap, resource limits, and an allowlisted environment.

Notebooks come from contributors and their outputs are generated at build time, so nobody reviews what their
code does on the build machine. Each kernel therefore runs inside bubblewrap (`bwrap`, Debian's
`bubblewrap`), the unprivileged sandbox Flatpak uses, rather than a hand-written namespace setup:

- every namespace unshared (`--unshare-all`): no network but the sandbox's own loopback, its own process
  tree (so `/proc/<ppid>/cwd` leads nowhere), no capabilities, no nested user namespaces;
- a file system built from nothing: the system directories, the virtual environment and the Python it
  points at, read-only; a small allowlist of `/etc`; a fresh size-limited tmpfs as `/tmp` (the notebook's
  empty working folder and `$HOME` live there) and as `/dev/shm` (DataLoader workers pass tensors through
  it). The repository, `build/` (the execution cache) and the home directory are not mounted at all. The
  only host path the kernel can write is the folder holding its connection file and sockets;
- the environment cleared to an allowlist (`kernel_env`), so nothing of the build's environment (tokens,
  paths) can reach a page;
- its own process namespace, `--die-with-parent` and a new session: when the kernel ends (or the build dies)
  the namespace ends, and every process the notebook started (daemons included) is killed with it.

Limits, per notebook (environment variables override them, see `limits_from_env`): a wall-clock time for the
whole notebook on top of nbclient's per-cell timeout, and memory as RLIMIT_DATA per process. RLIMIT_DATA and
not RLIMIT_AS: torch, OpenMP and CUDA reserve far more address space than they ever touch (PROT_NONE
reservations count against RLIMIT_AS but not against RLIMIT_DATA), so an address-space cap either breaks
them or must be so high that it limits nothing. RLIMIT_DATA counts what a process can really dirty: heap and
private writable mappings. It is a per-process limit, so a notebook with worker processes may use it once per
process; a cgroup would cap the total but needs systemd or cgroup delegation that CI hosts and containers
often lack, and this must work wherever bubblewrap does. Shared memory is capped by the tmpfs sizes.

Not covered: no seccomp filter (the kernel's whole system-call surface stays reachable), no limit on the
number of processes (RLIMIT_NPROC does not bind root and counts the user's processes host-wide; a pids cgroup
would), and the socket folder is on the host's disk, so a notebook could fill it (the build deletes it after).

`SANDBOX=off` runs kernels without bubblewrap (the limits and the environment allowlist still apply); it is for
a machine where you trust every notebook's code, is never the default, and warns on every build.
"""
from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tools.notebooks import BuildError
from tools.paths import ROOT

#: Where the notebook runs and what it calls home, inside the sandbox (both on the /tmp tmpfs).
WORKDIR = "/tmp/notebook"
HOME = "/tmp/home"

#: Variables passed through from the build's environment when set: thread counts (so that parallel builds
#: can share cores) and the GPU selection. Nothing else from the build's environment reaches a notebook.
PASS_THROUGH = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "CUDA_VISIBLE_DEVICES")

#: What of /etc a notebook needs: the dynamic linker's cache, Debian's alternatives (/usr/bin/* links into
#: them), fonts (matplotlib, graphviz), user and host lookup (getpass, "localhost"), time zone, MIME types.
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "fonts", "passwd", "group",
       "nsswitch.conf", "host.conf", "hosts", "localtime", "timezone", "mime.types", "os-release")

GIB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """What one notebook may use. Defaults measured on this project's notebooks (README, "How it works")."""

    memory_gib: float = 4.0  # RLIMIT_DATA per process; every topic passes with 0.75 (peak data ≈ 0.45 GiB)
    notebook_s: int = 600  # wall clock for the whole notebook, kernel start included
    tmp_gib: float = 1.0  # size of the /tmp and /dev/shm tmpfs each

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_gib * GIB)


_LIMIT_VARS = {"SANDBOX_MEMORY_GIB": "memory_gib", "SANDBOX_TIME_S": "notebook_s", "SANDBOX_TMP_GIB": "tmp_gib"}


def limits_from_env(env: dict[str, str] | None = None) -> Limits:
    """The limits, with SANDBOX_MEMORY_GIB, SANDBOX_TIME_S and SANDBOX_TMP_GIB overriding the defaults."""
    env = os.environ if env is None else env
    values: dict[str, float | int] = {}
    for var, name in _LIMIT_VARS.items():
        if env.get(var, "").strip():
            kind = int if name == "notebook_s" else float
            try:
                value = kind(env[var])
            except ValueError:
                value = 0
            if value <= 0:
                raise BuildError(f"{var}={env[var]!r}: expected a positive {'whole ' if kind is int else ''}number")
            values[name] = value
    return Limits(**values)


#: Sets the memory limit, then becomes the kernel: `python -c LIMIT_AND_EXEC BYTES CMD…`. A wrapper rather
#: than Popen's preexec_fn, which may deadlock when the build runs kernels from several threads.
LIMIT_AND_EXEC = ("import os, resource, sys; n = int(sys.argv[1]); "
                  "resource.setrlimit(resource.RLIMIT_DATA, (n, n)); os.execvp(sys.argv[2], sys.argv[2:])")


def limited(cmd: list[str], limits: Limits) -> list[str]:
    """`cmd` run under the memory limit (RLIMIT_DATA; every process it starts inherits it)."""
    return [sys.executable, "-c", LIMIT_AND_EXEC, str(limits.memory_bytes), *cmd]


def kernel_env(home: str, workdir: str) -> dict[str, str]:
    """The kernel's whole environment: an allowlist, never a copy of the build's environment."""
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": str(Path(workdir).parent),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MPLCONFIGDIR": f"{home}/.config/matplotlib",
        "PYTHONDONTWRITEBYTECODE": "1",  # the venv is read-only
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # silences a debugger warning on every kernel start
    }
    env.update({k: os.environ[k] for k in PASS_THROUGH if k in os.environ})
    return env


def _readonly_system() -> list[str]:
    """Bind the system directories read-only (a merged-/usr system gets /bin, /lib… as links)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for name in ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    args += ["--ro-bind-try", "/var/cache/fontconfig", "/var/cache/fontconfig"]
    # pytorch's cpuinfo reads the CPU topology here (and complains on stderr when it cannot)
    args += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    return args


def _python_dirs() -> list[str]:
    """The virtual environment and the Python installation it points at (which may lie under $HOME)."""
    dirs = {sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix),
            os.path.dirname(os.path.realpath(sys.executable))}
    covered = ("/usr/",)
    keep = sorted(d for d in dirs if not (d + "/").startswith(covered))
    # drop a directory inside another one already bound
    keep = [d for d in keep if not any(d != o and d.startswith(o + "/") for o in keep)]
    args: list[str] = []
    for d in keep:
        args += ["--ro-bind", d, d]
    return args


def _gpu_devices() -> list[str]:
    """NVIDIA's device nodes, so that CUDA works inside the sandbox (record-gpu on a GPU machine)."""
    args: list[str] = []
    for dev in sorted(glob.glob("/dev/nvidia*")):
        args += ["--dev-bind", dev, dev]
    if args:  # the driver finds its devices through sysfs
        args += ["--ro-bind-try", "/sys/bus/pci", "/sys/bus/pci", "--ro-bind-try", "/sys/devices", "/sys/devices",
                 "--ro-bind-try", "/sys/module/nvidia", "/sys/module/nvidia"]
    return args


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")[:3] if p.isdigit())


#: Options newer than some distributions' bubblewrap (Ubuntu 22.04 has 0.6.1): used where present.
SIZE_SINCE, DISABLE_USERNS_SINCE = (0, 7), (0, 8)


def bwrap_args(bwrap: str, limits: Limits, writable: Path | None = None,
               readonly_files: tuple[Path, ...] = (), version: str = "0.8.0") -> list[str]:
    """The bubblewrap command line up to the kernel's own command (see the module docstring for the why).

    `writable` is the one host folder the kernel may write (its ipc sockets); `readonly_files` lie inside it
    and stay read-only (the connection file: the kernel reads its key there and has no reason to change it).
    """
    have = _version_tuple(version)
    size = ["--size", str(int(limits.tmp_gib * GIB))] if have >= SIZE_SINCE else []
    args = [bwrap, "--unshare-all", "--unshare-user", "--cap-drop", "ALL",
            "--die-with-parent", "--new-session", "--hostname", "notebook", "--clearenv"]
    if have >= DISABLE_USERNS_SINCE:
        args.insert(3, "--disable-userns")
    # in this order: later mounts go on top of earlier ones, so the fresh /tmp cannot hide a venv under /tmp
    args += _readonly_system()
    args += ["--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/dev/shm", *_gpu_devices()]
    args += [*size, "--tmpfs", "/tmp", "--dir", WORKDIR, "--dir", HOME]
    for hide in (ROOT, Path.home()):  # a repository or home under /usr (e.g. /usr/local/src) is masked too
        if hide.is_relative_to("/usr"):
            args += ["--tmpfs", str(hide)]
    args += _python_dirs()
    if writable is not None:
        args += ["--bind", str(writable), str(writable)]
    for f in readonly_files:
        args += ["--ro-bind", str(f), str(f)]
    # JPY_PARENT_PID=1: the kernel's parent is the sandbox's init, which --die-with-parent already ties to the
    # build (without it ipykernel prints a "Ctrl-C will not work" note on every start)
    for key, value in {**kernel_env(HOME, WORKDIR), "JPY_PARENT_PID": "1"}.items():
        args += ["--setenv", key, value]
    return [*args, "--chdir", WORKDIR, "--"]


@dataclass(frozen=True)
class Sandbox:
    """How kernels run on this machine: in bubblewrap (`bwrap` set) or, with SANDBOX=off, without it."""

    bwrap: str | None
    version: str
    limits: Limits

    @property
    def enabled(self) -> bool:
        return self.bwrap is not None

    def wrap(self, cmd: list[str], writable: Path, readonly_files: tuple[Path, ...] = ()) -> list[str]:
        """`cmd` (the kernel's command line), run inside the sandbox."""
        if self.bwrap is None:
            return limited(cmd, self.limits)
        return bwrap_args(self.bwrap, self.limits, writable, readonly_files, self.version) + limited(cmd, self.limits)

    def describe(self) -> str:
        """Two lines for the build's output: that execution is sandboxed, how, and with which limits."""
        lim = self.limits
        limits = (f"  limits per notebook: {lim.notebook_s} s, {lim.memory_gib:g} GiB memory per process, "
                  f"{lim.tmp_gib:g} GiB /tmp (SANDBOX_TIME_S, SANDBOX_MEMORY_GIB, SANDBOX_TMP_GIB)")
        if self.bwrap is None:
            return f"sandbox: OFF (SANDBOX=off)\n{limits}"
        old = _version_tuple(self.version) < DISABLE_USERNS_SINCE
        return (f"sandbox: each notebook runs in bubblewrap {self.version} ({self.bwrap}): no network; repository, "
                f"build/ and home not mounted; read-only venv; empty /tmp; allowlisted environment\n{limits}"
                + ("\n  (bubblewrap 0.8 or later would also cap /tmp's size and forbid nested user namespaces)"
                   if old else ""))


OFF_WARNING = ("warning: SANDBOX=off: notebooks execute WITHOUT the sandbox. Their code can read and change this "
               "repository and your home directory, read this build's environment, use the network and leave "
               "processes running. Use it only on a machine where you trust every notebook's code.")


def _fixes(bwrap: str) -> str:
    return ("  fix it with one of:\n"
            "    - install bubblewrap: sudo apt-get install bubblewrap (tools/setup.sh does it when run as root)\n"
            f"    - point SANDBOX_BWRAP at a working bwrap (now: {bwrap})\n"
            "    - only on a machine where you trust every notebook's code: SANDBOX=off make build "
            "(runs them unsandboxed, with a warning)")


def _namespace_fixes() -> str:
    return ("  this host does not let unprivileged users create the namespaces bubblewrap needs. Fix it with one of:\n"
            "    - Debian and older Ubuntu: sudo sysctl -w kernel.unprivileged_userns_clone=1\n"
            "    - Ubuntu 23.10 and later (AppArmor): sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0,\n"
            "      or an AppArmor profile that allows userns for bwrap (see /etc/apparmor.d/bwrap-userns-restrict)\n"
            "    - in a container: allow user namespaces (e.g. docker run --security-opt seccomp=unconfined "
            "--security-opt apparmor=unconfined)\n"
            "    - only on a machine where you trust every notebook's code: SANDBOX=off make build "
            "(runs them unsandboxed, with a warning)")


@functools.cache
def _probe(bwrap: str, limits: Limits) -> str:
    """Start a trivial Python inside the real sandbox configuration; return bwrap's version or raise."""
    try:
        version = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=30).stdout.split()[-1]
    except (OSError, IndexError, subprocess.SubprocessError) as e:
        raise BuildError(f"notebooks execute in a bubblewrap sandbox, but {bwrap} cannot be run ({e}).\n"
                         + _fixes(bwrap)) from None
    cmd = bwrap_args(bwrap, limits, version=version) + limited([sys.executable, "-c", "import sys; sys.exit(0)"], limits)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        raise BuildError(f"bubblewrap ({bwrap}) could not start a sandbox: {e}\n" + _namespace_fixes()) from None
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip() or f"exit status {proc.returncode}"
        raise BuildError(f"bubblewrap {version} ({bwrap}) cannot create the notebook sandbox on this host:\n"
                         f"  {said}\n" + _namespace_fixes())
    return version


@functools.cache
def _warn_off() -> None:
    print(OFF_WARNING, file=sys.stderr, flush=True)


def sandbox(env: dict[str, str] | None = None) -> Sandbox:
    """The sandbox for this process, probed once (per setting): raises a BuildError saying how to fix it."""
    env = os.environ if env is None else env
    limits = limits_from_env(env)
    mode = env.get("SANDBOX", "").strip().lower()
    if mode == "off":
        _warn_off()
        return Sandbox(None, "", limits)
    if mode not in ("", "on", "bwrap"):
        raise BuildError(f"SANDBOX={env['SANDBOX']!r}: expected 'on' (the default: bubblewrap) or 'off'")
    wanted = env.get("SANDBOX_BWRAP", "").strip() or "bwrap"
    found = shutil.which(wanted)
    if found is None:
        raise BuildError(f"notebooks execute in a bubblewrap sandbox, but {wanted!r} was not found "
                         f"({'on PATH' if '/' not in wanted else 'no such executable'}).\n" + _fixes(wanted))
    return Sandbox(found, _probe(found, limits), limits)
