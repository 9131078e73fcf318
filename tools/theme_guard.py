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
