"""The torch-version matrix: run every topic and `tests/facts/` on another torch, keep the result as data.

Why: readers run these notebooks in Colab and on their own machines, on torch versions other than the one
the build pins. `python -m tools compat 2.15.0` (`make compat TORCH=2.15.0`)

- builds (or reuses) a side environment `build/compat/venv-<version>` with that torch and what the
  notebooks need (pins from requirements.txt where they are compatible). The pinned version itself is not
  installed again: its record comes from `.venv`, the environment the build uses, and is the baseline.
  Never touches `.venv`;
- executes every topic's source notebook (zh; the other languages have identical code, `tools.check`
  enforces it) with a kernel started from the side environment's python, in an empty temporary folder,
  stopping at a topic's first failing cell;
- runs `tests/facts/` with the side environment's pytest;
- writes `compat/<version>.json` (committed): per topic the code key it ran (`notebooks.code_key`), passed
  or failed, the first failing cell and its error; per fact test the outcome and message. Keys sorted,
  indent 1, no paths of this machine, so a re-run on unchanged code differs only where torch does.

The pages show the records whose code key equals the page's current code (`page_texts`): a record made for
older code says nothing about the code on the page.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from tools.notebooks import BuildError, Notebook, code_key, topics
from tools.paths import BUILD, NOTEBOOKS, ROOT, SOURCE_LANG

COMPAT = ROOT / "compat"
SIDE = BUILD / "compat"
SCHEMA = 1
CELL_TIMEOUT_S = 600
#: What the notebooks and tests/facts import besides torch (pyyaml: tests/facts/test_terms.py reads the
#: glossary), and what runs them in the side environment.
PACKAGES = ["numpy", "matplotlib", "graphviz", "ipykernel", "nbclient", "nbformat", "pytest", "pyyaml"]
STATUSES = ("passed", "failed")
OUTCOMES = ("passed", "failed", "skipped")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_VERSION = re.compile(r"\d+\.\d+\.\d+")

#: Run in the side environment: what it really holds (not what was asked for).
_PROBE = """
import json, platform, importlib.metadata as md, torch
print(json.dumps({
    "torch": torch.__version__.split("+")[0],
    "torch_build": torch.__version__,
    "cuda_build": torch.version.cuda,
    "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU",
    "python": platform.python_version(),
    "packages": {p: md.version(p) for p in %r},
}))
""" % (PACKAGES,)  # noqa: UP031 - %: the probe's own braces stay as written


# ---------------------------------------------------------------------------------------------- environment

def locked_pins() -> list[str]:
    """Every `name==version` requirements.txt locks, without its hashes and comments (pip-compile writes
    each pin over several lines: `name==version \\`, then one `--hash=…` line per file, then `# via …`)."""
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8").replace("\\\n", " ")
    return [ln.split()[0] for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith(("#", "-"))]


def pinned_torch() -> str:
    """The torch version requirements.txt pins (the build's, and the baseline's), without its local label."""
    for pin in locked_pins():
        if pin.lower().startswith("torch=="):
            return pin.split("==", 1)[1].split("+")[0]
    raise BuildError("requirements.txt: no torch== pin")


def venv_dir(version: str) -> Path:
    return SIDE / f"venv-{version}"


def _constraints() -> Path:
    """requirements.txt without torch: the side environment gets the build's versions of everything else."""
    SIDE.mkdir(parents=True, exist_ok=True)
    path = SIDE / "constraints.txt"
    keep = [pin for pin in locked_pins() if not pin.lower().startswith("torch==")]
    path.write_text("\n".join(keep) + "\n", encoding="utf-8")
    return path


def _pip(python: Path, args: list[str], constraint: Path) -> subprocess.CompletedProcess:
    # PIP_CONSTRAINT replaces this machine's global cap (which would refuse a newer torch than it keeps).
    env = {**os.environ, "PIP_CONSTRAINT": str(constraint)}
    return subprocess.run([str(python), "-m", "pip", "install", "-q", "--only-binary=:all:", *args],
                          env=env, capture_output=True, text=True)


