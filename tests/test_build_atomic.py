"""Atomic, locked, self-healing builds: an interrupted build leaves the previous site whole, a second build
at the same time is refused with a clear message, and a deleted topic leaves the site.

Every test works on a copy of a tree built once per module (its caches seeded from the main tree's, so
nothing executes that the main tree has executed already); the main tree's build/ and site/ are untouched.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import copy_built, run_tools

#: Only a bound on how long to wait for a condition that is polled for; no test relies on the time itself.
DEADLINE_S = 600


def _env(repo: Path) -> dict[str, str]:
    return {**os.environ, "PYTORCH_DOCS_ROOT": str(repo), "PYTHONPATH": str(repo)}


@pytest.fixture(scope="module")
def built_tree(built_site: Path, tmp_path_factory) -> Path:
    """A copy of the repository as the session's build left it (sources, build/, site/: conftest.copy_built)."""
    return copy_built(tmp_path_factory.mktemp("atomic"))


@pytest.fixture()
def tree(built_tree: Path, tmp_path: Path) -> Path:
    """A fresh copy of the built tree for one test (it may break it)."""
    dst = tmp_path / "repo"
    shutil.copytree(built_tree, dst, symlinks=True)
    return dst


def site_snapshot(site: Path) -> dict[str, str]:
    """Every file of a site folder with a digest of its bytes (hidden folders beside it are not part of it)."""
    return {f.relative_to(site).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(site.rglob("*")) if f.is_file()}


def leftovers(site: Path) -> list[str]:
    return sorted(p.name for p in site.iterdir() if p.name.startswith("."))


def edit_prose(repo: Path, topic: str = "parameter", text: str = "\n\n新增的一句话，用来触发重新渲染。") -> None:
    """A prose edit: executes nothing, but every language renders again."""
    path = repo / f"notebooks/zh/{topic}.ipynb"
    nb = nbformat.read(path, 4)
    next(c for c in nb.cells if c.cell_type == "markdown").source += text
    nbformat.write(nb, path)


