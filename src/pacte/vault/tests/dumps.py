"""Dump a test database as an attacker with a backup would see it: `sqlite3 .dump` or `pg_dump`."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from django.db import connections


def dump_database(alias: str = "default") -> str:
    """Return the full SQL dump of database ``alias`` (the test database, as it is now)."""
    connection = connections[alias]
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "copy.sqlite3"
            target = sqlite3.connect(path)
            connection.connection.backup(target)
            target.close()
            if shutil.which("sqlite3"):
                return subprocess.run(
                    ["sqlite3", str(path), ".dump"], capture_output=True, text=True, check=True
                ).stdout
            source = sqlite3.connect(path)
            try:
                return "\n".join(source.iterdump())
            finally:
                source.close()
    settings = connection.settings_dict
    pg_dump = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")) / "pg_dump"
    command = [str(pg_dump), "-h", settings["HOST"] or "127.0.0.1", "-p", str(settings["PORT"] or 5432)]
    command += ["-U", settings["USER"] or "pacte", "--no-owner", "--inserts", settings["NAME"]]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def copy_rows(model: type) -> list[dict]:
    """Return a raw copy (ciphertext as stored) of every row of ``model`` — a 'backup'."""
    table = model._meta.db_table
    with connections["default"].cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - table name from the model
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def restore_rows(model: type, rows: list[dict]) -> None:
    """Replace every row of ``model`` with ``rows`` (a 'restore' of the backup)."""
    table = model._meta.db_table
    with connections["default"].cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608
        for row in rows:
            columns = ", ".join(row)
            marks = ", ".join(["%s"] * len(row))
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))  # noqa: S608
