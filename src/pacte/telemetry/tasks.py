"""Telemetry tasks, run by the worker (the scheduler enqueues both every hour)."""

from __future__ import annotations

from django_tasks import task

from pacte.telemetry import services


@task()
def telemetry_rollup() -> dict[str, int]:
    """Roll up yesterday and today (idempotent: a second run gives the same aggregates)."""
    return {result.day.isoformat(): result.hits for result in services.rollup_recent()}


@task()
def telemetry_purge() -> dict[str, int]:
    """Purge raw hits, diagnostics, old aggregates, unread searches and salts older than 48 hours."""
    result = services.purge_all()
    return {
        "hits": result.hits,
        "diagnostics": result.diagnostics,
        "rollups": result.rollups,
        "salts": result.salts,
        "pending": result.pending,
    }
