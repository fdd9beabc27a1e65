"""The in-process buffer between the middleware and the telemetry database.

A request only appends to a list under a lock (microseconds); the database write happens later, in one
transaction per batch: when the response of a request that filled a batch (or found the oldest hit
older than PACTE_TELEMETRY_FLUSH_SECONDS) is closed — after its bytes were sent — or from a background
thread that wakes every PACTE_TELEMETRY_FLUSH_SECONDS when the site is idle. So a page never waits for
telemetry, and a crash (SIGKILL, power loss) loses at most what this buffer held: under
PACTE_TELEMETRY_BATCH hits, or the hits of the last PACTE_TELEMETRY_FLUSH_SECONDS, never more than
PACTE_TELEMETRY_BUFFER_MAX. A full buffer and a visitor key over its rate drop hits; both are counted
(``DropCount``), never silently lost.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from django.db import close_old_connections

from pacte.telemetry import app_settings, services
from pacte.telemetry.services import DiagnosticData, HitData, SearchData

logger = logging.getLogger("pacte.telemetry")

FULL = "full"  # the buffer held PACTE_TELEMETRY_BUFFER_MAX items
RATE = "rate"  # one visitor key went over PACTE_TELEMETRY_RATE hits a minute
WRITE = "write"  # the database refused a batch (it is lost, and counted in the next one)
ERROR = "error"  # the middleware could not build the hit (never a 500 for the page)
RATE_KEYS_MAX = 100_000  # distinct visitor keys tracked per minute before the table starts afresh


@dataclass
class Batch:
    hits: list[HitData] = field(default_factory=list)
    searches: list[SearchData] = field(default_factory=list)
    diagnostics: list[DiagnosticData] = field(default_factory=list)
    drops: Counter[str] = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.hits) + len(self.diagnostics)


class Buffer:
    """Hits, searches and diagnostics waiting to be written; thread-safe, bounded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._batch = Batch()
        self._oldest = 0.0  # monotonic time of the oldest waiting item
        self._rate: dict[str, int] = {}
        self._rate_minute = -1
        self._pid = 0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0  # hits written by this process (tests and the bench read it)

    # --- adding (the request path) ---

    def _start_thread(self) -> None:
        # Called under the lock. After a fork (gunicorn workers) the parent's thread does not exist here.
        pid = os.getpid()
        if self._pid == pid:
            return
        self._pid = pid
        self._batch = Batch()
        self._thread = None
        if app_settings.flush_thread():
            self._thread = threading.Thread(target=self._run, name="pacte-telemetry-flush", daemon=True)
            self._thread.start()

    def add_hit(self, hit: HitData, search: SearchData | None = None) -> bool:
        """Queue a hit (and its search); return False when it was dropped (and counted)."""
        minute = int(time.time() // 60)
        limit = app_settings.rate_per_minute()
        capacity = app_settings.buffer_max()
        with self._lock:
            self._start_thread()
            if minute != self._rate_minute or len(self._rate) > RATE_KEYS_MAX:
                self._rate, self._rate_minute = {}, minute
            seen = self._rate.get(hit.visitor_key, 0)
            if seen >= limit:
                self._batch.drops[RATE] += 1
                return False
            if len(self._batch) >= capacity:
                self._batch.drops[FULL] += 1
                return False
            self._rate[hit.visitor_key] = seen + 1
            if not len(self._batch):
                self._oldest = time.monotonic()
            self._batch.hits.append(hit)
            if search is not None:
                self._batch.searches.append(search)
        return True

    def add_diagnostic(self, event: DiagnosticData) -> bool:
        """Queue an error or security event; return False when the buffer is full (counted)."""
        with self._lock:
            self._start_thread()
            if len(self._batch) >= app_settings.buffer_max():
                self._batch.drops[FULL] += 1
                return False
            if not len(self._batch):
                self._oldest = time.monotonic()
            self._batch.diagnostics.append(event)
        return True

    def count_drop(self, reason: str) -> None:
        with self._lock:
            self._batch.drops[reason] += 1

    def pending(self) -> int:
        with self._lock:
            return len(self._batch)

    def due(self) -> bool:
        """Tell whether a batch is full, or its oldest item waited PACTE_TELEMETRY_FLUSH_SECONDS."""
        with self._lock:
            size = len(self._batch)
            if not size and not self._batch.drops:
                return False
            return size >= app_settings.batch_size() or (
                time.monotonic() - self._oldest >= app_settings.flush_seconds()
            )

    # --- writing (off the request path) ---

    def flush(self) -> int:
        """Write everything waiting in one transaction; return the hits written (0 if another flush runs)."""
        if not self._flushing.acquire(blocking=False):
            return 0
        try:
            with self._lock:
                batch, self._batch = self._batch, Batch()
            if not len(batch) and not batch.drops:
                return 0
            try:
                written = services.hits_record(
                    hits=batch.hits, searches=batch.searches, drops=dict(batch.drops)
                )
                if batch.diagnostics:
                    services.diagnostics_record(events=batch.diagnostics)
            except Exception as error:  # the database is down or locked: count the loss, never raise
                logger.warning(
                    "telemetry: a batch of %d hits and %d events could not be written (%s)",
                    len(batch.hits),
                    len(batch.diagnostics),
                    type(error).__name__,
                )
                with self._lock:
                    self._batch.drops[WRITE] += len(batch.hits)
                    for reason, count in batch.drops.items():
                        self._batch.drops[reason] += count
                return 0
            self.written += written
            return written
        finally:
            self._flushing.release()

    def flush_if_due(self) -> int:
        return self.flush() if self.due() else 0

    def _run(self) -> None:
        while True:
            self._wake.wait(max(0.05, app_settings.flush_seconds()))
            self._wake.clear()
            if self.due():
                close_old_connections()
                self.flush()

    def reset(self) -> None:
        """Forget everything waiting (tests)."""
        with self._lock:
            self._batch = Batch()
            self._rate = {}


BUFFER = Buffer()


def flush_when_due(**kwargs: object) -> None:
    """``request_finished`` receiver: write the buffer once a response was sent, when a batch is due."""
    try:
        BUFFER.flush_if_due()
    except Exception as error:  # never let telemetry break the server's clean-up
        logger.warning("telemetry: flush failed (%s)", type(error).__name__)


def flush_at_exit() -> None:
    """Write what is left when the process ends cleanly (a crash loses it: see the module docstring)."""
    with contextlib.suppress(Exception):  # the process is ending: nothing left to tell
        BUFFER.flush()


atexit.register(flush_at_exit)
