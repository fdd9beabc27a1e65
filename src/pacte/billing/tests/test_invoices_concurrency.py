"""Gap-free numbering under 4 real processes issuing at once (PostgreSQL, and SQLite on files).

Every process tries every order (so they race for the same invoice), throws away every 5th issue after
it took its number (a rollback), and credits part of its share of the orders. At the end each order has
exactly one invoice, and both series (F, AV) run 1, 2, 3… without a gap or a double.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections

from pacte.billing.tests.conftest import DBS

WORKER = str(Path(__file__).with_name("invoice_worker.py"))
REPO = Path(__file__).resolve().parents[4]
ORDERS = 60


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, WORKER, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def _race(env: dict[str, str], tmp_path: Path) -> list[list[str]]:
    ids = json.loads(_run(env, "setup", str(ORDERS)))
    ids_file = tmp_path / "orders.json"
    ids_file.write_text(json.dumps(ids))
    workers = [
        subprocess.Popen(
            [sys.executable, WORKER, "issue", str(w), str(ids_file)], env=env, stderr=subprocess.PIPE
        )
        for w in range(4)
    ]
    errors = [w.communicate(timeout=600)[1].decode()[-3000:] for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0], errors
    rows = json.loads(_run(env, "check"))
    invoices = [row for row in rows if row[0] == "F"]
    notes = [row for row in rows if row[0] == "AV"]
    assert [row[1] for row in invoices] == list(range(1, ORDERS + 1))  # no gap, no double
    assert sorted(row[2] for row in invoices) == sorted(ids)  # one invoice per order
    credited = [order_id for index, order_id in enumerate(ids) if index % 3 == 0]
    assert [row[1] for row in notes] == list(range(1, len(credited) + 1))
    assert sorted(row[2] for row in notes) == sorted(credited)
    return rows


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")])
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(databases=DBS, transaction=True)
def test_four_processes_on_postgresql_number_invoices_and_credit_notes_without_gaps(tmp_path) -> None:
    urls = {}
    for alias, var in (
        ("default", "DATABASE_URL"),
        ("keys", "PACTE_KEYS_DATABASE_URL"),
        ("telemetry", "PACTE_TELEMETRY_DATABASE_URL"),
    ):
        s = connections[alias].settings_dict
        urls[var] = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    _race(_env(**urls), tmp_path)


@pytest.mark.slow
def test_four_processes_on_sqlite_number_invoices_and_credit_notes_without_gaps(tmp_path) -> None:
    env = _env(PACTE_HOME=str(tmp_path / "home"))
    for var in ("DATABASE_URL", "PACTE_KEYS_DATABASE_URL", "PACTE_TELEMETRY_DATABASE_URL"):
        env.pop(var, None)
    for alias in ("default", "keys", "telemetry"):
        migrate = subprocess.run(
            [sys.executable, "-m", "pacte.cli", "migrate", "--database", alias, "--verbosity", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stderr[-3000:]
    _race(env, tmp_path)
