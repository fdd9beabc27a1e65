"""An erasure killed with SIGKILL after each of its steps finishes exactly once after restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pacte.rights.flows.erasure import ERASURE_STEPS

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="runs real processes on SQLite files (once, in the SQLite pass)",
)

QUERY = """
import django, json, sys
django.setup()
from pacte.ledger.models import Entry
from pacte.subjects.models import Subject
from pacte.ledger.selectors import ledger_verify
sid = sys.argv[1]
steps = list(Entry.objects.filter(subject_id=sid, type="rights.step").values_list("payload", flat=True))
print(json.dumps({"steps": [p["step"] for p in steps], "erased": Subject.objects.get(pk=sid).erased_at is not None,
                  "verify": ledger_verify().ok}))
"""

REPO_ROOT = Path(__file__).resolve().parents[4]  # where the tests package is importable


def _run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pacte.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        raise AssertionError(result.stdout + result.stderr)
    return result


def test_erasure_killed_after_every_step_completes_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(
        PACTE_HOME=str(tmp_path),
        DJANGO_SETTINGS_MODULE="tests.process_settings",
        PYTHONPATH=str(REPO_ROOT),
        PACTE_DEBUG="0",
    )
    for alias in ("default", "keys", "telemetry"):
        _run(env, "migrate", "--database", alias, "--verbosity", "0")
    people = json.loads(_run(env, "demo", "seed", "--customers", "2", "--json").stdout)["people"]
    lookup = (
        "import django, sys; django.setup();"
        "from pacte.accounts.models import User; from pacte.accounts.services import email_pseudonym;"
        "print(User.objects.get(email=email_pseudonym(sys.argv[1])).subject_id)"
    )
    subject_id = subprocess.run(
        [sys.executable, "-c", lookup, people[0]["email"]],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    for step in ERASURE_STEPS[:-1]:
        killed = _run(env | {"PACTE_CRASH_AFTER": step}, "rights", "erase", subject_id, "--yes", check=False)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
    finished = _run(env, "rights", "erase", subject_id, "--yes")
    assert "erased" in finished.stdout
    again = _run(env, "rights", "erase", subject_id, "--yes")
    assert "already erased" in again.stdout

    state = json.loads(
        subprocess.run(
            [sys.executable, "-c", QUERY, subject_id], env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    assert state["steps"] == ["received", "identity_verified", *ERASURE_STEPS]  # each exactly once, in order
    assert state["erased"] and state["verify"]
