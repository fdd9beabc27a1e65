"""Pacte's files are its user's alone, whatever the umask it was started with (a real process each time)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest


def _pacte(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(PACTE_HOME=str(home), DJANGO_SETTINGS_MODULE="pacte.settings")
    return subprocess.run(
        [sys.executable, "-m", "pacte.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o022),  # the usual, generous umask
    )


def _modes(home: Path) -> dict[str, str]:
    return {
        str(p.relative_to(home.parent)): oct(stat.S_IMODE(p.stat().st_mode)) for p in [home, *home.rglob("*")]
    }


@pytest.mark.slow
def test_databases_keys_and_mail_spool_are_private_with_a_generous_umask(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for alias in ("default", "keys", "telemetry"):
        assert _pacte(home, "migrate", "--database", alias, "--verbosity", "0").returncode == 0
    sent = _pacte(
        home,
        "shell",
        "-c",
        "from django.core.mail import send_mail; send_mail('s', 'b', 'a@example.org', ['b@example.org'])",
    )
    assert sent.returncode == 0, sent.stderr
    modes = _modes(home)
    names = {Path(name).name for name in modes}
    assert {
        "pacte.sqlite3",
        "keys.sqlite3",
        "telemetry.sqlite3",
        "master.key",
        "secret.key",
        "sent-mail",
    } <= names
    wrong = {
        name: mode
        for name, mode in modes.items()
        if mode != ("0o700" if (tmp_path / name).is_dir() else "0o600")
    }
    assert wrong == {}
    assert "pacte.W001" not in _pacte(home, "check").stderr


@pytest.mark.slow
def test_the_start_up_check_warns_when_a_file_is_open_to_others(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _pacte(home, "migrate", "--database", "keys", "--verbosity", "0").returncode == 0
    (home / "keys.sqlite3").chmod(0o644)
    home.chmod(0o755)
    check = _pacte(home, "check")
    output = check.stdout + check.stderr
    assert "pacte.W001" in output and "keys.sqlite3 (0o644)" in output, output
    assert f"chmod -R go-rwx {home}" in output
