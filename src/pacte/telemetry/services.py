"""Writes of telemetry: the daily salt, hits and searches, diagnostics, rollups and purges.

Days are UTC days. The salt of day D is created on first use during D, used for D's visitor keys and
search digests, and destroyed by ``salts_purge`` once D is two days old (48 hours after D began): from
then on no visitor key of D can be recomputed, even by someone holding every database and the key store.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import IntegrityError, connections, transaction
from django.db.models import Count, F
from django.utils import timezone

from pacte.policy.schema import Duration
from pacte.policy.selectors import policy_active
from pacte.telemetry import app_settings
from pacte.telemetry.models import (
    DailyCount,
    DailyTotal,
    Diagnostic,
    Dimension,
    DropCount,
    Hit,
    SearchPending,
    SearchQueryDay,
)
from pacte.telemetry.normalize import normalize_query
from pacte.vault import keyring
from pacte.vault.services import storage_scrub

ALIAS = "telemetry"
SALT_PREFIX = "telemetry-salt"
KEY_HEX = 32  # 128 bits of HMAC-SHA256: collisions between a day's visitors are negligible

# (dimension, Hit column) of the rollups; regions are "country/region" (see rollup_day).
DIMENSION_COLUMNS: tuple[tuple[str, str], ...] = (
    (Dimension.PAGE, "path"),
    (Dimension.REFERRER, "referrer_host"),
    (Dimension.BROWSER, "browser"),
    (Dimension.OS, "os"),
    (Dimension.DEVICE, "device"),
    (Dimension.COUNTRY, "country"),
    (Dimension.ISP, "isp"),
)


def now() -> datetime:
    """The clock of telemetry (services take ``now=`` so that tests can move time)."""
    return timezone.now()


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


# --- The daily salt ---------------------------------------------------------------------------------

_salt_lock = threading.Lock()
_salt_cache: dict[date, bytes] = {}


def salt_of(day: date) -> bytes:
    """Return the salt of ``day`` (created in the key store on first use).

    This process keeps only the salts of the two newest days it used in memory, so a destroyed salt
    does not outlive its key-store row in a long-running web worker.
    """
    cached = _salt_cache.get(day)
    if cached is not None:
        return cached
    value = keyring.dated_secret(SALT_PREFIX, day)
    with _salt_lock:
        _salt_cache[day] = value
        for old in sorted(_salt_cache)[:-2]:
            del _salt_cache[old]
    return value


def salt_cache_clear() -> None:
    """Forget the salts held in this process's memory (tests; after salts_purge)."""
    with _salt_lock:
        _salt_cache.clear()


def visitor_key(*, salt: bytes, site: str, truncated_ip: str, user_agent: str) -> str:
    """Return HMAC-SHA256(salt, site | truncated IP | user agent) as 32 hex characters."""
    message = "\x1f".join((site, truncated_ip, user_agent)).encode("utf-8", "replace")
    return hmac.new(salt, message, hashlib.sha256).hexdigest()[:KEY_HEX]


@transaction.atomic(using="keys")
def salts_purge(*, at: datetime | None = None) -> int:
    """Destroy the salts of days two or more days old (48 hours after they began); return how many.

    Deleted rows are then pushed out of the key store's files (``vault.services.storage_scrub``).
    """
    today = utc_day(at or now())
    destroyed = keyring.dated_secrets_destroy(SALT_PREFIX, before=today - timedelta(days=1))
    with _salt_lock:
        for day in [day for day in _salt_cache if day < today - timedelta(days=1)]:
            del _salt_cache[day]
    if destroyed:
        storage_scrub("keys")
    return destroyed


# --- Hits and searches ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HitData:
    """One page view as the middleware saw it (no IP, no user, no cookie)."""

    minute: datetime
    path: str
    referrer_host: str
    browser: str
    browser_major: str
    os: str
    device: str
    country: str
    region: str
    isp: str
    visitor_key: str
    is_bot: bool


@dataclass(frozen=True)
class SearchData:
    query: str
    visitor_key: str
    day: date


def _cut(value: str, limit: int) -> str:
    return (value or "")[:limit]


