"""The project's one entry point: `python -m tools <command>` (the Makefile calls these).

  check            source checks: zh↔en structure and code parity, no committed outputs, snippet copies, safety
  execute          execute the notebooks once per distinct code (cached) into build/executed/;
                   [--shard K/N]: only share K of N of the distinct code (a CI matrix job, tools/shards.py)
                   [--jobs N]: N notebooks at once (default: JOBS, else the number of CPUs; 1: one at a time)
  merge-cache      DIR …: file the executions in other execution caches (the shards') into build/jupyter-cache/
  build            check + execute + render every language into site/ (atomically; one build at a time)
                   [--jobs N]: as for execute
  serve            serve site/ on http://127.0.0.1:8000
  sync-snippets    [--force]: rewrite every stale notebook copy of a snippet from snippets/ (refuses a copy
                   with local edits unless --force)
  translations     translation status per language and topic, and glossary misses
  mark-translated  LANG TOPIC [CELL …]: record that a translation's cells are up to date with the source
  new-language     LANG: scaffold a new language from the source (never overwrites a file)
  remove-language  LANG [--force]: undo new-language; refuses the source, the last translation and uncommitted
                   work (unless --force); the files are moved to build/removed/, not deleted
  record-gpu       execute every notebook here (on a GPU) and store the outputs in recorded/
  compat           VERSION [TOPIC …]: run the topics and tests/facts on another torch (side venv under
                   build/compat/), write compat/VERSION.json; `compat status`: the matrix, stale records
"""
from __future__ import annotations

import re
import sys
import time

from tools.notebooks import BuildError


class UsageError(Exception):
    """A command line the command does not understand: an unknown option, a missing or extra argument."""


def _parse(args: list[str], usage: str, options: tuple[str, ...] = (), nargs: tuple[int, int | None] = (0, 0)) -> tuple[list[str], set[str]]:
    """Split `args` into positionals and options. An option the command does not know is an error, never
    ignored: a mistyped `--forse` must not run the command without the protection the user asked for."""
    given = [a for a in args if a.startswith("-") and not re.fullmatch(r"-\d+", a)]  # "-1": a (bad) number
    unknown = [a for a in given if a not in options]
    if unknown:
        known = f" (it knows {', '.join(options)})" if options else " (it takes none)"
        raise UsageError(f"unknown option {', '.join(unknown)}{known}\nusage: {usage}")
    positional = [a for a in args if a not in given]
    lo, hi = nargs
    if len(positional) < lo or (hi is not None and len(positional) > hi):
        raise UsageError(f"usage: {usage}")
    return positional, set(given)


def _take_jobs(args: list[str], usage: str) -> tuple[list[str], int]:
    """`args` without `--jobs N` (or `--jobs=N`), and the number of notebooks to execute at once: N, else the
    JOBS environment variable, else the number of CPUs (`tools.execute.resolve_jobs`, which checks it)."""
    from tools.execute import resolve_jobs

    rest, value = list(args), None
    for i, a in enumerate(rest):
        if a == "--jobs" or a.startswith("--jobs="):
            if a == "--jobs" and i + 1 >= len(rest):
                raise UsageError(f"--jobs takes one value, N (notebooks at once)\nusage: {usage}")
            value = a.partition("=")[2] if "=" in a else rest[i + 1]
            del rest[i:i + (1 if "=" in a else 2)]
            break
    if any(a == "--jobs" or a.startswith("--jobs=") for a in rest):
        raise UsageError(f"--jobs given twice\nusage: {usage}")
    try:
        return rest, resolve_jobs(value)
    except BuildError as e:
        raise UsageError(f"{e}\nusage: {usage}") from None


def cmd_check(args: list[str]) -> int:
    from tools.checks import run_all

    _parse(args, "python -m tools check")
    problems = run_all()
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("check: all notebooks pass (parity, no outputs, snippets, safety)")
    return 0


def cmd_execute(args: list[str]) -> int:
    from tools.build_lock import build_lock
    from tools.execute import EXECUTED, execute_all
    from tools.site import prune_executed

    usage = "python -m tools execute [--ignore-recorded] [--shard K/N] [--jobs N]"
    args, jobs = _take_jobs(args, usage)
    values, opts = _parse(args, usage, options=("--ignore-recorded", "--shard"), nargs=(0, 1))
    if bool(values) != ("--shard" in opts) or (values and args[args.index("--shard") + 1] != values[0]):
        raise UsageError(f"--shard takes one value, K/N\nusage: {usage}")
    notebooks = None
    if values:  # a CI matrix job: only this share of the distinct code (tools/shards.py)
        from tools.notebooks import all_notebooks
        from tools.shards import parse_shard, share

        (k, n), everything = parse_shard(values[0]), all_notebooks()
        notebooks = share(everything, k, n)
        print(f"shard {k}/{n}: {len(notebooks)} of {len(everything)} notebooks")
    with build_lock("execute"):
        print(execute_all(notebooks, use_recorded="--ignore-recorded" not in opts, jobs=jobs).summary())
        prune_executed(EXECUTED)
    return 0


