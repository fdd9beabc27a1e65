"""The layer contracts are enforced: lint-imports passes on the code, and fails on a wrong import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tmp_path: Path, wrong: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on a copy of the package with ``wrong`` modules (path → source) added."""
    src = tmp_path / "src"
    shutil.copytree(
        REPO / "src" / "pacte", src / "pacte", ignore=shutil.ignore_patterns("__pycache__", "*.mo")
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    for relative, source in wrong.items():
        (src / "pacte" / relative).write_text(source)
    env = dict(os.environ, PYTHONPATH=str(src))
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_the_code_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(tmp_path, {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        # core is the base: it imports no Pacte app.
        (
            "core/probe.py",
            "from pacte.policy import selectors\n",
            "pacte.core is not allowed to import pacte.policy",
        ),
        # the vault and the ledger do not import one another.
        (
            "vault/probe.py",
            "from pacte.ledger import services\n",
            "pacte.vault is not allowed to import pacte.ledger",
        ),
        # a domain app does not reach into another one's models.
        (
            "rights/probe.py",
            "from pacte.accounts.models import User\n",
            "pacte.rights is not allowed to import pacte.accounts.models",
        ),
        # domain code never imports views.
        (
            "consent/probe.py",
            "from pacte.accounts import views\n",
            "pacte.consent is not allowed to import pacte.accounts.views",
        ),
    ],
)
def test_a_wrong_import_breaks_a_contract(tmp_path: Path, module: str, source: str, broken: str) -> None:
    result = _lint(tmp_path, {module: source})
    assert result.returncode != 0
    assert (
        broken in result.stdout and "pacte." + module.replace("/", ".").removesuffix(".py") in result.stdout
    )
