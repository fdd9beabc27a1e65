"""Rollups equal raw counts, the search k-threshold, suppression in reports, purges and the command."""

from __future__ import annotations

import io
import json
import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from pacte.accounts.services import user_create
from pacte.telemetry import selectors, services
from pacte.telemetry.models import DailyCount, DailyTotal, Diagnostic, Hit, SearchPending, SearchQueryDay
from pacte.telemetry.services import DiagnosticData, HitData, SearchData
from pacte.vault import keyring

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
DAY = date(2024, 3, 10)
PASSWORD = "correct horse battery 42"
NOON = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


def _hits(count: int, seed: int = 7) -> list[HitData]:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        rows.append(
            HitData(
                minute=NOON + timedelta(minutes=rng.randrange(-700, 700)),
                path=rng.choice(["/", "/privacy/", "/terms/", "/shop/"]),
                referrer_host=rng.choice(["", "www.example.org", "search.example"]),
                browser=rng.choice(["Firefox", "Chrome"]),
                browser_major=rng.choice(["128", "127"]),
                os=rng.choice(["Linux", "Windows", "Android"]),
                device=rng.choice(["desktop", "mobile"]),
                country=rng.choice(["", "FR", "BE"]),
                region=rng.choice(["", "IDF"]),
                isp=rng.choice(["", "Test Telecom"]),
                visitor_key=f"{rng.randrange(40):032x}",
                is_bot=rng.random() < 0.1,
            )
        )
    return rows


def test_rollups_equal_the_raw_counts_and_running_again_changes_nothing() -> None:
    data = _hits(600)
    services.hits_record(hits=data)
    in_day = [h for h in data if h.minute.date() == DAY]
    humans = [h for h in in_day if not h.is_bot]
    services.rollup_day(day=DAY, at=NOON)

    total = DailyTotal.objects.get(day=DAY)
    assert total.views == len(humans)
    assert total.visitors == len({h.visitor_key for h in humans})
    assert total.bot_views == len(in_day) - len(humans)
    for dimension, column in services.DIMENSION_COLUMNS:
        views: Counter[str] = Counter()
        visitors: dict[str, set[str]] = defaultdict(set)
        for hit in humans:
            value = getattr(hit, column)
            if value:
                views[value] += 1
                visitors[value].add(hit.visitor_key)
        stored = {
            row.value: (row.views, row.visitors)
            for row in DailyCount.objects.filter(day=DAY, dimension=dimension)
        }
        assert stored == {value: (views[value], len(visitors[value])) for value in views}, dimension
    regions = Counter(f"{h.country}/{h.region}" for h in humans if h.region)
    assert {r.value: r.views for r in DailyCount.objects.filter(day=DAY, dimension="region")} == dict(regions)

    before = sorted(DailyCount.objects.filter(day=DAY).values_list("dimension", "value", "views", "visitors"))
    services.rollup_day(day=DAY, at=NOON)
    assert (
        sorted(DailyCount.objects.filter(day=DAY).values_list("dimension", "value", "views", "visitors"))
        == before
    )
    # Raw hits purged: the aggregates stay as they were.
    services.purge_hits(older_than=NOON + timedelta(days=3), batch=50)
    assert Hit.objects.count() == 0
    services.rollup_day(day=DAY, at=NOON + timedelta(days=3))
    assert DailyTotal.objects.get(day=DAY).views == len(humans)
    assert (
        sorted(DailyCount.objects.filter(day=DAY).values_list("dimension", "value", "views", "visitors"))
        == before
    )


