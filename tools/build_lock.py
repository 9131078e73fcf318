"""One build at a time per working tree: an exclusive lock on `build/.lock`.

Two builds writing `build/` and `site/` at once corrupt each other (and used to fail with a misleading
error), so `build` and `execute` take this lock and a second one exits at once, naming the PID that holds
it. We chose "exit" over "wait": a build that silently waits looks hung, and the person who started the
second one is better placed to decide whether to wait or to stop the first.

Why `fcntl.flock` and not a PID file: the kernel releases a flock when the process holding it dies, however
it dies (Ctrl-C, SIGKILL, a crash), so a killed build never leaves a stale lock behind, and there is no race
between "is that PID alive?" and "take the lock". The standard library has it on Linux and macOS, so no new
dependency. The PID written into the file is only for the message; the lock itself is the flock.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tools.notebooks import BuildError
from tools.paths import BUILD

LOCK_FILE = BUILD / ".lock"


def holder(path: Path = LOCK_FILE) -> str:
    """What the lock file says about the process holding it ("pid 1234, `build`"), for messages."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    pid, _, what = text.partition(" ")
    if not pid.isdigit():
        return "pid unknown"  # it took the lock a moment ago and has not written its PID yet
    return f"pid {pid}" + (f", `{what}`" if what else "")


@contextmanager
def build_lock(what: str = "build", path: Path = LOCK_FILE) -> Iterator[None]:
    """Hold the tree's build lock for the `with` block, or raise BuildError at once if another process has it.

    The file is never deleted: unlinking a lock file lets a third process lock a new file while the second
    still holds the old one. It is left in place, unlocked, and re-used.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError(f"another build ({holder(path)}) is running in this tree ({path.parent.parent}); "
                             f"wait for it or stop it, then run `{what}` again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {what}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
