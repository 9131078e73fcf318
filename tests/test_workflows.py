"""The CI workflows pass actionlint and zizmor (as `make check` runs them), so `make test` sees it too."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


@pytest.mark.parametrize("command", [
    [str(BIN / "actionlint"), *map(str, WORKFLOWS)],
    [str(BIN / "zizmor"), "--offline", "--quiet", str(ROOT / ".github" / "workflows")],
], ids=["actionlint", "zizmor"])
def test_workflows_lint_clean(command):
    assert WORKFLOWS, "no workflow under .github/workflows"
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(command[:1])} found:\n{proc.stdout}\n{proc.stderr}"
