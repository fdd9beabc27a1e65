"""A worker killed (SIGKILL) in the middle of an export: the reclaim finishes it exactly once, leaves no orphan."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="runs real processes on SQLite files (once, in the SQLite pass)",
)

SETUP = """
import django, secrets, sys
django.setup()
from django.db import transaction
from pacte.ledger.services import entry_append
from pacte.rights.services import request_create
from pacte.rights.tasks import export_build_task
from pacte.accounts.models import User
from pacte.accounts.services import email_pseudonym
subject = User.objects.get(email=email_pseudonym(sys.argv[1])).subject
with transaction.atomic():  # enough records for the build to be killed with part of its file written
    for _ in range(1500):
        entry_append(type="staff.read", subject_id=subject.pk, actor="system",
                     payload={"model": "accounts.User", "fields": ["name"], "reason": secrets.token_hex(75)})
request = request_create(subject=subject, kind="access", channel="portal", identity_check="signed_in")
export_build_task.enqueue(str(request.pk))
print(request.pk)
"""

STATE = """
import django, io, json, os, sys, zipfile
django.setup()
from django.conf import settings
from pacte.ledger.models import Entry
from pacte.rights.models import RightsRequest
from pacte.rights.exports import EXPORT_RETENTION_CLASS, export_dir
from pacte.rights.flows.export import exports_reclaim
from pacte.vault.stream import subject_chunks
reclaimed = exports_reclaim() if sys.argv[2:] == ["reclaim"] else None
request = RightsRequest.objects.get(pk=sys.argv[1])
steps = [p["step"] for p in Entry.objects.filter(type="rights.step", payload__request_id=str(request.pk))
         .order_by("seq").values_list("payload", flat=True)]
files = {name: (export_dir() / name).read_bytes() for name in sorted(os.listdir(export_dir()))}
state = {"reclaimed": reclaimed, "status": request.status, "steps": steps, "attempts": request.build_attempts,
         "build_file": request.build_file, "export_file": request.export_file,
         "lease": request.lease_until is not None,
         "files": {name: {"size": len(blob), "zip_signature": b"PK\\x03\\x04" in blob} for name, blob in files.items()},
         "mails": len(os.listdir(settings.EMAIL_FILE_PATH)) if os.path.isdir(settings.EMAIL_FILE_PATH) else 0}
if request.export_file:
    with open(export_dir() / request.export_file, "rb") as raw:
        blob = b"".join(subject_chunks(raw, subject_id=request.subject_id, retention_class=EXPORT_RETENTION_CLASS,
                                       purpose=f"rights.export|{request.pk}"))
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert archive.testzip() is None
        data = json.loads(archive.read("data.json"))
    state["ledger_in_zip"] = sum(1 for row in data["ledger"] if row["type"] == "staff.read")
print(json.dumps(state))
"""

RECLAIM = """
import django
django.setup()
from pacte.rights.tasks import exports_reclaim_task
exports_reclaim_task.enqueue()
"""

REPO_ROOT = Path(__file__).resolve().parents[4]  # where the tests package is importable


def _python(env: dict[str, str], code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise AssertionError(result.stdout + result.stderr)
    return result.stdout.strip()


def _pacte(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pacte.cli", *args], env=env, capture_output=True, text=True, timeout=180
    )


def test_an_export_whose_worker_is_killed_mid_build_finishes_once_and_leaves_no_orphan(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(
        PACTE_HOME=str(tmp_path),
        DJANGO_SETTINGS_MODULE="tests.process_settings",
        PYTHONPATH=str(REPO_ROOT),
        PACTE_DEBUG="0",
        PACTE_TASKS_BACKEND="django_tasks_db.DatabaseBackend",
        PACTE_EXPORT_LEASE_SECONDS="2",
    )
    for alias in ("default", "keys", "telemetry"):
        assert _pacte(env, "migrate", "--database", alias, "--verbosity", "0").returncode == 0
    seeded = _pacte(env, "demo", "seed", "--customers", "1", "--json")
    email = json.loads(seeded.stdout)["people"][0]["email"]
    request_id = _python(env, SETUP, email)

    killed = _pacte(env | {"PACTE_CRASH_AFTER": "export_heartbeat"}, "worker", "--batch")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    dead = json.loads(_python(env, STATE, request_id))
    assert dead["status"] == "in_progress" and dead["lease"] and dead["attempts"] == 1
    assert dead["steps"] == ["received", "identity_verified"] and dead["export_file"] == ""
    (part,) = dead["files"]  # the half-written file, recorded as the build's own
    assert part == dead["build_file"] and dead["files"][part]["size"] > 64 * 1024
    assert not dead["files"][part]["zip_signature"]  # encrypted even half-written

    time.sleep(2.5)  # the lease passes: the build is dead
    _python(env, RECLAIM)
    finished = _pacte(env | {"PACTE_EXPORT_LEASE_SECONDS": "900"}, "worker", "--batch")
    assert finished.returncode == 0, finished.stderr
    done = json.loads(_python(env, STATE, request_id))
    assert done["status"] == "done" and not done["lease"] and done["attempts"] == 2
    assert done["steps"] == ["received", "identity_verified", "export_built", "notified"]  # each once
    assert list(done["files"]) == [done["export_file"]] and part not in done["files"]  # no orphan
    assert not done["files"][done["export_file"]]["zip_signature"]
    # One mail for the export (the demo seed mailed its own order confirmations before it).
    assert done["ledger_in_zip"] == 1500 and done["mails"] == dead["mails"] + 1

    again = json.loads(_python(env, STATE, request_id, "reclaim"))  # a later reclaim changes nothing
    assert again.pop("reclaimed") == {"requeued": 0, "failed": 0, "finished": 0, "orphans": 0}
    del done["reclaimed"]
    assert again == done