def _render_children(pid: int) -> list[int]:
    """The build's render processes still running (tools/site.py render_child), by /proc."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and b"render_child" in cmd:
            kids.append(int(stat.parent.name))
    return kids


def _concurrent() -> bool:
    """Whether the build renders its two languages in processes (tools.execute.resolve_jobs > 1)."""
    from tools.execute import resolve_jobs

    return resolve_jobs(None) > 1


def wait_for(condition, proc: subprocess.Popen, what: str):
    """Poll `condition` until it returns something truthy; fail if the build ends first."""
    start = time.monotonic()
    while time.monotonic() - start < DEADLINE_S:
        found = condition()
        if found:
            return found
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the build ended ({proc.returncode}) before {what}:\n{out}\n{err}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"gave up waiting for {what}")


# Interrupted builds ---------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_an_interrupted_render_leaves_the_previous_site_whole(tree, sig):
    site = tree / "site"
    before = {lang: site_snapshot(site / lang) for lang in ("zh", "en")}
    index_before = (site / "zh/index.html").read_bytes()
    edit_prose(tree)

    proc = subprocess.Popen([sys.executable, "-m", "tools", "build"], cwd=tree, env=_env(tree),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def rendering():
        """mkdocs is writing zh: into the temporary folder (static files are copied after the pages are read), or,
        were the render done in place as it once was, the published index.html has been cleaned away already."""
        # Mid-render: static files copied, the search index (written by the search plugin's on_post_build,
        # mkdocs' last step) not yet. A finished language's temporary folder holds the *previous* site for a
        # moment after the swap (index and all): signalling then raced the build's own exit (it once ended 0).
        children = _render_children(proc.pid)
        tmp = next((p for p in site.glob(".tmp-zh-*")
                    if (p / "assets").is_dir() and not (p / "search" / "search_index.json").exists()), None)
        # Concurrent renders (JOBS > 1): the folder counts only while a render process still writes it; after
        # the swap it holds the previous site while that is removed, file by file.
        if tmp is not None and not children and _concurrent():
            return None
        return tmp or (not (site / "zh/index.html").exists() and site / "zh")

    tmp = wait_for(rendering, proc, "the zh render started writing")
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode != 0
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
        assert tmp.name.startswith(".tmp-zh-") and not tmp.exists(), "an interrupted render removes its temporary folder"
    else:
        assert proc.returncode == -signal.SIGKILL

    # the previous site, whole: the same files with the same bytes
    assert (site / "zh/index.html").read_bytes() == index_before
    assert {lang: site_snapshot(site / lang) for lang in ("zh", "en")} == before

    # the next build cleans up and is correct
    proc = run_tools(tree, "build")
    if sig == signal.SIGKILL:
        assert f"site/: removed {tmp.name}/ (an interrupted render)" in proc.stdout, proc.stdout
    assert leftovers(site) == []
    assert "新增的一句话" in (site / "zh/topics/parameter/index.html").read_text(encoding="utf-8")
    assert "nb-stale" in (site / "en/topics/parameter/index.html").read_text(encoding="utf-8")


def test_a_build_killed_between_the_two_renames_is_put_back(tree):
    """Where the atomic exchange is unavailable, the swap is two renames; a build killed between them has
    left the previous site as site/.old-zh, and the next build puts it back before anything else."""
    site = tree / "site"
    before = site_snapshot(site / "zh")
    (site / "zh").rename(site / ".old-zh")
    (site / ".tmp-en-abcd").mkdir()
    (site / ".tmp-en-abcd" / "index.html").write_text("half a render", encoding="utf-8")
    (site / ".tmp-index.html-abcd").write_text("half a root page", encoding="utf-8")  # from write_text_atomic
    proc = run_tools(tree, "build")
    assert "site/: restored zh/ from .old-zh/" in proc.stdout and "rendered zh: unchanged" in proc.stdout, proc.stdout
    assert site_snapshot(site / "zh") == before
    assert leftovers(site) == []


def test_swap_in_without_the_atomic_exchange(tmp_path, monkeypatch):
    """The fallback path of swap_in (two renames) publishes the new render and removes the old one."""
    from tools import site as site_mod

    for exchange in (site_mod._exchange, lambda a, b: False):
        monkeypatch.setattr(site_mod, "_exchange", exchange)
        final, new = tmp_path / "zh", tmp_path / ".tmp-zh-1"
        final.mkdir(exist_ok=True)
        (final / "index.html").write_text("old", encoding="utf-8")
        new.mkdir()
        (new / "index.html").write_text("new", encoding="utf-8")
        site_mod.swap_in(new, final)
        assert (final / "index.html").read_text(encoding="utf-8") == "new"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["zh"]
        shutil.rmtree(final)


def test_a_render_cache_entry_cut_short_is_dropped_not_a_traceback(tree):
    """mkdocs-jupyter writes its cache entries in place: a kill mid-write leaves a truncated JSON file."""
    entries = sorted((tree / "build/render-cache/zh").glob("*.json"))
    assert entries
    entries[0].write_text(entries[0].read_text(encoding="utf-8")[:100], encoding="utf-8")
    edit_prose(tree)  # so that zh renders again and reads its cache
    proc = run_tools(tree, "build")
    assert f"build/render-cache/zh/{entries[0].name}: unreadable render cache entry removed" in proc.stdout, proc.stdout


def test_a_language_that_fails_publishes_no_language(tree):
    """Languages render concurrently (one process each, up to --jobs): when one fails, the others' finished
    renders are not published either, the error names the failing language's config and warning, and no
    temporary folder is left; the next good build publishes both."""
    site = tree / "site"
    before = {lang: site_snapshot(site / lang) for lang in ("zh", "en")}
    edit_prose(tree)  # zh and en both render again
    index = tree / "docs/en/index.md"
    good = index.read_text(encoding="utf-8")
    index.write_text(good + "\n[a broken link](no-such-page.md)\n", encoding="utf-8")  # a warning: strict fails
    proc = run_tools(tree, "build", "--jobs", "2", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "mkdocs.en.yml: mkdocs build failed" in proc.stderr and "link 'no-such-page.md'" in proc.stderr, proc.stderr
    assert "render zh: done in" in proc.stdout and "render en: failed" in proc.stdout, proc.stdout  # zh really finished
    assert {lang: site_snapshot(site / lang) for lang in ("zh", "en")} == before
    assert leftovers(site) == []

    index.write_text(good, encoding="utf-8")
    proc = run_tools(tree, "build", "--jobs", "2")
    assert re.search(r"^rendered zh in [\d.]+ s, en in [\d.]+ s$", proc.stdout, re.MULTILINE), proc.stdout
    assert "新增的一句话" in (site / "zh/topics/parameter/index.html").read_text(encoding="utf-8")
    assert leftovers(site) == []


# Concurrent builds ----------------------------------------------------------------------------------

def test_a_second_build_is_refused_while_one_holds_the_lock(tree):
    site = tree / "site"
    before = {lang: site_snapshot(site / lang) for lang in ("zh", "en")}
    edit_prose(tree)  # a build that got through would change the site
    lock = tree / "build/.lock"
    with lock.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        f.write(f"{os.getpid()} build\n")
        f.flush()
        for command in ("build", "execute"):
            proc = run_tools(tree, command, check=False)
            assert proc.returncode == 1, (command, proc.stdout, proc.stderr)
            assert f"another build (pid {os.getpid()}, `build`) is running in this tree" in proc.stderr, proc.stderr
            assert "wait for it or stop it" in proc.stderr and "Traceback" not in proc.stderr
    assert {lang: site_snapshot(site / lang) for lang in ("zh", "en")} == before
    assert lock.read_text() == f"{os.getpid()} build\n"  # the refused build did not touch the holder's PID


def test_a_lock_left_by_a_killed_process_does_not_block(tree):
    """flock is released by the kernel when its holder dies, however it dies: no stale lock."""
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import sys; sys.path.insert(0, sys.argv[1]); from tools.build_lock import build_lock\n"
                                "with build_lock('build'):\n    print('locked', flush=True); sys.stdin.read()"), str(tree)],
        env=_env(tree), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    blocked = run_tools(tree, "build", check=False)
    assert blocked.returncode == 1 and f"pid {holder.pid}" in blocked.stderr, blocked.stderr
    holder.kill()
    holder.wait()
    assert (tree / "build/.lock").read_text().startswith(f"{holder.pid} ")  # the file stays; the lock does not
    proc = run_tools(tree, "build")
    assert "rendered zh: unchanged, en: unchanged" in proc.stdout


# Deleted topics -------------------------------------------------------------------------------------

def test_a_deleted_topic_leaves_the_site(tree):
    topic = "internals"
    table = tree / "languages.yml"  # the shared navigation; mkdocs.<lang>.yml are generated from it
    table.write_text("".join(line for line in table.read_text(encoding="utf-8").splitlines(keepends=True)
                             if f"topics/{topic}.ipynb" not in line), encoding="utf-8")
    run_tools(tree, "languages")
    for lang in ("zh", "en"):
        (tree / f"notebooks/{lang}/{topic}.ipynb").unlink()
        assert f"topics/{topic}.ipynb" not in (tree / f"mkdocs.{lang}.yml").read_text(encoding="utf-8")
        index = tree / f"docs/{lang}/index.md"
        index.write_text("".join(line for line in index.read_text(encoding="utf-8").splitlines(keepends=True)
                                 if f"topics/{topic}.ipynb" not in line), encoding="utf-8")
    assert (tree / f"site/zh/topics/{topic}/index.html").exists()  # published before

    run_tools(tree, "build")
    for lang in ("zh", "en"):
        site = tree / "site" / lang
        assert not (site / "topics" / topic).exists(), f"site/{lang}/topics/{topic}/ is still published"
        assert not (tree / f"build/executed/{lang}/{topic}.ipynb").exists()
        docs = json.loads((site / "search/search_index.json").read_text(encoding="utf-8"))["docs"]
        assert not [d["location"] for d in docs if d["location"].startswith(f"topics/{topic}/")]
        assert f"topics/{topic}/" not in (site / "index.html").read_text(encoding="utf-8")  # nav and home page
        assert f"topics/{topic}/" not in (site / "sitemap.xml").read_text(encoding="utf-8")
        assert (site / "topics/parameter/index.html").exists()