def ensure_env(version: str) -> Path:
    """The python of an environment holding torch `version`: `.venv` for the pinned one, else a side venv.

    The side venv is made once and reused (its marker file names what was installed). Other packages are
    pinned to requirements.txt; if that cannot be resolved with this torch, they float (said in the output).
    PyPI's Linux wheels of torch are CUDA builds that need the CUDA libraries to import (the CPU-only wheels
    live on PyTorch's own index, which this project's machines cannot reach), so those come too (~4 GB per
    version); without a GPU the notebooks still run on the CPU, as they do in the build.
    """
    if not _VERSION.fullmatch(version):
        raise BuildError(f"compat: {version!r} is not a torch version like 2.15.0")
    if version == pinned_torch():
        return ROOT / ".venv" / "bin" / "python"
    venv = venv_dir(version)
    python, marker = venv / "bin" / "python", venv / ".installed"
    if marker.exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    base = Path(getattr(sys, "_base_executable", sys.executable))
    subprocess.run([str(base), "-m", "venv", str(venv)], check=True)
    print(f"compat: installing torch=={version} into {venv.relative_to(ROOT)} (several GB) …", flush=True)
    proc = _pip(python, [f"torch=={version}", *PACKAGES], _constraints())
    pins = "requirements.txt"
    if proc.returncode != 0:
        print("compat: requirements.txt's pins do not resolve with this torch; retrying unpinned", flush=True)
        empty = SIDE / "no-constraints.txt"
        empty.write_text("", encoding="utf-8")
        proc = _pip(python, [f"torch=={version}", *PACKAGES], empty)
        pins = "unpinned"
    if proc.returncode != 0:
        raise BuildError(f"compat: pip could not install torch=={version}:\n{proc.stderr[-3000:]}")
    marker.write_text(pins + "\n", encoding="utf-8")
    return python


def probe(python: Path) -> dict:
    """torch, python and package versions as the environment reports them."""
    proc = subprocess.run([str(python), "-c", _PROBE], capture_output=True, text=True, cwd=tempfile.gettempdir(),
                          env=_clean_env())
    if proc.returncode != 0:
        raise BuildError(f"compat: {python} cannot import torch:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _clean_env() -> dict[str, str]:
    """This environment minus anything that would let a notebook import from the repository."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTORCH_DOCS_ROOT", "VIRTUAL_ENV")}
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


# ------------------------------------------------------------------------------------------------ scrubbing

def scrub(text: str, python: Path | None = None) -> str:
    """An error message as a record keeps it: no ANSI colours, no paths or addresses of this machine."""
    text = _ANSI.sub("", text)
    if python is not None:
        text = text.replace(str(python.parent.parent), "<env>")
    text = text.replace(str(ROOT), ".")
    text = text.replace(sys.base_prefix, "<python>")
    text = re.sub(r"/tmp/[\w.-]+", "<tmp>", text)
    return re.sub(r"0x[0-9a-fA-F]{6,}", "0x…", text)


def _first_lines(text: str, n: int = 3, width: int = 400) -> str:
    lines = [ln.rstrip() for ln in text.strip().splitlines() if ln.strip()]
    out = "\n".join(lines[:n])
    return out if len(out) <= width else out[: width - 1] + "…"


# ------------------------------------------------------------------------------------------------ execution

def _kernel_spec_dir(python: Path) -> Path:
    """A kernelspec whose argv is the side environment's python (the kernel runs there, not in .venv)."""
    spec = SIDE / "kernels" / python.parent.parent.name
    (spec / "compat").mkdir(parents=True, exist_ok=True)
    (spec / "compat" / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"compat ({python.parent.parent.name})", "language": "python",
    }), encoding="utf-8")
    return spec


def _sandboxed_manager(python: Path):
    """A kernel manager whose kernel runs in the build's sandbox (tools.sandbox: bubblewrap, allowlisted
    environment, limits), with the side environment mounted read-only beside the one the sandbox mounts.

    Why: notebooks are contributors' code (README, "Security model"), and a compat run executes them just as
    a build does. The sandbox binds only this process's own venv; the side venv is added the way the sandbox
    binds the kernel's connection file (`readonly_files`), so tools/sandbox.py needs no change.
    Returns (manager class, sandbox) or (plain manager class, None) when tools.sandbox is absent.
    """
    from jupyter_client.manager import AsyncKernelManager

    try:
        from tools.sandbox import sandbox
    except ImportError:
        return AsyncKernelManager, None
    box = sandbox()  # a BuildError saying how to fix it when bubblewrap cannot run (SANDBOX=off: limits only)
    venv = python.parent.parent

    class CompatKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            cmd = super().format_kernel_cmd(extra_arguments)
            conn = Path(self.connection_file)
            extra = () if venv == Path(sys.prefix) else (venv,)
            return box.wrap(cmd, writable=conn.parent, readonly_files=(conn, *extra))

    return CompatKernelManager, box


