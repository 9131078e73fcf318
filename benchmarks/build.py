"""Build benchmark (not a test): serial and parallel cold builds, warm rebuild, prose-only edit, one-cell code edit.

Works on temporary copies of the repository, so the real build/ and site/ are untouched, and prints a table:
wall time of `python -m tools build` and the notebook executions each step caused (from its progress lines).
The serial cold build (`--jobs 1`: notebooks executed and languages rendered one after another) runs on a copy
of its own; the parallel one (`--jobs N`, default: the number of CPUs: N kernels at once, the languages rendered
concurrently) and the steps after it on another.

    .venv/bin/python benchmarks/build.py [--jobs N] [--keep]
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE = shutil.ignore_patterns(".venv", ".git", "build", "site", "__pycache__", ".pytest_cache", "node_modules", ".cache")


class BuildFailed(Exception):
    """A step's build failed: the steps measured before it are still printed."""


def build(repo: Path, jobs: int) -> tuple[float, int, int, str]:
    """Run one build on the copy; returns (seconds, executed, cached, render summary)."""
    # JOBS as well as --jobs: the render of the languages (tools/site.py build_all) reads its parallelism
    # from JOBS when the command line does not hand it over, so --jobs 1 is serial from end to end.
    env = {**os.environ, "PYTORCH_DOCS_ROOT": str(repo), "PYTHONPATH": str(repo), "JOBS": str(jobs)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tools", "build", "--jobs", str(jobs)], cwd=repo, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise BuildFailed(f"build failed:\n{proc.stdout}\n{proc.stderr}")
    m = re.search(r"(\d+) executed, (\d+) from the cache", proc.stdout)
    rendered = re.search(r"^rendered (.*)$", proc.stdout, re.MULTILINE)
    return seconds, int(m[1]), int(m[2]), rendered[1] if rendered else ""


def edit_cell(path: Path, kind: str, change) -> None:
    """Edit the last cell of `kind` that carries no tags and is no snippet copy: exercise cells (starter, check,
    solution) and copies of snippets/ have rules of their own that an appended line would break."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in reversed(nb["cells"]) if c["cell_type"] == kind and not c["metadata"].get("tags")
                and not "".join(c["source"]).startswith("# snippet:"))
    src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    cell["source"] = change(src)
    path.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    jobs = int(sys.argv[sys.argv.index("--jobs") + 1]) if "--jobs" in sys.argv else (os.cpu_count() or 1)
    tmp = Path(tempfile.mkdtemp(prefix="bench-build-"))
    serial_repo, repo = tmp / "serial", tmp / "repo"
    shutil.copytree(ROOT, serial_repo, ignore=IGNORE)
    shutil.copytree(ROOT, repo, ignore=IGNORE)
    topic = "parameter"
    steps = []
    failed = None
    try:
        steps.append(("cold build, serial (`--jobs 1`)", *build(serial_repo, 1)))
        steps.append((f"cold build, parallel (`--jobs {jobs}`)", *build(repo, jobs)))
        steps.append(("warm rebuild, nothing changed", *build(repo, jobs)))
        edit_cell(repo / "notebooks/zh" / f"{topic}.ipynb", "markdown", lambda s: s + "\n\n（基准测试：只改了文字。）")
        steps.append((f"prose-only edit (zh/{topic})", *build(repo, jobs)))
        for lang in ("zh", "en"):  # code is shared: a code edit is made in every language
            edit_cell(repo / "notebooks" / lang / f"{topic}.ipynb", "code", lambda s: s + "\nprint('benchmark: one-cell code edit')")
        steps.append((f"one-cell code edit ({topic}, zh+en)", *build(repo, jobs)))
    except BuildFailed as e:
        failed = str(e)
    finally:
        if "--keep" not in sys.argv:
            shutil.rmtree(tmp, ignore_errors=True)
    if failed and not steps:
        sys.exit(failed)

    cold = steps[0][1]
    print(f"\nBuild benchmark · {len(list((ROOT / 'notebooks').glob('*/*.ipynb')))} notebooks · {os.cpu_count()} CPUs"
          f" · parallel steps with --jobs {jobs}\n")
    print("| step | wall time | vs serial cold | executions | from cache | render |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, sec, executed, cached, rendered in steps:
        print(f"| {name} | {sec:.1f} s | {100 * sec / cold:.0f}% | {executed} | {cached} | {rendered} |")
    if failed:
        sys.exit(f"\n{len(steps)} of 5 steps measured; the next one's {failed}")
    parallel, warm, prose, code = steps[1], steps[2], steps[3], steps[4]
    print(f"\nTargets: parallel cold build ≤ 60% of serial: {100 * parallel[1] / cold:.0f}% "
          + ("met" if parallel[1] <= 0.6 * cold else "MISSED")
          + "; prose-only edit 0 executions: " + ("met" if prose[2] == 0 else "MISSED")
          + f"; warm rebuild ≤ 10% of cold: {100 * warm[1] / cold:.1f}% " + ("met" if warm[1] <= 0.1 * cold else "MISSED")
          + "; a topic's zh + en: 1 execution: " + ("met" if code[2] == 1 else "MISSED"))

if __name__ == "__main__":
    main()
