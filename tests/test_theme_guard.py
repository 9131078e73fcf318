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
    assert ours - set(theme_guard.REPLACED.values()) <= set(theme_guard.OWN), "an override without an upstream copy"
    assert not set(theme_guard.OWN) & set(theme_guard.REPLACED.values())
    upstream = {p.relative_to(theme_guard.installed_templates()).as_posix()
                for p in theme_guard.installed_templates().rglob("*.html")}
    shadowing = {f.removeprefix("overrides/") for f in theme_guard.OWN} & upstream
    assert shadowing == {"404.html"}, "one of our own templates shadows Material's (only the 404 page is meant to)"


def test_the_private_names_serve_uses_exist(monkeypatch):
    assert theme_guard.missing_private_apis() == []
    monkeypatch.setattr(theme_guard, "PRIVATE_APIS", [("mkdocs.commands.build", "_gone_in_a_release", "renders")])
    assert theme_guard.missing_private_apis() == [
        "mkdocs.commands.build._gone_in_a_release is gone (tools/serve.py renders); re-port tools/serve.py"]


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
