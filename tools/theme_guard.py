"""The upgrade guard: which Material templates our overrides replace, and whether Material changed them.

`overrides/` replaces parts of Material for MkDocs (its partials, and blocks of its base template: the
script start-up and the search-index hold live in `overrides/main.html`). Material is in maintenance mode,
but a release, or a change of the pins, can still change the files we copied from; nothing would then fail,
pages would just quietly lose a fix. So a verbatim copy of each upstream file we replace is kept in
`tests/upstream/material/`, and `changed_upstream` compares them with the installed Material: a difference
fails the suite with "Material changed <file>; re-port overrides/<file>". After re-porting, refresh the copy
(`cp <site-packages>/material/templates/<file> tests/upstream/material/<file>`).
"""
from __future__ import annotations

from pathlib import Path

from tools.paths import ROOT

UPSTREAM = ROOT / "tests" / "upstream" / "material"

#: Upstream template -> our file that replaces it (whole, or some of its blocks).
REPLACED = {
    "base.html": "overrides/main.html",  # blocks extrahead and scripts
    "partials/actions.html": "overrides/partials/actions.html",
    "partials/alternate.html": "overrides/partials/alternate.html",
    "partials/language.html": "overrides/partials/language.html",
    "partials/palette.html": "overrides/partials/palette.html",
    "partials/source.html": "overrides/partials/source.html",
}


#: Our own templates: they replace nothing in Material (a page part, or a page Material has no template for).
OWN = {
    "overrides/404.html": "the bilingual not-found page (replaces Material's whole; nothing of it ported)",
    "overrides/root.html": "the site root that sends a reader to a language",
    "overrides/partials/stamp.html": "a page's execution stamp",
    "overrides/partials/notice.html": "the stale-translation notice",
}

#: Private names of the stack that `make serve` (tools/serve.py) calls to render one page warm; a release
#: that renames one makes serve fail, so the guard names them: (module, attribute, what serve does with it).
PRIVATE_APIS = [
    ("mkdocs.commands.build", "_populate_page", "reads one page's markdown again"),
    ("mkdocs.commands.build", "_build_page", "renders one page with the kept navigation"),
    ("mkdocs_jupyter.nbconvert2", "_pygments_highlight", "memoizes code highlighting (optional: slower without)"),
    ("nbconvert.exporters.templateexporter", "Environment", "caches compiled templates (optional)"),
]


def missing_private_apis() -> list[str]:
    """One message per private name tools/serve.py relies on that the installed stack no longer has."""
    import importlib

    problems = []
    for module, name, why in PRIVATE_APIS:
        try:
            found = hasattr(importlib.import_module(module), name)
        except ImportError:
            found = False
        if not found:
            problems.append(f"{module}.{name} is gone (tools/serve.py {why}); re-port tools/serve.py")
    return problems


def installed_templates() -> Path:
    import material

    return Path(material.__file__).resolve().parent / "templates"


def changed_upstream(installed: Path | None = None, copies: Path = UPSTREAM) -> list[str]:
    """One message per upstream template that differs from the copy our override was ported from."""
    installed = installed or installed_templates()
    problems = []
    for name, ours in REPLACED.items():
        copy, current = copies / name, installed / name
        if not current.is_file():
            problems.append(f"Material no longer has {name}; re-port {ours}")
        elif not copy.is_file():
            problems.append(f"tests/upstream/material/{name} is missing: copy it from Material when porting {ours}")
        elif copy.read_bytes() != current.read_bytes():
            problems.append(f"Material changed {name}; re-port {ours}")
    return problems
