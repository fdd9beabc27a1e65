"""The shared cache in the database, one statement per write.

Django's ``DatabaseCache`` spends five statements on every ``set``/``add``: a ``COUNT(*)`` of the whole table
(to decide whether to cull), then a transaction with a ``SELECT`` and an ``INSERT`` or ``UPDATE``. allauth's
rate limits write the cache four times per password login (a lock, the counter, the unlock; twice), so a
login spent about 40 of its 62 statements here (issue 14). This backend writes with one upsert
(``INSERT … ON CONFLICT (cache_key) DO UPDATE``, SQLite ≥ 3.24 and PostgreSQL alike) and counts the table to
cull it at most once per :data:`CULL_EVERY_SECONDS` in each process. ``add`` keeps its meaning — it
succeeds only when the key is absent or expired — in the statement's ``WHERE``, so two processes racing
for the same lock cannot both win. Reads, deletes and culling are Django's.
"""

from __future__ import annotations

import base64
import pickle
import time
from datetime import UTC, datetime
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import DatabaseError, connections, router
from django.utils.timezone import now as tz_now

CULL_EVERY_SECONDS = 30.0


class DatabaseCache(DjangoDatabaseCache):
    """Django's database cache with one-statement writes and throttled culling (settings.CACHES)."""

    def __init__(self, table: str, params: dict[str, Any]) -> None:
        super().__init__(table, params)
        self._counted_at: float | None = None

    def _base_set(self, mode: str, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT) -> bool:
        timeout = self.get_backend_timeout(timeout)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote = connection.ops.quote_name
        table = quote(self._table)  # type: ignore[attr-defined]
        now = tz_now().replace(microsecond=0)
        expires = (
            datetime.max.replace(tzinfo=UTC) if timeout is None else datetime.fromtimestamp(timeout, tz=UTC)
        )
        expires_db = connection.ops.adapt_datetimefield_value(expires.replace(microsecond=0))
        now_db = connection.ops.adapt_datetimefield_value(now)
        key_col, value_col, expires_col = quote("cache_key"), quote("value"), quote("expires")
        try:
            with connection.cursor() as cursor:
                self._cull_now_and_then(db, cursor, now)
                if mode == "touch":
                    touch = (
                        f"UPDATE {table} SET {expires_col} = %s WHERE {key_col} = %s AND {expires_col} >= %s"  # noqa: S608
                    )
                    cursor.execute(touch, [expires_db, key, now_db])
                    return bool(cursor.rowcount)
                encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
                only_expired = f" WHERE {table}.{expires_col} < %s" if mode == "add" else ""
                upsert = (
                    f"INSERT INTO {table} ({key_col}, {value_col}, {expires_col}) VALUES (%s, %s, %s) "  # noqa: S608
                    f"ON CONFLICT ({key_col}) DO UPDATE SET {value_col} = excluded.{value_col}, "
                    f"{expires_col} = excluded.{expires_col}{only_expired}"
                )  # quoted names only; every value is a parameter
                cursor.execute(upsert, [key, encoded, expires_db, *([now_db] if mode == "add" else [])])
                return cursor.rowcount == 1 if mode == "add" else True
        except DatabaseError:
            return False  # as Django's: a cache write may fail without failing the request

    def _cull_now_and_then(self, db: str, cursor: Any, now: datetime) -> None:
        """Django's culling (expired rows first, then a share of the rest), checked at most every 30 s."""
        clock = time.monotonic()
        if self._counted_at is not None and clock - self._counted_at < CULL_EVERY_SECONDS:
            return
        self._counted_at = clock
        table = connections[db].ops.quote_name(self._table)  # type: ignore[attr-defined]
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - the configured table
        count = cursor.fetchone()[0]
        if count > self._max_entries:
            self._cull(db, cursor, now, count)  # type: ignore[attr-defined]
