#!/usr/bin/env python
"""Export and erasure of one subject: time and peak memory of the export at 10,000 and 100,000 records
(memory must stay flat), and erasure time at 100 and 10,000 records (key destruction does not grow).

The export's baseline, measured in the same run and alternated with it (A B A B…, medians), is merely
reading the same rows (the records and the ledger entries) through the ORM as stored, ciphertext and all:
``export ÷ raw read`` is what decrypting, serialising, compressing and writing the ZIP cost on top. The
export is timed without tracemalloc (which slows every allocation several times); its peak memory comes
from one more export run under tracemalloc.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _django import setup  # noqa: E402
from _server import figure  # noqa: E402

SIZES = [int(n) for n in os.environ.get("PACTE_BENCH_EXPORT_SIZES", "10000,100000").split(",")]
ROUNDS = int(os.environ.get("PACTE_BENCH_EXPORT_ROUNDS", "3"))


def _subject_with(records: int, entries: int):
    from django.db import transaction
    from tests.testapp.models import Person

    from pacte.ledger.services import entry_append
    from pacte.subjects.services import subject_create

    subject = subject_create()
    batch = []
    for i in range(records):
        batch.append(
            Person(
                subject=subject,
                name=f"Personne {i}",
                email=f"p{i}@example.fr",
                phone="06 11 22 33 44",
                address={"lines": [f"{i} rue du Banc"], "postcode": "69001", "city": "Lyon", "country": "FR"},
                birth_date=None,
                notes={"n": i},
            )
        )
        if len(batch) == 2000:
            Person.objects.bulk_create(batch)
            batch = []
    Person.objects.bulk_create(batch)
    for start in range(0, entries, 1000):
        with transaction.atomic():
            for i in range(start, min(entries, start + 1000)):
                entry_append(
                    type="rectification",
                    subject_id=subject.pk,
                    actor=f"subject:{subject.pk}",
                    payload={"field": "testapp.Person.name", "source": "portal"},
                )
    return subject


def _raw_read(subject) -> float:
    """The baseline: read the export's rows (records and ledger entries) as stored, nothing else."""
    from tests.testapp.models import Person

    from pacte.ledger.models import Entry

    started = time.perf_counter()
    for _row in Person.objects.filter(subject=subject).values_list().iterator(chunk_size=2000):
        pass
    for _row in (
        Entry.objects.filter(subject_id=subject.pk).order_by("seq").values_list().iterator(chunk_size=2000)
    ):
        pass
    return time.perf_counter() - started


def _export(subject, home: Path, *, traced: bool = False) -> tuple[float, float, int]:
    """Export ``subject`` to a file; return seconds, peak MiB (under tracemalloc when ``traced``), bytes."""
    from pacte.rights.exports import export_write

    path = home / "export.zip"
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    with open(path, "wb") as out:
        export_write(subject=subject, out=out, lang="fr")
    elapsed = time.perf_counter() - started
    peak = 0.0
    if traced:
        _current, peak_bytes = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak = peak_bytes / 2**20
    return elapsed, peak, path.stat().st_size


def _erase(subject) -> tuple[float, float]:
    from pacte.rights.flows.erasure import erasure_run
    from pacte.rights.models import RightsRequest
    from pacte.rights.services import request_create
    from pacte.vault.services import keys_destroy_all_but_legal_hold

    request = request_create(
        subject=subject, kind="erasure", channel="post", identity_check="postal_match", recorded_by="system"
    )
    started = time.perf_counter()
    keys_destroy_all_but_legal_hold(subject=subject)
    keys = time.perf_counter() - started
    started = time.perf_counter()
    erasure_run(request=RightsRequest.objects.get(pk=request.pk))
    return keys, time.perf_counter() - started


def main() -> None:
    home = setup()
    from pacte.vault.crypto import vault_scope

    peaks = {}
    for size in SIZES:
        with vault_scope():
            subject = _subject_with(size, size)
            raw, export = [], []
            for _round in range(ROUNDS):
                raw.append(_raw_read(subject))
                seconds, _peak, zipped = _export(subject, home)
                export.append(seconds)
            _seconds, peak, _zipped = _export(subject, home, traced=True)
        peaks[size] = peak
        raw_s, export_s = statistics.median(raw), statistics.median(export)
        figure(f"export_{size}_records_{size}_entries_s", export_s, "s", goal="≤ 2 s at 10,000")
        figure(f"export_{size}_records_per_s", size / export_s, "records/s")
        figure(f"export_{size}_raw_read_s", raw_s, "s")
        figure(f"export_{size}_ratio_vs_raw_read", export_s / raw_s, "x")
        figure(f"export_{size}_peak_memory", peak, "MiB")
        figure(f"export_{size}_zip_size", zipped / 2**20, "MiB")
    if len(SIZES) > 1:
        figure(
            "export_peak_memory_ratio_largest_vs_smallest",
            peaks[SIZES[-1]] / peaks[SIZES[0]],
            "x",
            goal="≈ 1 (flat)",
        )
    times = {}
    for size in (100, 10_000):
        with vault_scope():
            subject = _subject_with(size, 0)
            keys, whole = _erase(subject)
        times[size] = (keys, whole)
        figure(f"erasure_{size}_records_key_destruction", keys * 1000, "ms")
        figure(f"erasure_{size}_records_whole", whole * 1000, "ms")
    figure("erasure_key_destruction_ratio_10000_vs_100", times[10_000][0] / times[100][0], "x", goal="≈ 1")
    figure("erasure_whole_ratio_10000_vs_100", times[10_000][1] / times[100][1], "x")


if __name__ == "__main__":
    main()
