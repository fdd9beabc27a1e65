#!/usr/bin/env python
"""Telemetry: middleware overhead per request, hits/s ingested, purge of many rows, a year's report.

In-process (no HTTP server): the overhead is the middleware around the same HTML view, p50 of many calls.
On PostgreSQL: scripts/with-pg.sh .venv/bin/python bench/bench_telemetry.py
Environment: BENCH_PURGE_ROWS (default 1,000,000).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _django import setup  # noqa: E402


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name}: {value:.3f} {unit}")


def main() -> None:
    setup()
    from django.conf import settings
    from django.db import connections
    from django.http import HttpResponse
    from django.test import RequestFactory

    from pacte.telemetry import selectors, services
    from pacte.telemetry.buffer import BUFFER
    from pacte.telemetry.middleware import TelemetryMiddleware
    from pacte.telemetry.models import DailyCount, DailyTotal, Dimension, Hit
    from pacte.telemetry.services import HitData

    settings.PACTE_TELEMETRY = True
    settings.PACTE_TELEMETRY_FLUSH_THREAD = False
    settings.PACTE_TELEMETRY_BATCH = 10**9
    settings.PACTE_TELEMETRY_BUFFER_MAX = 10**9
    settings.PACTE_TELEMETRY_RATE = 10**9
    vendor = connections["telemetry"].vendor
    print(f"# telemetry database: {vendor}")

    # 1. Middleware overhead: the same view with and without it, interleaved, p50 of each.
    page = HttpResponse("<p>" + "x" * 2000 + "</p>", content_type="text/html; charset=utf-8")

    def view(request):
        return page

    wrapped = TelemetryMiddleware(view)
    factory = RequestFactory()
    agents = [
        f"Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0" for v in range(100, 130)
    ]
    requests = []
    for n in range(20_000):
        request = factory.get(
            "/shop/item/", HTTP_USER_AGENT=agents[n % len(agents)], HTTP_REFERER="https://www.example.org/x"
        )
        request.META["REMOTE_ADDR"] = f"81.2.{n % 250}.{n % 200 + 1}"
        requests.append(request)
    for request in requests[:500]:  # warm caches (salt, user-agent LRU, policy)
        wrapped(request)
    bare_times, with_times = [], []
    for request in requests:
        start = time.perf_counter()
        view(request)
        bare_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        wrapped(request)
        with_times.append(time.perf_counter() - start)
    BUFFER.reset()
    figure(
        "middleware_p50_overhead",
        (statistics.median(with_times) - statistics.median(bare_times)) * 1000,
        "ms",
    )
    figure("middleware_p99", sorted(with_times)[int(len(with_times) * 0.99)] * 1000, "ms")

    # 2. Ingest: batches of 1,000 through services.hits_record (one transaction, bulk INSERT).
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rng = random.Random(1)

    def hits(count: int, base: datetime) -> list[HitData]:
        return [
            HitData(
                base - timedelta(minutes=rng.randrange(1440)),
                f"/page/{rng.randrange(200)}/",
                rng.choice(["", "www.example.org"]),
                "Firefox",
                "128",
                "Linux",
                "desktop",
                "FR",
                "IDF",
                "",
                f"{rng.randrange(10**6):032x}",
                False,
            )
            for _ in range(count)
        ]

    batch = hits(1000, now)
    total = 50_000
    start = time.perf_counter()
    for _ in range(total // 1000):
        services.hits_record(hits=batch)
    figure("ingest_hits_per_s", total / (time.perf_counter() - start), "hits/s")

    # 3. Purge of many rows in batches of 10,000 (each batch its own short transaction).
    rows = int(os.environ.get("BENCH_PURGE_ROWS", "1000000"))
    old = now - timedelta(days=30)
    start = time.perf_counter()
    chunk = hits(10_000, old)
    for _ in range(rows // 10_000):
        services.hits_record(hits=chunk)
    figure("purge_setup_insert_rows_per_s", rows / (time.perf_counter() - start), "rows/s")
    start = time.perf_counter()
    deleted = services.purge_hits(older_than=now - timedelta(days=7))
    elapsed = time.perf_counter() - start
    figure("purge_rows", deleted, "rows")
    figure("purge_seconds", elapsed, "s")
    figure("purge_rows_per_s", deleted / elapsed, "rows/s")
    # A writer during the purge waits at most one batch: time one 10,000-row delete.
    services.hits_record(hits=hits(10_000, old))
    start = time.perf_counter()
    services.purge_hits(older_than=now - timedelta(days=7), batch=10_000)
    figure("purge_one_batch_ms", (time.perf_counter() - start) * 1000, "ms")
    Hit.objects.all().delete()

    # 4. A year of rollups: 366 days × (totals + 200 pages + the other dimensions), then the report.
    today = now.date()
    DailyTotal.objects.bulk_create(
        [
            DailyTotal(day=today - timedelta(days=d), views=5000, visitors=800, bot_views=300)
            for d in range(366)
        ]
    )
    counts = []
    for d in range(366):
        day = today - timedelta(days=d)
        counts += [
            DailyCount(day=day, dimension=Dimension.PAGE, value=f"/page/{p}/", views=25, visitors=10)
            for p in range(200)
        ]
        for dimension in (
            Dimension.REFERRER,
            Dimension.BROWSER,
            Dimension.OS,
            Dimension.DEVICE,
            Dimension.COUNTRY,
            Dimension.REGION,
            Dimension.ISP,
        ):
            counts += [
                DailyCount(day=day, dimension=dimension, value=f"v{v}", views=100, visitors=40)
                for v in range(10)
            ]
    DailyCount.objects.bulk_create(counts, batch_size=5000)
    selectors.report(days=366)  # warm
    times = []
    for _ in range(5):
        start = time.perf_counter()
        report = selectors.report(days=366)
        times.append(time.perf_counter() - start)
    assert len(report.per_day) == 366
    figure("report_year_ms", statistics.median(times) * 1000, "ms")
    figure("rollup_rows_read_for_year", len(counts) + 366, "rows")


if __name__ == "__main__":
    main()
