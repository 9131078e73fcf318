"""What git knows about the working tree, for the commands that must not lose a contributor's work.

`remove-language` asks which of a language's files are uncommitted; `sync-snippets` asks for every committed
version of a snippet, to tell a plain stale copy from one with local edits. Where the tree is not a git
repository (or git is missing), `GitUnavailable` says so, and the commands refuse unless `--force`.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from tools.paths import ROOT


class GitUnavailable(Exception):
    """No git history to consult: not a repository, or no git program."""


def _git(*args: str, root: Path = ROOT) -> str:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise GitUnavailable("git is not installed") from None
    if proc.returncode != 0:
        raise GitUnavailable(proc.stderr.strip() or f"git {' '.join(args)} failed")
    return proc.stdout


def is_repository(root: Path = ROOT) -> bool:
    try:
        return _git("rev-parse", "--is-inside-work-tree", root=root).strip() == "true"
    except GitUnavailable:
        return False


def uncommitted(paths: list[str], root: Path = ROOT) -> list[str]:
    """The files under `paths` (relative to `root`) that are modified, staged, deleted or untracked, as
    `git status --porcelain` names them (relative to `root`). Raises GitUnavailable outside a repository."""
    if not is_repository(root):
        raise GitUnavailable(f"{root} is not a git repository")
    out = _git("status", "--porcelain", "--untracked-files=all", "--", *paths, root=root)
    # "XY path" (or "XY old -> new" for a rename): keep the path as git prints it, relative to root
    files = []
    for line in out.splitlines():
        name = line[3:].split(" -> ")[-1].strip('"')
        xy = line[:2]
        files.append(f"{name} ({'untracked' if xy == '??' else 'deleted' if 'D' in xy else 'uncommitted changes'})")
    return files


def committed_versions(path: str, root: Path = ROOT) -> list[str]:
    """Every committed text of `path` (relative to `root`), newest first; empty when it was never committed.
    Raises GitUnavailable outside a repository."""
    if not is_repository(root):
        raise GitUnavailable(f"{root} is not a git repository")
    versions = []
    for commit in _git("log", "--format=%H", "--", path, root=root).split():
        try:
            versions.append(_git("show", f"{commit}:./{path}", root=root))
        except GitUnavailable:  # the commit deleted the file
            continue
    return versions
