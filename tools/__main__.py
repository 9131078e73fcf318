"""The project's one entry point: `python -m tools <command>` (the Makefile calls these).

`python -m tools --help` lists the commands, `python -m tools <command> --help` says what one takes. Every
command is an argparse subcommand: an option or argument a command does not take is an error (exit status 2)
that names it, never ignored, so a mistyped `--forse` cannot run `remove-language` without the protection the
user asked for, and `execute --shard 1/2 extra` cannot execute more than one share.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import NoReturn

from tools.notebooks import BuildError

PROG = "python -m tools"


class UsageError(Exception):
    """A command line the command does not understand: an unknown option, a missing or extra argument."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors raised as UsageError (so `main` prints them its way and returns 2) and worded
    for this project: "unknown option --forse (it knows --force)", "--shard takes one value, K/N"."""

    def error(self, message: str) -> NoReturn:
        known = sorted(s for a in self._actions for s in a.option_strings if s not in ("-h", "--help"))
        if message.startswith("unrecognized arguments: "):
            extra = message.removeprefix("unrecognized arguments: ").split()
            options = [a for a in extra if a.startswith("-")]
            if options:
                also = f" (it knows {', '.join(known)})" if known else " (it takes none)"
                message = f"unknown option {', '.join(options)}{also}"
            else:
                message = f"unexpected argument {' '.join(extra)}"
        elif message.endswith("expected one argument") and message.startswith("argument "):
            action = next((a for a in self._actions if message.startswith(f"argument {'/'.join(a.option_strings)}:")), None)
            if action is not None:
                message = f"{action.option_strings[-1]} takes one value, {action.metavar}"
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage().rstrip()}")


def _jobs(value: str | None) -> int:
    """The number of notebooks to execute at once: --jobs, else JOBS, else the CPUs (checked by resolve_jobs)."""
    from tools.execute import resolve_jobs

    try:
        return resolve_jobs(value)
    except BuildError as e:
        raise UsageError(str(e)) from None


def _add_jobs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", metavar="N", help="notebooks executed at once (default: $JOBS, else the number of CPUs; 1: one after another)")


# commands --------------------------------------------------------------------------------------------

def run_checks() -> int:
    """The source checks; prints the problems and returns the exit status (used by `check` and `build`)."""
    from tools.checks import run_all
    from tools.language_table import stale_generated

    problems = run_all() + stale_generated()
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("check: all notebooks pass (parity, no outputs, snippets, safety)")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """source checks: zh↔en structure and code parity, no committed outputs, snippet copies, safety"""
    return run_checks()


def _setup_execute(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ignore-recorded", action="store_true", help="execute here even where recorded/ holds a GPU run of the same code")
    p.add_argument("--shard", metavar="K/N", help="only share K of N of the distinct code (a CI matrix job; tools/shards.py)")
    _add_jobs(p)


def cmd_execute(args: argparse.Namespace) -> int:
    """execute the notebooks once per distinct code (cached) into build/executed/"""
    from tools.build_lock import build_lock
    from tools.execute import EXECUTED, execute_all
    from tools.site import prune_executed

    jobs = _jobs(args.jobs)
    notebooks = None
    if args.shard is not None:  # a CI matrix job: only this share of the distinct code (tools/shards.py)
        from tools.notebooks import all_notebooks
        from tools.shards import parse_shard, share

        (k, n), everything = parse_shard(args.shard), all_notebooks()
        notebooks = share(everything, k, n)
        print(f"shard {k}/{n}: {len(notebooks)} of {len(everything)} notebooks")
    with build_lock("execute"):
        print(execute_all(notebooks, use_recorded=not args.ignore_recorded, jobs=jobs).summary())
        prune_executed(EXECUTED)
    return 0


def _setup_merge_cache(p: argparse.ArgumentParser) -> None:
    p.add_argument("dirs", nargs="+", metavar="DIR", help="another execution cache (a CI shard's build/jupyter-cache)")


def cmd_merge_cache(args: argparse.Namespace) -> int:
    """file the executions held by other execution caches (the CI shards') into build/jupyter-cache/"""
    from pathlib import Path

    from tools.build_lock import build_lock
    from tools.execute import CACHE_DIR
    from tools.shards import merge_caches

    with build_lock("merge-cache"):
        filed, present = merge_caches([Path(d) for d in args.dirs], CACHE_DIR)
    print(f"merge-cache: {filed} executions filed, {present} already in the cache")
    return 0


def _setup_build(p: argparse.ArgumentParser) -> None:
    _add_jobs(p)


def cmd_build(args: argparse.Namespace) -> int:
    """check + execute + render every language into site/ (atomically; one build at a time)"""
    from tools.build_lock import build_lock
    from tools.execute import EXECUTED, execute_all
    from tools.site import build_all

    jobs = _jobs(args.jobs)
    t0 = time.perf_counter()
    with build_lock("build"):  # one build per tree at a time; a second exits at once, naming this one
        if run_checks() != 0:
            return 1
        stats = execute_all(jobs=jobs)
        print(stats.summary())
        timings = build_all(EXECUTED, jobs=jobs)
    print("rendered " + ", ".join(f"{lang} in {s:.1f} s" if s is not None else f"{lang}: unchanged" for lang, s in timings.items()))
    print(f"build finished in {time.perf_counter() - t0:.1f} s: site/")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """serve both languages on http://127.0.0.1:8000, rebuilt on save, the open page reloaded (tools/serve.py)"""
    from tools import serve

    return serve.main(args.serve_args)


def _setup_serve(p: argparse.ArgumentParser) -> None:
    # main() hands `serve …` to tools/serve.py before parsing, so its own parser answers --help and options
    p.add_argument("serve_args", nargs=argparse.REMAINDER, metavar="...", help="tools/serve.py's options (--port, --jobs, --poll)")


def _setup_sync_snippets(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="rewrite copies with local edits too (each is saved under build/removed/ first)")


def cmd_sync_snippets(args: argparse.Namespace) -> int:
    """rewrite every stale notebook copy of a snippet from snippets/ (refuses a copy with local edits)"""
    from tools.snippets import sync

    fixed, notes = sync(force=args.force)
    for d in fixed:
        print(f"rewrote {d.notebook.rel} cell {d.cell} from snippets/{d.file}")
    for line in notes:
        print(line)
    print(f"{len(fixed)} snippet copies rewritten")
    return 0


def cmd_translations(args: argparse.Namespace) -> int:
    """translation status per language and topic, and glossary misses"""
    from tools.glossary import lint
    from tools.translation import report

    print(report())
    misses = lint()
    if misses:
        print(f"\nglossary: {len(misses)} cell(s) miss a term:")
        for m in misses:
            print(f"  {m}")
    else:
        print("\nglossary: every translated cell uses the glossary's terms")
    return 0


def _setup_mark_translated(p: argparse.ArgumentParser) -> None:
    p.add_argument("lang", metavar="LANG", help="the translation, e.g. en")
    p.add_argument("topic", metavar="TOPIC", help="the notebook's name, e.g. autograd")
    p.add_argument("cells", nargs="*", metavar="CELL", help="cell numbers (1-based); default: every translatable cell")


def cmd_mark_translated(args: argparse.Namespace) -> int:
    """record that a translation's cells are up to date with the source"""
    from tools.translation import mark, parse_cells, translation_notebook

    nbf = translation_notebook(args.lang, args.topic)
    done = mark(nbf, parse_cells(nbf, args.cells) or None)
    print(f"{nbf.rel}: marked {len(done)} cells (markdown, figure alt text) as translated from the current source")
    return 0


def _setup_new_language(p: argparse.ArgumentParser) -> None:
    p.add_argument("lang", metavar="LANG", help="a language code, e.g. ja (make new-language LANG=ja)")


def cmd_new_language(args: argparse.Namespace) -> int:
    """scaffold a new language from the source (never overwrites a file)"""
    from tools.languages import scaffold

    for line in scaffold(args.lang):
        print(line)
    return 0


def cmd_languages(args: argparse.Namespace) -> int:
    """regenerate mkdocs.<lang>.yml and mkdocs.yml's language switcher from languages.yml"""
    from tools.languages import regenerate

    for line in regenerate():
        print(line)
    return 0


def _setup_remove_language(p: argparse.ArgumentParser) -> None:
    p.add_argument("lang", metavar="LANG", help="the language to remove (make remove-language LANG=ja [FORCE=1])")
    p.add_argument("--force", action="store_true", help="remove even uncommitted work (it is moved to build/removed/)")


def cmd_remove_language(args: argparse.Namespace) -> int:
    """undo new-language; refuses the source, the last translation and uncommitted work; moves files to build/removed/"""
    from tools.languages import remove

    for line in remove(args.lang, force=args.force):
        print(line)
    return 0


def _setup_record_gpu(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-cpu", action="store_true", help="record even when the kernel sees no GPU")


def cmd_record_gpu(args: argparse.Namespace) -> int:
    """execute every notebook here (on a GPU) and store the outputs in recorded/"""
    from tools.build_lock import build_lock
    from tools.recorded import record_all

    with build_lock("record-gpu"):
        done = record_all(require_gpu=not args.allow_cpu)
    print(f"recorded {len(done)} notebooks into recorded/")
    return 0


def _setup_compat(p: argparse.ArgumentParser) -> None:
    p.add_argument("version", metavar="VERSION", help="a torch version, e.g. 2.15.0; or `status`: the matrix and stale records")
    p.add_argument("topics", nargs="*", metavar="TOPIC", help="only these topics (default: all)")


def cmd_compat(args: argparse.Namespace) -> int:
    """run the topics and tests/facts on another torch (side venv), write compat/VERSION.json; `compat status`"""
    from tools import compat

    if args.version == "status":  # the matrix, and which records were made for code that has changed since
        if args.topics:
            raise UsageError("`compat status` takes no topics")
        print(compat.status())
        return 0
    record = compat.run(args.version, args.topics or None)
    base = next((r for r in compat.load_records() if r["torch"] == compat.pinned_torch()), None)
    print(compat.summary(record, base))
    print(f"wrote compat/{args.version}.json")
    return 0


# the parser --------------------------------------------------------------------------------------------

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Command] = {name.removeprefix("cmd_").replace("_", "-"): fn
                                for name, fn in list(globals().items()) if name.startswith("cmd_")}


def parser() -> argparse.ArgumentParser:
    """The whole command line: one subcommand per `cmd_*` function, its one-line help from the docstring.
    Each subcommand's parser is kept on the top one's `commands`, so that an unknown option is reported by
    the command it was given to, with that command's options and usage."""
    top = _Parser(prog=PROG, description=__doc__.splitlines()[0], allow_abbrev=False,
                  epilog="`python -m tools COMMAND --help` says what a command takes. The Makefile wraps them: `make help`.")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands: dict[str, argparse.ArgumentParser] = {}
    for name, fn in COMMANDS.items():
        summary = (fn.__doc__ or "").strip().splitlines()[0]
        p = sub.add_parser(name, help=summary, description=summary, allow_abbrev=False)
        setup = globals().get(f"_setup_{name.replace('-', '_')}")
        if setup is not None:
            setup(p)
        p.set_defaults(run=fn)
        commands[name] = p
    top.set_defaults(commands=commands)
    return top


def main(argv: list[str]) -> int:
    top = parser()
    if not argv:
        top.print_help()
        return 0
    try:
        if argv[0] == "serve":  # the live server parses its own options (and answers --help itself)
            from tools import serve

            return serve.main(argv[1:])
        args, extra = top.parse_known_args(argv)
        if extra:
            args.commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
        return args.run(args)
    except UsageError as e:
        print(e if str(e).startswith(PROG) else f"{PROG} {argv[0]}: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help (0); argparse's own exits carry their status
        return e.code if isinstance(e.code, int) else 0
    except BuildError as e:
        print(f"\nerror: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\n{argv[0]}: interrupted (a build leaves the previous site/ as it was)", file=sys.stderr)
        return 130


def entry() -> NoReturn:
    """The `pytorch-docs` console script (pyproject.toml): the same as `python -m tools`."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    entry()