def cmd_merge_cache(args: list[str]) -> int:
    """DIR …: file the executions held by other execution caches (the CI shards') into build/jupyter-cache."""
    from pathlib import Path

    from tools.build_lock import build_lock
    from tools.execute import CACHE_DIR
    from tools.shards import merge_caches

    dirs, _ = _parse(args, "python -m tools merge-cache DIR [DIR …]", nargs=(1, None))
    with build_lock("merge-cache"):
        filed, present = merge_caches([Path(d) for d in dirs], CACHE_DIR)
    print(f"merge-cache: {filed} executions filed, {present} already in the cache")
    return 0


def cmd_build(args: list[str]) -> int:
    from tools.build_lock import build_lock
    from tools.execute import EXECUTED, execute_all
    from tools.site import build_all

    args, jobs = _take_jobs(args, "python -m tools build [--jobs N]")
    _parse(args, "python -m tools build [--jobs N]")
    t0 = time.perf_counter()
    with build_lock("build"):  # one build per tree at a time; a second exits at once, naming this one
        if cmd_check([]) != 0:
            return 1
        stats = execute_all(jobs=jobs)
        print(stats.summary())
        timings = build_all(EXECUTED)
    print("rendered " + ", ".join(f"{lang} in {s:.1f} s" if s is not None else f"{lang}: unchanged" for lang, s in timings.items()))
    print(f"build finished in {time.perf_counter() - t0:.1f} s: site/")
    return 0


def cmd_serve(args: list[str]) -> int:
    import functools
    import http.server

    from tools.paths import SITE

    (port_arg, *_), _ = _parse(args + ["8000"] * (not args), "python -m tools serve [PORT]", nargs=(1, 1))
    if not port_arg.isdigit() or not 0 < int(port_arg) < 65536:
        raise UsageError(f"'{port_arg}' is not a port number\nusage: python -m tools serve [PORT]")
    port = int(port_arg)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as httpd:
        print(f"serving site/ on http://127.0.0.1:{port}/ (zh: /zh/, en: /en/); Ctrl-C stops")
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


def cmd_sync_snippets(args: list[str]) -> int:
    from tools.snippets import sync

    _, opts = _parse(args, "python -m tools sync-snippets [--force]", options=("--force",))
    fixed, notes = sync(force="--force" in opts)
    for d in fixed:
        print(f"rewrote {d.notebook.rel} cell {d.cell} from snippets/{d.file}")
    for line in notes:
        print(line)
    print(f"{len(fixed)} snippet copies rewritten")
    return 0


def cmd_translations(args: list[str]) -> int:
    from tools.glossary import lint
    from tools.translation import report

    _parse(args, "python -m tools translations")
    print(report())
    misses = lint()
    if misses:
        print(f"\nglossary: {len(misses)} cell(s) miss a term:")
        for m in misses:
            print(f"  {m}")
    else:
        print("\nglossary: every translated cell uses the glossary's terms")
    return 0


def cmd_mark_translated(args: list[str]) -> int:
    from tools.translation import mark, parse_cells, translation_notebook

    (lang, topic, *raw), _ = _parse(args, "python -m tools mark-translated LANG TOPIC [CELL …]", nargs=(2, None))
    nbf = translation_notebook(lang, topic)
    done = mark(nbf, parse_cells(nbf, raw) or None)
    print(f"{nbf.rel}: marked {len(done)} cells (markdown, figure alt text) as translated from the current source")
    return 0


def cmd_new_language(args: list[str]) -> int:
    from tools.languages import scaffold

    (lang,), _ = _parse(args, "python -m tools new-language LANG   (make new-language LANG=ja)", nargs=(1, 1))
    for line in scaffold(lang):
        print(line)
    return 0


def cmd_remove_language(args: list[str]) -> int:
    from tools.languages import remove

    (lang,), opts = _parse(args, "python -m tools remove-language LANG [--force]   (make remove-language LANG=ja [FORCE=1])",
                           options=("--force",), nargs=(1, 1))
    for line in remove(lang, force="--force" in opts):
        print(line)
    return 0


def cmd_record_gpu(args: list[str]) -> int:
    from tools.build_lock import build_lock
    from tools.recorded import record_all

    _, opts = _parse(args, "python -m tools record-gpu [--allow-cpu]", options=("--allow-cpu",))
    with build_lock("record-gpu"):
        done = record_all(require_gpu="--allow-cpu" not in opts)
    print(f"recorded {len(done)} notebooks into recorded/")
    return 0


def cmd_compat(args: list[str]) -> int:
    """VERSION [TOPIC …]: run every topic and tests/facts on torch VERSION (side venv), write compat/VERSION.json."""
    from tools import compat

    (version, *only), _ = _parse(args, "python -m tools compat VERSION [TOPIC …] | status   (make compat TORCH=2.15.0)",
                                 nargs=(1, None))
    if version == "status" and not only:  # the matrix, and which records were made for code that has changed since
        print(compat.status())
        return 0
    record = compat.run(version, only or None)
    base = next((r for r in compat.load_records() if r["torch"] == compat.pinned_torch()), None)
    print(compat.summary(record, base))
    print(f"wrote compat/{version}.json")
    return 0


COMMANDS = {name.removeprefix("cmd_").replace("_", "-"): fn for name, fn in globals().items() if name.startswith("cmd_")}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 0 if not argv else 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except UsageError as e:
        print(f"{argv[0]}: {e}", file=sys.stderr)
        return 2
    except BuildError as e:
        print(f"\nerror: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{argv[0]}: interrupted (a build leaves the previous site/ as it was)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
