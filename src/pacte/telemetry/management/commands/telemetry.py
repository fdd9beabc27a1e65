"""``pacte telemetry report [--days N] [--json] | rollup [--day YYYY-MM-DD] | purge``."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pacte.telemetry import selectors, services

MAX_DAYS = 800  # 25 months of aggregates, a little more


class Command(BaseCommand):
    help = "Visit statistics for operators: reports (small counts suppressed), rollups and purges."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        report = sub.add_parser(
            "report", help="Visitors, page views and top lists of the last N days (counts below k as '< k')."
        )
        report.add_argument(
            "--days", type=int, default=30, help="How many days back, today included (default 30)."
        )
        report.add_argument("--json", action="store_true", help="Print JSON instead of text.")
        report.add_argument("--limit", type=int, default=10, help="Rows per top list (default 10).")
        rollup = sub.add_parser(
            "rollup", help="Compute the daily aggregates (yesterday and today, or --day)."
        )
        rollup.add_argument("--day", help="One UTC day, YYYY-MM-DD (safe to run again).")
        sub.add_parser(
            "purge",
            help="Delete raw hits, diagnostics past the policy's retention, old aggregates and salts older than 48 hours.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "do_" + options["action"])(options)

    def do_report(self, options: dict) -> None:
        days = options["days"]
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}, not {days}.")
        report = selectors.report(days=days, limit=max(1, options["limit"]))
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
            return
        self.stdout.write(
            f"Visit statistics {report.start} → {report.end} (UTC days; counts below {report.k} as '< {report.k}')"
        )
        self.stdout.write(f"Page views: {report.views}   robots (apart): {report.bot_views}")
        if not report.location_available:
            self.stdout.write(
                "No location database configured (PACTE_GEOIP_CITY_DB): countries and regions stay empty."
            )
        if not report.isp_available:
            self.stdout.write("No provider database configured (PACTE_GEOIP_ASN_DB): providers stay empty.")
        self.stdout.write("\nday         visitors  views")
        for row in report.per_day:
            self.stdout.write(f"{row.day}  {row.visitors!s:>8}  {row.views!s:>5}")
        for dimension, rows in report.top.items():
            self.stdout.write(f"\n{dimension}")
            for top in rows:
                self.stdout.write(f"  {top.views!s:>7} views  {top.visitors!s:>7} visitors  {top.value}")
        self.stdout.write("\nsearch")
        for top in report.searches:
            self.stdout.write(f"  {top.visitors!s:>7} visitors  {top.value}")
        if report.dropped:
            self.stdout.write(
                "\ndropped: " + ", ".join(f"{k} {v}" for k, v in sorted(report.dropped.items()))
            )

    def do_rollup(self, options: dict) -> None:
        if options["day"]:
            try:
                day = date.fromisoformat(options["day"])
            except ValueError:
                raise CommandError(f"--day must read YYYY-MM-DD, not {options['day']!r}.") from None
            results = [services.rollup_day(day=day)]
        else:
            results = services.rollup_recent()
        for result in results:
            self.stdout.write(
                f"{result.day}: {result.hits} hits → {result.counts} aggregates, {result.queries_kept} search queries kept"
            )

    def do_purge(self, options: dict) -> None:
        result = services.purge_all()
        self.stdout.write(
            f"Deleted {result.hits} hits, {result.diagnostics} diagnostics, {result.rollups} old aggregates, "
            f"{result.pending} pending searches; destroyed {result.salts} salts."
        )