def _hit_row(data: HitData) -> Hit:
    return Hit(
        minute=data.minute.replace(second=0, microsecond=0),
        path=_cut(data.path, 512) or "/",
        referrer_host=_cut(data.referrer_host, 255),
        browser=_cut(data.browser, 64),
        browser_major=_cut(data.browser_major, 16),
        os=_cut(data.os, 64),
        device=_cut(data.device, 16),
        country=_cut(data.country, 2),
        region=_cut(data.region, 64),
        isp=_cut(data.isp, 128),
        visitor_key=_cut(data.visitor_key, KEY_HEX),
        is_bot=data.is_bot,
    )


def _search_seal_key(salt: bytes) -> bytes:
    return hashlib.sha256(salt + b"|telemetry.search.seal").digest()


def _search_row(*, query: str, visitor_key: str, day: date) -> SearchPending | None:
    text = normalize_query(query) or ""
    if not text:
        return None
    text = text[:200]
    salt = salt_of(day)
    digest = hmac.new(salt, b"search|" + text.encode(), hashlib.sha256).hexdigest()[:KEY_HEX]
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(_search_seal_key(salt)).encrypt(nonce, text.encode(), day.isoformat().encode())
    return SearchPending(day=day, digest=digest, visitor_key=visitor_key[:KEY_HEX], sealed=sealed)


@transaction.atomic(using=ALIAS)
def search_record(*, query: str, visitor_key: str, day: date) -> bool:
    """Note that one visitor searched ``query`` on ``day``; return False when the query normalizes to nothing.

    Nothing is kept as text: a digest under the day's salt groups equal queries, the text is sealed under
    a key derived from that salt, and the rollup keeps only queries asked by k distinct visitors.
    """
    row = _search_row(query=query, visitor_key=visitor_key, day=day)
    if row is None:
        return False
    SearchPending.objects.bulk_create([row], ignore_conflicts=True)
    return True


def _drops_add(drops: dict[str, int], day: date) -> None:
    for reason, count in drops.items():
        if count <= 0:
            continue
        updated = DropCount.objects.filter(day=day, reason=reason).update(count=F("count") + count)
        if not updated:
            try:
                with transaction.atomic(using=ALIAS):
                    DropCount.objects.create(day=day, reason=reason, count=count)
            except IntegrityError:  # another process created the row first
                DropCount.objects.filter(day=day, reason=reason).update(count=F("count") + count)


HIT_COLUMNS = (
    "minute",
    "path",
    "referrer_host",
    "browser",
    "browser_major",
    "os",
    "device",
    "country",
    "region",
    "isp",
    "visitor_key",
    "is_bot",
)


