"""Reads of telemetry: the reports, computed from the daily aggregates only (never from raw hits).

Every count below k (the policy's ``search_min_visitors``, default 5) is shown as ``"< k"``, so a
report never tells that one or two people looked at a page. A report over a year reads at most 366
rows per day chart, and one grouped query per top list.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Sum

from pacte.policy.selectors import policy_active
from pacte.telemetry import services
from pacte.telemetry.geo import geo_locator
from pacte.telemetry.models import DailyCount, DailyTotal, Dimension, DropCount, SearchQueryDay

Count = int | str  # an exact count, or "< k"


def suppress(value: int, k: int) -> Count:
    """Return ``value``, or ``"< k"`` when it is below k (zero stays 0: nothing to hide)."""
    if 0 < value < k:
        return f"< {k}"
    return value


@dataclass(frozen=True)
class DayRow:
    day: str
    views: Count
    visitors: Count


@dataclass(frozen=True)
class TopRow:
    value: str
    views: Count
    visitors: Count


@dataclass
class Report:
    start: str
    end: str
    days: int
    k: int
    views: Count
    bot_views: Count
    per_day: list[DayRow]
    top: dict[str, list[TopRow]]
    searches: list[TopRow]
    dropped: dict[str, int]
    location_available: bool = False
    isp_available: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def report_period(*, days: int, at: datetime | None = None) -> tuple[date, date]:
    """The last ``days`` UTC days, today included: (first day, last day)."""
    end = services.utc_day(at or services.now())
    return end - timedelta(days=days - 1), end


def daily_totals(*, start: date, end: date) -> list[DailyTotal]:
    """Return the daily totals from ``start`` to ``end`` (one row per day that had visits)."""
    return list(DailyTotal.objects.filter(day__gte=start, day__lte=end).order_by("day"))


def top_values(*, dimension: str, start: date, end: date, limit: int = 10) -> list[tuple[str, int, int]]:
    """Return (value, views, visitor-days) of ``dimension``'s most viewed values over the period."""
    rows = (
        DailyCount.objects.filter(dimension=dimension, day__gte=start, day__lte=end)
        .values("value")
        .annotate(v=Sum("views"), u=Sum("visitors"))
        .order_by("-v", "value")[:limit]
    )
    return [(row["value"], row["v"] or 0, row["u"] or 0) for row in rows]


def search_queries(*, start: date, end: date, limit: int = 20) -> list[tuple[str, int]]:
    """Return (query, visitor-days) of the kept site-search queries over the period."""
    rows = (
        SearchQueryDay.objects.filter(day__gte=start, day__lte=end)
        .values("query")
        .annotate(u=Sum("visitors"))
        .order_by("-u", "query")[:limit]
    )
    return [(row["query"], row["u"] or 0) for row in rows]


def drops(*, start: date, end: date) -> dict[str, int]:
    """Return the hits dropped over the period, by reason (buffer full, rate, write failed)."""
    rows = DropCount.objects.filter(day__gte=start, day__lte=end).values("reason").annotate(n=Sum("count"))
    return {row["reason"]: row["n"] or 0 for row in rows}


def report(*, days: int = 30, at: datetime | None = None, limit: int = 10) -> Report:
    """Return every report of the last ``days`` days, small counts suppressed."""
    k = policy_active().telemetry.search_min_visitors
    start, end = report_period(days=days, at=at)
    totals = daily_totals(start=start, end=end)
    available = geo_locator().available
    top = {
        str(dimension): [
            TopRow(value=value, views=suppress(views, k), visitors=suppress(visitors, k))
            for value, views, visitors in top_values(dimension=dimension, start=start, end=end, limit=limit)
        ]
        for dimension in Dimension.values
    }
    return Report(
        start=start.isoformat(),
        end=end.isoformat(),
        days=days,
        k=k,
        views=suppress(sum(row.views for row in totals), k),
        bot_views=suppress(sum(row.bot_views for row in totals), k),
        per_day=[
            DayRow(day=row.day.isoformat(), views=suppress(row.views, k), visitors=suppress(row.visitors, k))
            for row in totals
        ],
        top=top,
        searches=[
            TopRow(value=query, views=suppress(visitors, k), visitors=suppress(visitors, k))
            for query, visitors in search_queries(start=start, end=end, limit=limit)
        ],
        dropped=drops(start=start, end=end),
        location_available=available["location"],
        isp_available=available["isp"],
    )