def execute_topic(python: Path, nbf: Notebook) -> dict:
    """Execute one notebook in a kernel from `python`, in an empty folder, in the build's sandbox; stop at
    the first failing cell. Returns the topic's entry of the record."""
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbf.read()
    entry: dict = {"notebook": nbf.rel, "code_key": code_key(nb), "status": "passed"}
    manager, box = _sandboxed_manager(python)
    km = manager(kernel_name="compat", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(_kernel_spec_dir(python))]))
    km.transport = "ipc"  # local sockets, as tools.execute does: no TCP ports
    sockets = Path(tempfile.mkdtemp(prefix="compat-ipc-"))  # the only host folder the kernel may write
    km.ip, km.connection_file = str(sockets / "kernel"), str(sockets / "kernel.json")
    if box is not None and box.enabled:  # the kernel's folder and home are inside the sandbox's own /tmp
        workdir, env = sockets, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    else:
        workdir, env = Path(tempfile.mkdtemp(prefix="compat-run-")), _clean_env()
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S, startup_timeout=120, allow_errors=False,
                            resources={"metadata": {"path": str(workdir)}})
    index, code_no = -1, 0
    try:
        with client.setup_kernel(env=env, cwd=str(workdir)):
            for index, cell in enumerate(nb.cells):
                code_no += cell.cell_type == "code"
                client.execute_cell(cell, index)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        if isinstance(e, CellExecutionError):
            error = f"{e.ename}: {e.evalue}"
        elif isinstance(e, CellTimeoutError):
            error = f"timed out after {CELL_TIMEOUT_S} s"
        else:
            error = f"the kernel died: {e}"
        cell = nb.cells[index] if index >= 0 else None
        entry.update(status="failed", cell=index + 1, code_cell=code_no, cell_id=cell.get("id") if cell else None,
                     error=_first_lines(scrub(error, python)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(sockets, ignore_errors=True)
    return entry


def kernel_note() -> str:
    """How the record's kernels ran, for the record itself."""
    try:
        from tools.sandbox import sandbox
    except ImportError:
        return "nbclient + ipykernel from the environment's python, empty temporary folder (no sandbox)"
    box = sandbox()
    how = f"in bubblewrap {box.version} (tools/sandbox.py)" if box.enabled else "SANDBOX=off: limits only, no bubblewrap"
    return f"nbclient + ipykernel from the environment's python, {how}"


def _fact_id(case: ET.Element) -> str:
    """`test_init.py::test_gains` from junit's classname `tests.facts.test_init` and name `test_gains`."""
    parts = [p for p in case.get("classname", "").split(".") if p]
    if parts[:2] == ["tests", "facts"]:
        parts = parts[2:]
    if not parts:  # a collection error: the name is the module's dotted path
        return case.get("name", "?").replace("tests.facts.", "") + ".py"
    return "::".join([parts[0] + ".py", *parts[1:], case.get("name", "?")])


def parse_junit(xml_text: str, python: Path | None = None) -> dict[str, dict]:
    """Per test: outcome (passed, failed, skipped; an error counts as failed) and the first lines of why."""
    facts: dict[str, dict] = {}
    for case in ET.fromstring(xml_text).iter("testcase"):
        outcome, message = "passed", ""
        for tag, name in (("failure", "failed"), ("error", "failed"), ("skipped", "skipped")):
            el = case.find(tag)
            if el is not None:
                outcome = name
                message = el.get("message") or (el.text or "")
                break
        facts[_fact_id(case)] = {"outcome": outcome, "message": _first_lines(scrub(message, python))}
    return facts


def run_facts(python: Path) -> dict[str, dict]:
    """tests/facts/ with the environment's pytest (no cache written into the tree)."""
    with tempfile.TemporaryDirectory(prefix="compat-junit-") as tmp:
        xml = Path(tmp) / "facts.xml"
        subprocess.run([str(python), "-m", "pytest", "tests/facts", "-p", "no:cacheprovider", "-q", "-o", "addopts=",
                        f"--junitxml={xml}"], cwd=ROOT, env=_clean_env(), capture_output=True, text=True)
        if not xml.exists():
            raise BuildError(f"compat: pytest wrote no report for tests/facts with {python}")
        return parse_junit(xml.read_text(encoding="utf-8"), python)


def run(version: str, only: list[str] | None = None) -> dict:
    """Make the record for torch `version` and write compat/<version>.json. With `only`, just those topics
    run and replace their entries in the existing record (the other topics keep theirs)."""
    unknown = sorted(set(only or []) - set(topics()))
    if unknown:
        raise BuildError(f"compat: no such topic {', '.join(unknown)} (topics: {', '.join(topics())})")
    python = ensure_env(version)
    env = probe(python)
    if env["torch"] != version:
        raise BuildError(f"compat: asked for torch {version}, the environment has {env['torch_build']}")
    record = {
        "schema": SCHEMA,
        "torch": env["torch"],
        "torch_build": env["torch_build"],
        "cuda_build": env["cuda_build"],
        "device": env["device"],
        "python": env["python"],
        "packages": env["packages"],
        "date": dt.date.today().isoformat(),
        "kernel": kernel_note(),
        "topics": {},
    }
    path = COMPAT / f"{version}.json"
    if only and path.exists():
        record["topics"] = {t: e for t, e in json.loads(path.read_text(encoding="utf-8"))["topics"].items()
                            if t in topics()}
    for topic in only or topics():
        nbf = Notebook(SOURCE_LANG, topic, NOTEBOOKS / SOURCE_LANG / f"{topic}.ipynb")
        print(f"compat {version}: {nbf.name} … ", end="", flush=True)
        entry = execute_topic(python, nbf)
        record["topics"][topic] = entry
        print(entry["status"] + (f" at cell {entry['cell']}: {entry['error'].splitlines()[0]}" if entry["status"] == "failed" else ""),
              flush=True)
    print(f"compat {version}: tests/facts …", flush=True)
    record["facts"] = run_facts(python)
    problems = validate(record)
    if problems:
        raise BuildError("compat: the record is malformed:\n" + "\n".join(problems))
    write_record(record, path)
    return record


# -------------------------------------------------------------------------------------------------- records

def write_record(record: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def load_records(folder: Path | None = None) -> list[dict]:
    """Every committed record, oldest torch first; a malformed one is a BuildError naming its file."""
    folder = folder or COMPAT
    records = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise BuildError(f"{path.name}: not valid JSON: {e}") from e
        problems = validate(record)
        if problems:
            raise BuildError(f"{path.name}: " + "; ".join(problems))
        records.append(record)
    return sorted(records, key=lambda r: version_tuple(r["torch"]))


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def validate(record: dict) -> list[str]:
    """Schema problems of a record (empty: valid). Kept by hand, not jsonschema: the record is small."""
    p: list[str] = []
    for key, kind in (("schema", int), ("torch", str), ("python", str), ("date", str), ("topics", dict), ("facts", dict)):
        if not isinstance(record.get(key), kind):
            p.append(f"{key}: missing or not a {kind.__name__}")
    if p:
        return p
    if not _VERSION.fullmatch(record["torch"]):
        p.append(f"torch: {record['torch']!r} is not a version")
    for topic, e in record["topics"].items():
        if e.get("status") not in STATUSES or not re.fullmatch(r"[0-9a-f]{16}", str(e.get("code_key"))):
            p.append(f"topics.{topic}: needs status passed|failed and a 16-hex code_key")
        if e.get("status") == "failed" and not (isinstance(e.get("cell"), int) and e.get("error")):
            p.append(f"topics.{topic}: a failure needs its cell number and error")
    for test, f in record["facts"].items():
        if f.get("outcome") not in OUTCOMES:
            p.append(f"facts.{test}: outcome must be one of {OUTCOMES}")
    text = json.dumps(record)
    if str(ROOT) in text or "/tmp/" in text:
        p.append("holds a path of this machine")
    return p


def fact_changes(base: dict, other: dict) -> list[tuple[str, str, str, str]]:
    """(test, outcome on base, outcome on other, other's message) for each fact whose outcome differs."""
    names = sorted(set(base["facts"]) | set(other["facts"]))
    out = []
    for n in names:
        a = base["facts"].get(n, {}).get("outcome", "absent")
        b = other["facts"].get(n, {}).get("outcome", "absent")
        if a != b:
            out.append((n, a, b, other["facts"].get(n, {}).get("message", "")))
    return out


def short_version(version: str, records: list[dict]) -> str:
    """2.15 for 2.15.0, unless two records share 2.15 (then the full version tells them apart)."""
    minor = ".".join(version.split(".")[:2])
    same = [r for r in records if ".".join(r["torch"].split(".")[:2]) == minor]
    return minor if len(same) <= 1 else version


# ---------------------------------------------------------------------------------------------------- pages

def page_line(topic: str, code_key: str, lang: str, records: list[dict] | None = None) -> dict | None:
    """What a page says about torch versions, as plain data; None when no record is for its current code.

    {"ok": ["2.9", "2.13", "2.15"], "failed": [{"torch": "2.9", "cell": 7, "cell_id": …, "error": …}]}.
    Only records whose code key for the topic equals `code_key` count. The cell number is the page's own:
    the record counts cells in the source notebook, and a translation with other cells around the code is
    mapped through the code cell's position (`lang`'s notebook, when it exists).
    """
    records = load_records() if records is None else records
    ok, failed = [], []
    for r in records:
        e = r["topics"].get(topic)
        if not e or e["code_key"] != code_key:
            continue
        v = short_version(r["torch"], records)
        if e["status"] == "passed":
            ok.append(v)
        else:
            cell, cell_id = _cell_in(lang, topic, e)
            failed.append({"torch": v, "cell": cell, "cell_id": cell_id, "error": e["error"]})
    return {"ok": ok, "failed": failed} if ok or failed else None


def _cell_in(lang: str, topic: str, entry: dict) -> tuple[int, str | None]:
    path = NOTEBOOKS / lang / f"{topic}.ipynb"
    if lang == SOURCE_LANG or not entry.get("code_cell") or not path.exists():
        return entry["cell"], entry.get("cell_id")
    nb = Notebook(lang, topic, path).read()
    code = [(i + 1, c.get("id")) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    return code[entry["code_cell"] - 1] if entry["code_cell"] <= len(code) else (entry["cell"], entry.get("cell_id"))


def page_texts(topic: str, code_key: str, lang: str, strings: dict, records: list[dict] | None = None) -> list[str]:
    """The page's lines in its language (plain text; the hook escapes them): one "runs on" line, one line
    per version the code fails on. Words from mkdocs.<lang>.yml `extra.strings` (compat_ok, compat_fail)."""
    line = page_line(topic, code_key, lang, records)
    if line is None:
        return []
    out = []
    if line["ok"]:
        out.append(strings.get("compat_ok", "runs on torch {versions}").format(versions=" · ".join(line["ok"])))
    for f in line["failed"]:
        error = f["error"].splitlines()[0]
        out.append(strings.get("compat_fail", "fails on torch {torch}: cell {cell}: {error}").format(**{**f, "error": error}))
    return out


def summary(record: dict, base: dict | None) -> str:
    """A few lines for the terminal: topics failed, fact outcomes, facts that differ from the baseline."""
    t = record["topics"]
    failed = [f"  {k}: cell {e['cell']}: {e['error'].splitlines()[0]}" for k, e in sorted(t.items()) if e["status"] == "failed"]
    counts = {o: sum(f["outcome"] == o for f in record["facts"].values()) for o in OUTCOMES}
    lines = [(f"torch {record['torch']} ({record['torch_build']}): {len(t) - len(failed)}/{len(t)} topics pass; "
              f"facts: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"), *failed]
    if base is not None and base is not record:
        changes = fact_changes(base, record)
        lines.append(f"facts that differ from torch {base['torch']}: {len(changes) or 'none'}")
        lines += [f"  {n}: {a} -> {b}" + (f": {m.splitlines()[0]}" if m else "") for n, a, b, m in changes]
    return "\n".join(lines)


def table(records: list[dict]) -> str:
    """The matrix as a Markdown table (README, reports): topic × torch version, then the fact tests."""
    if not records:
        return "(no records in compat/)"
    head = "| topic | " + " | ".join(f"torch {r['torch']}" for r in records) + " |"
    rows = [head, "| --- |" + " --- |" * len(records)]
    for topic in sorted({t for r in records for t in r["topics"]}):
        cells = []
        for r in records:
            e = r["topics"].get(topic)
            cells.append("—" if e is None else "passed" if e["status"] == "passed"
                         else f"fails at cell {e['cell']}: `{e['error'].splitlines()[0].split(':')[0]}`")
        rows.append(f"| {topic} | " + " | ".join(cells) + " |")
    counts = [f"{sum(f['outcome'] == 'passed' for f in r['facts'].values())} passed, "
              f"{sum(f['outcome'] == 'failed' for f in r['facts'].values())} failed" for r in records]
    rows.append("| tests/facts | " + " | ".join(counts) + " |")
    return "\n".join(rows)


def stale_topics(record: dict) -> list[str]:
    """Topics whose record was made for other code than the source notebook holds now (or not made)."""
    current = {t: code_key(Notebook(SOURCE_LANG, t, NOTEBOOKS / SOURCE_LANG / f"{t}.ipynb").read()) for t in topics()}
    return [t for t, key in current.items() if record["topics"].get(t, {}).get("code_key") != key]


def status() -> str:
    """The matrix, and per record the topics to re-run (`python -m tools compat VERSION TOPIC …`)."""
    records = load_records()
    lines = [table(records), ""]
    for r in records:
        stale = stale_topics(r)
        lines.append(f"torch {r['torch']} ({r['date']}): " + (f"stale for {', '.join(stale)} (their code changed; "
                     f"pages show nothing for them): python -m tools compat {r['torch']} {' '.join(stale)}"
                     if stale else "matches the current notebooks"))
    return "\n".join(lines)
