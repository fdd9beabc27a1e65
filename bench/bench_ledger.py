#!/usr/bin/env python
"""Ledger: appends/s (one process; four on PostgreSQL), proof generation and verification, full verify."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _django import setup  # noqa: E402
from _server import figure  # noqa: E402

PAYLOAD = {"purpose": "newsletter", "policy_version": 1, "source": "portal"}
ROUNDS = 3
# A worker sets Django up, appends once (connection, signing key), says "ready" and waits for "go":
# the figure times appends only, not four interpreters starting on two cores. PATH "portable" is the
# six-statement append every database had before the PostgreSQL function (the baseline).
WORKER = """
import sys, time, uuid, django
django.setup()
from pacte.ledger import services
if "{path}" == "portable":
    services._append = services._append_portable
def append():
    services.entry_append(type="consent.granted", subject_id=uuid.uuid4(), actor="system",
                          payload={{"purpose": "newsletter", "policy_version": 1, "source": "portal"}})
append()
print("ready", flush=True)
sys.stdin.readline()
for i in range({count}):
    append()
print("done", flush=True)
"""


def _paths() -> list[str]:
    from django.db import connection

    return ["portable", "function"] if connection.vendor == "postgresql" else ["portable"]


def _one_process_rate(path: str, n: int) -> float:
    from pacte.ledger import services

    append = services._append_portable if path == "portable" else services._append
    started = time.perf_counter()
    for _ in range(n):
        entry = services._new_entry(
            type="consent.granted", subject_id=uuid.uuid4(), actor="system", payload=PAYLOAD
        )
        append([entry])
    return n / (time.perf_counter() - started)


def appends_one_process(n: int = 1000) -> None:
    """Appends/s through ``entry_append``; on PostgreSQL alternated with the six-statement baseline."""
    from pacte.ledger.services import entry_append

    entry_append(type="consent.granted", subject_id=uuid.uuid4(), actor="system", payload=PAYLOAD)
    rates: dict[str, list[float]] = {path: [] for path in _paths()}
    for _ in range(ROUNDS):
        for path in rates:
            rates[path].append(_one_process_rate(path, n))
    median = {path: statistics.median(values) for path, values in rates.items()}
    if "function" in median:
        figure("appends_one_process_baseline_six_statements", median["portable"], "appends/s")
        figure("appends_one_process", median["function"], "appends/s", goal="≥ 2000")
        figure("appends_one_process_ratio", median["function"] / median["portable"], "× baseline")
    else:
        figure("appends_one_process", median["portable"], "appends/s", goal="≥ 2000")


def _four_process_rate(path: str, n: int) -> float:
    env = dict(os.environ)
    source = WORKER.format(count=n, path=path)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", source], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "done"
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.wait()
    return 4 * n / elapsed


def appends_four_processes(n: int = 1000) -> None:
    """Total appends/s of four processes at once, alternated with the six-statement baseline."""
    from django.db import connection

    if connection.vendor != "postgresql":
        print("# appends_four_processes: PostgreSQL only (run scripts/with-pg.sh bench/run)")
        return
    rates: dict[str, list[float]] = {path: [] for path in _paths()}
    for _ in range(ROUNDS):
        for path in rates:
            rates[path].append(_four_process_rate(path, n))
    median = {path: statistics.median(values) for path, values in rates.items()}
    figure("appends_four_processes_baseline_six_statements", median["portable"], "appends/s")
    figure("appends_four_processes_postgres", median["function"], "appends/s", goal="≥ 2000")
    figure("appends_four_processes_ratio", median["function"] / median["portable"], "× baseline")


def proofs(samples: int = 300) -> None:
    from pacte.ledger import selectors, services
    from pacte.ledger.verifier import leaf_hash, verify_inclusion

    head = services.sth_sign()
    assert head is not None
    size = head.tree_size  # receipts use the first head that covers their entry
    seqs = [(i * 7919) % size for i in range(samples)]
    started = time.perf_counter()
    receipts = [selectors.receipt_build(seq=seq) for seq in seqs]
    figure(
        "receipt_generation", (time.perf_counter() - started) / samples * 1e3, "ms", goal=f"tree of {size}"
    )
    timings = []
    for receipt in receipts:
        root = bytes.fromhex(receipt["tree_head"]["root_hash"])
        path = [bytes.fromhex(p) for p in receipt["inclusion_proof"]]
        t0 = time.perf_counter()
        head_size = receipt["tree_head"]["tree_size"]
        verify_inclusion(leaf_hash(receipt["entry"]), receipt["leaf_index"], head_size, path, root)
        timings.append(time.perf_counter() - t0)
    figure("proof_verification", statistics.median(timings) * 1e3, "ms", goal="≤ 1")


def verify_large(n: int) -> None:
    """Build a ledger of ``n`` entries by bulk insert (hashes computed as appends do), then verify it."""
    from django.db import connection, transaction
    from django.utils import timezone

    from pacte.ledger import selectors, services
    from pacte.ledger.models import Entry, LedgerState, Node
    from pacte.ledger.tree import frontier_append

    tables = "ledger_entry, ledger_node, ledger_treehead, ledger_ledgerstate"
    with connection.cursor() as cursor:  # start from an empty ledger (on PostgreSQL, DELETE is refused)
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {tables}")
        else:
            for table in tables.split(", "):
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608
    started = time.perf_counter()
    frontier: list = []
    entries, nodes = [], []
    now = timezone.now()
    subject = uuid.uuid4()
    with transaction.atomic():
        for seq in range(n):
            entry = Entry(
                seq=seq, time=now, type="consent.granted", subject_id=subject, actor="system", payload=PAYLOAD
            )
            entry.leaf_hash = services.entry_leaf_hash(entry)
            frontier, completed = frontier_append(frontier, entry.leaf_hash, seq)
            entries.append(entry)
            nodes += [
                Node(level=lv, index=ix, hash=h, completed_at=seq)
                for lv, ix, h in [(0, seq, entry.leaf_hash), *completed]
            ]
            if len(entries) == 20000:
                Entry.objects.bulk_create(entries)
                Node.objects.bulk_create(nodes)
                entries, nodes = [], []
        Entry.objects.bulk_create(entries)
        Node.objects.bulk_create(nodes)
        LedgerState.objects.create(pk=1, size=n, frontier=[[lv, h.hex()] for lv, h in frontier])
    services.sth_sign()
    figure("verify_build", time.perf_counter() - started, "s", goal=f"{n} entries, bulk insert")
    started = time.perf_counter()
    report = selectors.ledger_verify()
    assert report.ok, report.problem
    figure("verify_entries", report.entries, "entries")
    figure("verify_time", time.perf_counter() - started, "s")


def main() -> None:
    setup()
    appends_one_process()
    appends_four_processes()
    proofs()
    verify_large(int(os.environ.get("PACTE_BENCH_LEDGER_VERIFY_N", "1000000")))


if __name__ == "__main__":
    main()
