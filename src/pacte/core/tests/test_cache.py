"""The database cache: Django's meaning for every operation, one statement per write, culled now and then."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from django.core.cache import cache, caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pacte.core import cache as cache_module

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_default_cache_is_pactes_backend():
    assert isinstance(caches["default"], cache_module.DatabaseCache)


def test_set_get_delete_and_types_round_trip():
    values = {"n": 3, "s": "é", "d": {"a": [1, 2]}, "none": None, "b": b"\x00\xff"}
    for key, value in values.items():
        cache.set(key, value, 60)
    assert cache.get_many(list(values)) == values
    cache.set("n", 4, 60)  # overwrite
    assert cache.get("n") == 4
    assert cache.delete("n") is True
    assert cache.get("n", "gone") == "gone"
    assert cache.delete("n") is False


def test_add_only_when_absent_or_expired():
    assert cache.add("lock", "first", 1) is True
    assert cache.add("lock", "second", 1) is False
    assert cache.get("lock") == "first"
    time.sleep(2.1)  # expiry is stored to the second
    assert cache.get("lock", "expired") == "expired"
    assert cache.add("lock", "third", 10) is True  # the expired row is replaced
    assert cache.get("lock") == "third"


def test_timeouts_touch_and_incr():
    cache.set("forever", "v", None)
    cache.set("short", 1, 1)
    cache.set("touched", 1, 1)
    assert cache.touch("touched", 60) is True
    assert cache.touch("absent", 60) is False
    assert cache.incr("touched") == 2
    time.sleep(2.1)
    assert cache.get("touched") == 2  # touched: still there
    assert cache.get("forever") == "v"
    assert cache.get("short") is None
    assert cache.touch("short", 60) is False  # expired rows are not revived


def test_a_write_is_one_statement_and_the_count_comes_once_per_interval(monkeypatch):
    backend = cache_module.DatabaseCache("pacte_cache", {})
    with CaptureQueriesContext(connection) as first:
        backend.set("a", 1, 60)
    assert [q["sql"].split()[0] for q in first.captured_queries] == ["SELECT", "INSERT"]  # count, upsert
    with CaptureQueriesContext(connection) as later:
        backend.set("a", 2, 60)
        backend.add("b", 1, 60)
        backend.add("b", 1, 60)
    assert len(later.captured_queries) == 3
    assert all("COUNT" not in q["sql"] for q in later.captured_queries)
    monkeypatch.setattr(cache_module, "CULL_EVERY_SECONDS", 0.0)
    with CaptureQueriesContext(connection) as counted:
        backend.set("a", 3, 60)
    assert any("COUNT" in q["sql"] for q in counted.captured_queries)


def test_culling_keeps_the_table_bounded(monkeypatch):
    monkeypatch.setattr(cache_module, "CULL_EVERY_SECONDS", 0.0)
    backend = cache_module.DatabaseCache("pacte_cache", {"OPTIONS": {"MAX_ENTRIES": 20, "CULL_FREQUENCY": 2}})
    for i in range(60):
        backend.set(f"k{i}", i, 600)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pacte_cache")
        assert cursor.fetchone()[0] <= 21


def test_a_failed_write_reports_false_and_breaks_nothing(monkeypatch):
    backend = cache_module.DatabaseCache("no_such_table", {})
    backend.set("a", 1, 60)  # swallowed, as Django's backend does
    assert backend.add("a", 1, 60) is False
    assert cache.add("still", "works", 60) is True


RACE = textwrap.dedent(
    """
    import os, sys, time, django
    django.setup()
    from django.core.cache import cache
    start = float(sys.argv[1])
    while time.time() < start:
        time.sleep(0.001)
    wins = sum(1 for i in range(40) if cache.add(f"race-{i}", os.getpid(), 60))
    print(wins)
    """
)


@pytest.mark.postgres
def test_two_processes_racing_for_the_same_locks_never_both_win():
    """allauth's rate-limit locks are ``add``: each key is won by exactly one process (SQLite's test
    databases live in memory, out of another process's reach; there one writer holds the file anyway)."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="pacte.settings")
    s = connection.settings_dict
    env["DATABASE_URL"] = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    start = time.time() + 3
    procs = [
        subprocess.Popen([sys.executable, "-c", RACE, str(start)], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    wins = [int(p.communicate(timeout=60)[0].strip()) for p in procs]
    assert sum(wins) == 40