def test_a_search_is_kept_only_when_k_distinct_visitors_asked_it_and_nothing_else_remains() -> None:
    searches = [SearchData(query="Chaussures  ROUGES", visitor_key=f"{n:032x}", day=DAY) for n in range(4)]
    searches += [SearchData(query="vélo", visitor_key=f"{n:032x}", day=DAY) for n in range(10, 15)]
    searches += [SearchData(query="Vélo", visitor_key=f"{10:032x}", day=DAY)]  # same visitor again: once
    searches += [SearchData(query="jean@example.fr", visitor_key=f"{n:032x}", day=DAY) for n in range(20, 30)]
    services.hits_record(hits=[], searches=searches)
    assert services.search_record(query="vélo", visitor_key=f"{15:032x}", day=DAY) is True
    assert services.search_record(query="   ", visitor_key=f"{15:032x}", day=DAY) is False
    # No query text is stored while it waits.
    assert not any(
        b"chaussures" in bytes(s) or b"v\xc3\xa9lo" in bytes(s)
        for s in SearchPending.objects.values_list("sealed", flat=True)
    )

    services.rollup_day(day=DAY, at=NOON)  # during the day: kept so far, pending rows wait
    assert list(SearchQueryDay.objects.values_list("query", "visitors")) == [("vélo", 6)]
    assert SearchPending.objects.filter(day=DAY).count() == 10

    services.rollup_day(day=DAY, at=NOON + timedelta(days=1))  # the day is over
    assert list(SearchQueryDay.objects.values_list("query", "visitors")) == [("vélo", 6)]
    assert SearchPending.objects.count() == 0
    services.rollup_day(day=DAY, at=NOON + timedelta(days=1))  # again: same result
    assert list(SearchQueryDay.objects.values_list("query", "visitors")) == [("vélo", 6)]


def test_the_search_parameter_of_a_page_view_reaches_the_k_threshold(settings) -> None:
    from pacte.telemetry.buffer import BUFFER

    settings.PACTE_TELEMETRY = True
    BUFFER.reset()
    for n in range(5):
        Client(REMOTE_ADDR=f"198.51.{n}.1", HTTP_USER_AGENT="Mozilla/5.0 Firefox/128.0").get(
            "/", {"q": "Horaires"}
        )
    Client(REMOTE_ADDR="198.51.9.1").get("/", {"q": "rare query"})
    BUFFER.flush()
    today = services.utc_day(services.now())
    services.rollup_day(day=today, at=services.now() + timedelta(days=1))
    assert list(SearchQueryDay.objects.values_list("query", "visitors")) == [("horaires", 5)]


def test_reports_suppress_small_counts_and_read_only_aggregates() -> None:
    services.hits_record(
        hits=[
            HitData(NOON, "/", "", "Firefox", "128", "Linux", "desktop", "FR", "", "", f"{n:032x}", False)
            for n in range(7)
        ]
        + [HitData(NOON, "/rare/", "x.example", "Lynx", "2", "Linux", "desktop", "", "", "", "f" * 32, False)]
    )
    services.rollup_day(day=DAY, at=NOON)
    Hit.objects.all().delete()  # the report reads aggregates only
    report = selectors.report(days=1, at=NOON)
    assert report.views == 8 and report.per_day[0].visitors == 8
    pages = {row.value: (row.views, row.visitors) for row in report.top["page"]}
    assert pages == {"/": (7, 7), "/rare/": ("< 5", "< 5")}
    assert {row.value: row.views for row in report.top["browser"]} == {"Firefox": 7, "Lynx": "< 5"}
    assert {row.value: row.views for row in report.top["referrer"]} == {"x.example": "< 5"}


