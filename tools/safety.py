"""The safety lint for notebooks: what a notebook may put on a page, checked before it gets there.

Notebook prose and outputs become HTML on every reader's page, and outputs are made at build time, so no
reviewer sees them. Run on the source notebooks by `check` and on the executed ones (outputs, recordings)
by `execute`; every finding names the file, the cell and what is wrong:

- markdown cells, `text/html` and `text/markdown` outputs: through the allowlist sanitizer
  (tools/sanitize.py); anything it would remove is an error, with the line in the cell where it can say;
- SVG outputs: through the SVG allowlist; PNG/JPEG outputs must really be PNG/JPEG;
- output types other than those the site publishes are refused by name (`application/javascript`,
  widget views, …), and so is notebook `widgets` metadata (widget state loads scripts from outside);
- alt text is plain text; attachments are PNG or JPEG images;
- sizes: a cell, an output and a whole notebook have limits, so one contribution cannot make every build
  or page huge (`LIMITS`). Every step here is linear in the size of its input.
"""
from __future__ import annotations

import base64
import binascii

from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbformat import NotebookNode

from tools.math_render import render_math
from tools.sanitize import check_svg_bytes, clean_html, line_of, plain_text_problem

#: Output types the site publishes; nbconvert renders text/plain and streams escaped.
OUTPUT_TYPES = ("text/plain", "text/html", "text/markdown", "image/png", "image/jpeg", "image/svg+xml")
_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
#: Output metadata nbconvert turns into <img> attributes; only numbers may go there.
_IMAGE_META = {"width", "height", "unconfined", "needs_background"}

#: Size limits (bytes). Today's largest: a 2.3 KB source cell, a 34 KB source notebook, a 95 KB output,
#: a 0.2 MB executed notebook; the limits leave an order of magnitude or more of room.
LIMITS = {
    "source notebook": 1 << 20,   # notebooks/<lang>/<topic>.ipynb as committed (no outputs)
    "cell": 64 << 10,             # the text of one markdown or code cell
    "output": 4 << 20,            # one output of one code cell
    "executed notebook": 16 << 20,  # all outputs of one executed notebook together
}


def _kib(n: int) -> str:
    return f"{n / 1024:,.0f} KiB" if n < (1 << 20) else f"{round(n / (1 << 20), 1):g} MiB"


def where(at: str, *details: str | None) -> str:
    """"notebooks/zh/x.ipynb: cell 3 (output 1, text/html)": a place, with what is known about it."""
    known = [d for d in details if d]
    return f"{at} ({', '.join(known)})" if known else at


def html_problems(at: str, label: str | None, html: str, source: str) -> list[str]:
    """Findings for one HTML fragment made from `source` (the text the contributor wrote)."""
    _, removed = clean_html(html)
    out = []
    for r in removed:
        line = line_of(source, r)
        out.append(f"{where(at, label, f'line {line}' if line else None)}: {r} is not allowed "
                   "(see \"HTML in content\" in CONTRIBUTING.md)")
    return out


def markdown_problems(at: str, label: str | None, markdown: str) -> list[str]:
    """A markdown text as the page will carry it -- nbconvert's markdown (mistune, raw HTML passed through),
    then `$…$` as MathML (tools/math_render.py) -- through the sanitizer."""
    return html_problems(at, label, render_math(markdown2html_mistune(markdown)), markdown)


def _text(data) -> str:
    return "".join(data) if isinstance(data, list) else str(data)


def _output_problems(at: str, n: int, out: NotebookNode) -> list[str]:
    kind, label = out.get("output_type"), f"output {n}"
    if kind == "stream":
        return []
    if kind not in ("display_data", "execute_result"):
        return [f"{where(at, label)}: an output of type {kind!r} (only streams, displays and results are published)"]
    problems = []
    for mime, data in out.get("data", {}).items():
        text = _text(data)
        if mime not in OUTPUT_TYPES:
            problems.append(f"{where(at, label)}: output type {mime} is not published by this site (allowed: {', '.join(OUTPUT_TYPES)})")
        elif mime == "text/html":
            problems += html_problems(at, f"{label}, {mime}", text, text)
        elif mime == "text/markdown":
            problems += markdown_problems(at, f"{label}, {mime}", text)
        elif mime == "image/svg+xml":
            problems += [f"{where(at, label, mime)}: {p} is not allowed in a figure" for p in check_svg_bytes(text)]
        elif mime in _MAGIC:
            try:
                raw = base64.b64decode(text, validate=False)
            except (binascii.Error, ValueError):
                raw = b""
            if not raw.startswith(_MAGIC[mime]):
                problems.append(f"{where(at, label, mime)}: the data is not a {mime.split('/')[1].upper()} image")
    for mime, meta in out.get("metadata", {}).items():
        if not isinstance(meta, dict) or mime not in OUTPUT_TYPES:
            continue
        bad = {k: v for k, v in meta.items() if k not in _IMAGE_META or not isinstance(v, (int, float, bool))}
        if bad:
            problems.append(f"{where(at, label, 'metadata of ' + mime)}: {sorted(bad)} is not allowed (only numeric width and height are used)")
    return problems


def lint_notebook(nb: NotebookNode, display_path: str) -> list[str]:
    """Every finding in one notebook (source or executed), each naming the file and the 1-based cell."""
    problems = []
    if "widgets" in nb.get("metadata", {}):
        problems.append(f"{display_path}: notebook metadata \"widgets\" is not allowed (widget state loads "
                        "scripts from outside the site); clear it (Jupyter: Widgets → Clear Widget State)")
    total = 0
    for i, cell in enumerate(nb.cells, start=1):
        at = f"{display_path}: cell {i}"
        if len(cell.source.encode()) > LIMITS["cell"]:
            problems.append(f"{at} is {_kib(len(cell.source.encode()))}, over the {_kib(LIMITS['cell'])} limit for one cell")
            continue
        if cell.cell_type == "markdown":
            problems += markdown_problems(at, "markdown", cell.source)
            for name, bundle in cell.get("attachments", {}).items():
                if set(bundle) - {"image/png", "image/jpeg"}:
                    problems.append(f"{at} (attachment {name!r}): only PNG and JPEG attachments are allowed, not {sorted(bundle)}")
        alt = cell.get("metadata", {}).get("alt")
        if alt is not None and (why := plain_text_problem(str(alt))):
            problems.append(f"{at} (metadata \"alt\"): {why}")
        for n, out in enumerate(cell.get("outputs", []), start=1):
            size = len(str(out))
            total += size
            if size > LIMITS["output"]:
                problems.append(f"{at} (output {n}) is {_kib(size)}, over the {_kib(LIMITS['output'])} limit for one output")
                continue
            problems += _output_problems(at, n, out)
    if total > LIMITS["executed notebook"]:
        problems.append(f"{display_path}: its outputs are {_kib(total)} together, over the {_kib(LIMITS['executed notebook'])} limit")
    return problems
