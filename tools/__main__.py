"""The project's one entry point: `python -m tools <command>` (the Makefile calls these).

  check            source checks: zh↔en structure and code parity, no committed outputs, snippet copies, safety
  execute          execute the notebooks once per distinct code (cached) into build/executed/
  build            check + execute + render every language into site/
  serve            serve site/ on http://127.0.0.1:8000
  sync-snippets    rewrite every notebook copy of a snippet from snippets/
  translations     translation status per language and topic, and glossary misses
  mark-translated  LANG TOPIC [CELL …]: record that a translation's cells are up to date with the source
  new-language     LANG: scaffold a new language from the source; remove-language LANG undoes it
  record-gpu       execute every notebook here (on a GPU) and store the outputs in recorded/
"""
from __future__ import annotations

import sys
import time

from tools.notebooks import BuildError


def cmd_check(args: list[str]) -> int:
    from tools.checks import run_all

    problems = run_all()
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("check: all notebooks pass (parity, no outputs, snippets, safety)")
    return 0


def cmd_execute(args: list[str]) -> int:
    from tools.execute import execute_all

    print(execute_all(use_recorded="--ignore-recorded" not in args).summary())
    return 0


def cmd_build(args: list[str]) -> int:
    from tools.execute import EXECUTED, execute_all
    from tools.site import build_all

    t0 = time.perf_counter()
    if cmd_check([]) != 0:
        return 1
    stats = execute_all()
    print(stats.summary())
    timings = build_all(EXECUTED)
    print("rendered " + ", ".join(f"{lang} in {s:.1f} s" if s is not None else f"{lang}: unchanged" for lang, s in timings.items()))
    print(f"build finished in {time.perf_counter() - t0:.1f} s: site/")
    return 0


def cmd_serve(args: list[str]) -> int:
    import functools
    import http.server

    from tools.paths import SITE

    port = int(args[0]) if args else 8000
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

    fixed = sync()
    for d in fixed:
        print(f"rewrote {d.notebook.rel} cell {d.cell} from snippets/{d.file}")
    print(f"{len(fixed)} snippet copies rewritten")
    return 0


def cmd_translations(args: list[str]) -> int:
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


def cmd_mark_translated(args: list[str]) -> int:
    from tools.notebooks import Notebook
    from tools.paths import NOTEBOOKS
    from tools.translation import mark

    if len(args) < 2:
        print("usage: python -m tools mark-translated LANG TOPIC [CELL …]", file=sys.stderr)
        return 2
    lang, topic, cells = args[0], args[1], [int(c) for c in args[2:]] or None
    nbf = Notebook(lang, topic, NOTEBOOKS / lang / f"{topic}.ipynb")
    if not nbf.path.exists():
        raise BuildError(f"{nbf.rel}: no such notebook")
    done = mark(nbf, cells)
    print(f"{nbf.rel}: marked {len(done)} cells (markdown, figure alt text) as translated from the current source")
    return 0


def cmd_new_language(args: list[str]) -> int:
    from tools.languages import scaffold

    if len(args) != 1:
        print("usage: python -m tools new-language LANG", file=sys.stderr)
        return 2
    for line in scaffold(args[0]):
        print(line)
    return 0


def cmd_remove_language(args: list[str]) -> int:
    from tools.languages import remove

    if len(args) != 1:
        print("usage: python -m tools remove-language LANG", file=sys.stderr)
        return 2
    for line in remove(args[0]):
        print(line)
    return 0


def cmd_record_gpu(args: list[str]) -> int:
    from tools.recorded import record_all

    done = record_all(require_gpu="--allow-cpu" not in args)
    print(f"recorded {len(done)} notebooks into recorded/")
    return 0


COMMANDS = {name.removeprefix("cmd_").replace("_", "-"): fn for name, fn in globals().items() if name.startswith("cmd_")}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 0 if not argv else 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except BuildError as e:
        print(f"\nerror: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