def test_the_command_prints_the_report_as_text_and_json_and_rolls_up_and_purges(settings) -> None:
    now = services.now()
    services.hits_record(
        hits=[
            HitData(now, "/", "", "Firefox", "128", "Linux", "desktop", "", "", "", f"{n:032x}", False)
            for n in range(6)
        ]
    )
    out = io.StringIO()
    call_command("telemetry", "rollup", stdout=out)
    assert "6 hits" in out.getvalue()
    out = io.StringIO()
    call_command("telemetry", "report", "--days", "7", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["views"] == 6 and data["top"]["page"] == [{"value": "/", "views": 6, "visitors": 6}]
    assert data["location_available"] is False
    out = io.StringIO()
    call_command("telemetry", "report", stdout=out)
    assert "Page views: 6" in out.getvalue() and "No location database configured" in out.getvalue()
    out = io.StringIO()
    call_command("telemetry", "purge", stdout=out)
    assert out.getvalue().startswith("Deleted 0 hits")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--days must be between 1 and 800"):
        call_command("telemetry", "report", "--days", "0")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("telemetry", "rollup", "--day", "yesterday")


@pytest.mark.parametrize("action", ["report", "rollup", "purge"])
def test_each_subcommand_has_help(action, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        call_command("telemetry", action, "--help")
    assert exit_.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_diagnostics_older_than_the_policy_retention_are_purged_in_batches() -> None:
    now = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
    events = [
        DiagnosticData(
            time=now - timedelta(days=days),
            ip="203.0.113.9",
            request_line="GET / HTTP/1.1",
            status=500,
            kind="error",
        )
        for days in (1, 200, 364, 366, 400, 800)
    ]
    services.diagnostics_record(events=events)
    assert services.diagnostics_retention().text == "P12M"
    assert services.purge_diagnostics(at=now, batch=1) == 3  # older than 12 months: 366, 400, 800 days
    assert sorted((now - t).days for t in Diagnostic.objects.values_list("time", flat=True)) == [1, 200, 364]


def test_salts_are_destroyed_48_hours_after_their_day_began() -> None:
    day = date(2024, 3, 10)
    services.salt_of(day)
    services.salt_of(day + timedelta(days=1))
    start = datetime(2024, 3, 10, tzinfo=UTC)
    assert services.salts_purge(at=start + timedelta(hours=47, minutes=59)) == 0
    assert keyring.dated_secret_exists(services.SALT_PREFIX, day)
    assert services.salts_purge(at=start + timedelta(hours=48)) == 1
    assert not keyring.dated_secret_exists(services.SALT_PREFIX, day)
    assert keyring.dated_secret_exists(services.SALT_PREFIX, day + timedelta(days=1))


def _staff_client(*, permission: bool) -> Client:
    """A staff member signed in the only way there is (password, then TOTP), with or without the permission."""
    from allauth.mfa.totp.internal.auth import (
        TOTP,
        format_hotp_value,
        generate_totp_secret,
        hotp_value,
        yield_hotp_counters_from_time,
    )
    from django.contrib.auth.models import Permission

    staff = user_create(
        email="agent@operator.example", password=PASSWORD, birth_date=None, name="Agent", is_staff=True
    )
    if permission:
        staff.user_permissions.add(Permission.objects.get(codename="view_statistics"))
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/accounts/login/", {"login": "agent@operator.example", "password": PASSWORD})
    code = format_hotp_value(hotp_value(secret, list(yield_hotp_counters_from_time())[-1]))
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    return client


def test_the_staff_page_needs_the_permission_and_says_when_no_location_database_is_set() -> None:
    assert Client().get("/staff/statistics/").status_code == 302  # anonymous: to the sign-in page
    assert _staff_client(permission=False).get("/staff/statistics/").status_code == 403


def test_the_staff_page_shows_suppressed_aggregates_in_french_and_english() -> None:
    services.hits_record(
        hits=[
            HitData(
                services.now(), "/", "", "Firefox", "128", "Linux", "desktop", "", "", "", f"{n:032x}", False
            )
            for n in range(6)
        ]
        + [
            HitData(
                services.now(), "/rare/", "", "Lynx", "2", "Linux", "desktop", "", "", "", "f" * 32, False
            )
        ]
    )
    services.rollup_recent()
    client = _staff_client(permission=True)
    response = client.get("/staff/statistics/?days=7")
    assert response.status_code == 200
    page = response.content.decode()
    assert "No location database is configured" in page and "/rare/" in page and "&lt; 5" in page
    french = client.get("/staff/statistics/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Statistiques de visite" in french.content.decode()
