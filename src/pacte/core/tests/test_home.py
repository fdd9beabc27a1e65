"""PACTE_HOME is resolved once, whatever the working folder, and lost keys are never silently replaced."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.live import pacte

REPO = Path(__file__).resolve().parents[4]


def test_the_default_home_is_the_checkouts_var_whatever_the_working_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PACTE_HOME"}
    env["DJANGO_SETTINGS_MODULE"] = "pacte.settings"
    code = "import django; django.setup(); from django.conf import settings; print(settings.PACTE_HOME)"
    printed = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert printed == str(REPO / "var")
    assert not (tmp_path / "var").exists()  # nothing made in the folder it was started from


@pytest.mark.slow
def test_a_lost_master_key_or_secret_key_is_refused_not_replaced(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for alias in ("default", "keys", "telemetry"):
        pacte(home, "migrate", "--database", alias, "--verbosity", "0")
    pacte(home, "demo", "seed", "--customers", "1")
    (home / "master.key").unlink()
    refused = pacte(home, "demo", "seed", "--customers", "1", "--seed", "2", check=False)
    assert refused.returncode != 0
    assert "The key store already holds keys" in refused.stderr and "master.key" in refused.stderr
    assert not (home / "master.key").exists()

    (home / "secret.key").unlink()
    refused = pacte(home, "check", check=False)
    assert refused.returncode != 0 and "holds Pacte's databases but not their secret.key" in refused.stderr
    assert not (home / "secret.key").exists()


@pytest.mark.slow
def test_a_new_home_gets_its_keys_on_first_start(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    for alias in ("default", "keys", "telemetry"):
        pacte(home, "migrate", "--database", alias, "--verbosity", "0")
    pacte(home, "demo", "seed", "--customers", "1")
    assert (home / "master.key").stat().st_size > 0 and (home / "secret.key").stat().st_size > 0