def _insert_hits(rows: list[Hit]) -> None:
    """Insert hits with one COPY (PostgreSQL) or one executemany (SQLite): the ORM's per-object cost
    would otherwise bound ingestion at a few thousand hits a second."""
    connection = connections[ALIAS]
    adapt = connection.ops.adapt_datetimefield_value
    values = [(adapt(row.minute), *(getattr(row, column) for column in HIT_COLUMNS[1:])) for row in rows]
    table = connection.ops.quote_name(Hit._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in HIT_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for value in values:
                    copy.write_row(value)
        else:
            marks = ", ".join(["%s"] * len(HIT_COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)  # noqa: S608 - fixed names


@transaction.atomic(using=ALIAS)
def hits_record(
    *,
    hits: Iterable[HitData],
    searches: Iterable[SearchData] = (),
    drops: dict[str, int] | None = None,
    day: date | None = None,
) -> int:
    """Write a batch of hits, searches and drop counts in one transaction; return the hits written."""
    rows = [_hit_row(hit) for hit in hits]
    if rows:
        _insert_hits(rows)
    pending = [
        row
        for row in (_search_row(query=s.query, visitor_key=s.visitor_key, day=s.day) for s in searches)
        if row is not None
    ]
    if pending:
        SearchPending.objects.bulk_create(pending, ignore_conflicts=True, batch_size=500)
    if drops:
        _drops_add(drops, day or utc_day(now()))
    return len(rows)


@dataclass(frozen=True)
class DiagnosticData:
    time: datetime
    ip: str | None
    request_line: str
    status: int
    kind: str


@transaction.atomic(using=ALIAS)
def diagnostics_record(*, events: Iterable[DiagnosticData]) -> int:
    """Write errors and security events (full IP and request line); return how many."""
    rows = [
        Diagnostic(
            time=e.time,
            ip=e.ip or None,
            request_line=_cut(e.request_line, 1024),
            status=e.status,
            kind=e.kind,
        )
        for e in events
    ]
    Diagnostic.objects.bulk_create(rows, batch_size=500)
    return len(rows)


# --- Rollups ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollupResult:
    day: date
    hits: int
    counts: int
    queries_kept: int
    pending_deleted: int


def search_min_visitors() -> int:
    """k: the distinct visitors a query needs on a day, and the smallest count reports show."""
    return policy_active().telemetry.search_min_visitors


def _unseal(salt: bytes, sealed: bytes, day: date) -> str | None:
    try:
        return (
            AESGCM(_search_seal_key(salt))
            .decrypt(sealed[:12], sealed[12:], day.isoformat().encode())
            .decode()
        )
    except (InvalidTag, ValueError, UnicodeDecodeError):
        return None


@transaction.atomic(using=ALIAS)
def rollup_day(*, day: date, at: datetime | None = None) -> RollupResult:
    """Compute the daily aggregates of ``day`` from its raw hits and searches; safe to run again.

    A day whose raw hits were already purged keeps its aggregates (nothing to recompute from). Searches:
    only queries asked by at least k distinct visitor keys are kept; once the day is over, every pending
    search row of the day is deleted, kept or not.
    """
    start, end = day_bounds(day)
    hits = Hit.objects.filter(minute__gte=start, minute__lt=end)
    raw = hits.count()
    counts = 0
    if raw:
        DailyTotal.objects.filter(day=day).delete()
        DailyCount.objects.filter(day=day).delete()
        humans = hits.filter(is_bot=False)
        DailyTotal.objects.create(
            day=day,
            views=humans.count(),
            visitors=humans.values("visitor_key").distinct().count(),
            bot_views=hits.filter(is_bot=True).count(),
        )
        rows: list[DailyCount] = []
        for dimension, column in DIMENSION_COLUMNS:
            grouped = (
                humans.exclude(**{column: ""})
                .values(column)
                .annotate(n=Count("id"), v=Count("visitor_key", distinct=True))
                .order_by()
            )
            rows += [
                DailyCount(day=day, dimension=dimension, value=g[column], views=g["n"], visitors=g["v"])
                for g in grouped
            ]
        regions = (
            humans.exclude(region="")
            .values("country", "region")
            .annotate(n=Count("id"), v=Count("visitor_key", distinct=True))
            .order_by()
        )
        rows += [
            DailyCount(
                day=day,
                dimension=Dimension.REGION,
                value=f"{g['country']}/{g['region']}"[:512],
                views=g["n"],
                visitors=g["v"],
            )
            for g in regions
        ]
        DailyCount.objects.bulk_create(rows, batch_size=500)
        counts = len(rows)

    kept = 0
    pending_deleted = 0
    pending = SearchPending.objects.filter(day=day)
    if pending.exists():
        k = search_min_visitors()
        try:
            salt: bytes | None = (
                keyring.dated_secret(SALT_PREFIX, day)
                if keyring.dated_secret_exists(SALT_PREFIX, day)
                else None
            )
        except Exception:  # the key store is unreachable: keep what was kept, retry at the next rollup
            salt = None
        if salt is not None:
            groups = (
                pending.values("digest")
                .annotate(v=Count("visitor_key", distinct=True))
                .filter(v__gte=k)
                .order_by()
            )
            found: list[SearchQueryDay] = []
            for group in groups:
                sealed = pending.filter(digest=group["digest"]).values_list("sealed", flat=True).first()
                text = _unseal(salt, bytes(sealed), day) if sealed is not None else None
                if text:
                    found.append(SearchQueryDay(day=day, query=text, visitors=group["v"]))
            SearchQueryDay.objects.filter(day=day).delete()
            SearchQueryDay.objects.bulk_create(found, ignore_conflicts=True)
            kept = len(found)
        if (at or now()) >= end:
            pending_deleted, _ = pending.delete()
    return RollupResult(day=day, hits=raw, counts=counts, queries_kept=kept, pending_deleted=pending_deleted)


def rollup_recent(*, at: datetime | None = None) -> list[RollupResult]:
    """Roll up yesterday and today (what the hourly task runs)."""
    today = utc_day(at or now())
    return [rollup_day(day=today - timedelta(days=1), at=at), rollup_day(day=today, at=at)]


# --- Purges -----------------------------------------------------------------------------------------


def _purge_batches(queryset_of_old, batch: int) -> int:  # type: ignore[no-untyped-def]
    """Delete the rows of ``queryset_of_old`` in id order, ``batch`` rows per short transaction."""
    total = 0
    while True:
        ids = list(queryset_of_old.order_by("id").values_list("id", flat=True)[:batch])
        if not ids:
            return total
        with transaction.atomic(using=ALIAS):
            deleted, _ = queryset_of_old.filter(id__gte=ids[0], id__lte=ids[-1]).delete()
        total += deleted


def purge_hits(*, older_than: datetime, batch: int | None = None) -> int:
    """Delete raw hits before ``older_than`` in short batches (writers wait one batch at most)."""
    return _purge_batches(Hit.objects.filter(minute__lt=older_than), batch or app_settings.purge_batch())


def _months_back(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def retention_cutoff(moment: datetime, duration: Duration) -> datetime:
    """Return ``moment`` minus an ISO 8601 duration (calendar months and years)."""
    back = _months_back(moment, duration.years * 12 + duration.months)
    return back - timedelta(
        weeks=duration.weeks,
        days=duration.days,
        hours=duration.hours,
        minutes=duration.minutes,
        seconds=duration.seconds,
    )


def diagnostics_retention() -> Duration:
    """The retention of the diagnostics log: the retention class of the policy's diagnostics purpose."""
    policy = policy_active()
    purpose_id = policy.telemetry.diagnostics_purpose or "diagnostics"
    purpose = policy.purposes.get(purpose_id)
    if purpose is not None and purpose.retention in policy.retention:
        return policy.retention[purpose.retention].duration
    if "diagnostics" in policy.retention:
        return policy.retention["diagnostics"].duration
    return Duration.parse("P12M")  # CNIL's longest for logs, when the policy names none


def purge_diagnostics(*, at: datetime | None = None, batch: int | None = None) -> int:
    """Delete diagnostics older than the policy's diagnostics retention, in short batches."""
    cutoff = retention_cutoff(at or now(), diagnostics_retention())
    return _purge_batches(Diagnostic.objects.filter(time__lt=cutoff), batch or app_settings.purge_batch())


def purge_rollups(*, at: datetime | None = None) -> int:
    """Delete daily aggregates older than PACTE_TELEMETRY_ROLLUP_MONTHS (25 at most)."""
    cutoff = _months_back(at or now(), app_settings.rollup_months()).date()
    deleted = 0
    with transaction.atomic(using=ALIAS):
        for model in (DailyTotal, DailyCount, SearchQueryDay, DropCount):
            deleted += model.objects.filter(day__lt=cutoff).delete()[0]
    return deleted


@dataclass(frozen=True)
class PurgeResult:
    hits: int
    diagnostics: int
    rollups: int
    salts: int
    pending: int


def purge_all(*, at: datetime | None = None) -> PurgeResult:
    """Run every purge: raw hits, diagnostics, old aggregates, searches and salts past their time."""
    moment = at or now()
    today = utc_day(moment)
    hits = purge_hits(older_than=day_bounds(today - timedelta(days=app_settings.hit_days()))[0])
    diagnostics = purge_diagnostics(at=moment)
    rollups = purge_rollups(at=moment)
    # Searches whose salt is about to go cannot be read any more: they go first.
    with transaction.atomic(using=ALIAS):
        pending, _ = SearchPending.objects.filter(day__lt=today - timedelta(days=1)).delete()
    salts = salts_purge(at=moment)
    return PurgeResult(hits=hits, diagnostics=diagnostics, rollups=rollups, salts=salts, pending=pending)
