"""The upgrade guard (tools/theme_guard.py): our overrides were ported from the installed Material's files."""
from __future__ import annotations

import shutil

from tools import theme_guard


def test_overrides_match_the_installed_material():
    problems = theme_guard.changed_upstream()
    assert not problems, "\n".join(problems)


def test_every_override_is_guarded():
    from conftest import ROOT

    ours = {p.relative_to(ROOT).as_posix() for p in (ROOT / "overrides").rglob("*.html")}
    assert ours - set(theme_guard.REPLACED.values()) <= {"overrides/404.html"}, "an override without an upstream copy"


def test_a_changed_template_is_named(tmp_path):
    installed = tmp_path / "templates"  # the replaced files of the installed Material, one then changed
    for name in theme_guard.REPLACED:
        (installed / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(theme_guard.installed_templates() / name, installed / name)
    palette = installed / "partials" / "palette.html"
    palette.write_text(palette.read_text(encoding="utf-8") + "<!-- a new Material release -->\n", encoding="utf-8")
    (installed / "partials" / "source.html").unlink()
    assert theme_guard.changed_upstream(installed) == [
        "Material changed partials/palette.html; re-port overrides/partials/palette.html",
        "Material no longer has partials/source.html; re-port overrides/partials/source.html",
    ]
