"""The middleware: what a page view leaves behind, what is never counted, floods and garbage input."""

from __future__ import annotations

import datetime
from ipaddress import ip_address

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacte.telemetry import services
from pacte.telemetry.buffer import BUFFER
from pacte.telemetry.client import truncate_ip
from pacte.telemetry.middleware import OPT_OUT_COOKIE, TelemetryMiddleware
from pacte.telemetry.models import Diagnostic, DropCount, Hit
from pacte.telemetry.tests.conftest import FIREFOX, consent_mode_policy

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
VISITOR = "203.0.113.7"


def _hits() -> list[Hit]:
    BUFFER.flush()
    return list(Hit.objects.order_by("id"))


def _client(**extra: str) -> Client:
    extra.setdefault("HTTP_USER_AGENT", FIREFOX)
    extra.setdefault("REMOTE_ADDR", VISITOR)
    return Client(HTTP_ACCEPT_LANGUAGE="en", **extra)


def test_a_page_view_keeps_the_page_the_referrer_host_the_browser_and_a_day_key_only(telemetry) -> None:
    response = _client().get(
        "/privacy/?utm_source=mail&token=abc", HTTP_REFERER="https://www.example.org/a/b?x=1"
    )
    assert response.status_code == 200 and set(response.cookies) <= {"csrftoken"}  # none for counting

    [hit] = _hits()
    assert hit.path == "/privacy/"  # no query string
    assert hit.referrer_host == "www.example.org"
    assert hit.minute.second == 0 and hit.minute.microsecond == 0
    assert hit.is_bot is False and hit.browser
    day = hit.minute.date()
    assert hit.visitor_key == services.visitor_key(
        salt=services.salt_of(day),
        site="testserver",
        truncated_ip=truncate_ip(ip_address(VISITOR)),
        user_agent=FIREFOX,
    )
    stored = [str(getattr(hit, f.attname)) for f in Hit._meta.concrete_fields]
    assert VISITOR not in stored and all(VISITOR not in value for value in stored)


def test_the_same_visitor_has_one_key_a_day_and_another_key_the_next_day(telemetry) -> None:
    client = _client()
    client.get("/")
    client.get("/privacy/")
    _client(REMOTE_ADDR="198.51.100.20").get("/")
    hits = _hits()
    assert len(hits) == 3
    assert hits[0].visitor_key == hits[1].visitor_key != hits[2].visitor_key
    today = hits[0].minute.date()
    tomorrow = services.visitor_key(
        salt=services.salt_of(today + datetime.timedelta(days=1)),
        site="testserver",
        truncated_ip=truncate_ip(ip_address(VISITOR)),
        user_agent=FIREFOX,
    )
    assert tomorrow != hits[0].visitor_key


def test_admin_staff_api_static_posts_errors_and_non_html_are_not_page_views(telemetry) -> None:
    client = _client()
    assert client.get("/admin/").status_code in (200, 302)
    client.get("/staff/statistics/")
    client.get("/api/v1/openapi.json")
    client.get("/static/core/site.css")
    client.get("/healthz")  # not HTML
    client.get("/no-such-page/")  # 404
    client.post("/cookies/", {"action": "refuse", "next": "/"})
    assert _hits() == []


@pytest.mark.parametrize("header", ["HTTP_DNT", "HTTP_SEC_GPC"])
def test_do_not_track_and_global_privacy_control_are_honoured_unless_turned_off(
    telemetry, settings, header
) -> None:
    _client(**{header: "1"}).get("/")
    assert _hits() == []
    _client(**{header: "0"}).get("/")
    assert len(_hits()) == 1
    settings.PACTE_TELEMETRY_HONOUR_DNT = False
    _client(**{header: "1"}).get("/")
    assert len(_hits()) == 2


def test_the_opt_out_link_sets_a_declared_cookie_and_stops_counting_and_opting_in_again_resumes(
    telemetry,
) -> None:
    client = _client()
    page = client.get("/statistics/opt-out/")
    assert page.status_code == 200
    client.post("/statistics/opt-out/", {"choice": "out"})
    assert OPT_OUT_COOKIE in client.cookies
    client.get("/")
    client.get("/privacy/")
    assert _hits() == []
    client.post("/statistics/opt-out/", {"choice": "in"})
    client.get("/")
    assert [hit.path for hit in _hits()] == ["/"]


def test_in_consent_mode_no_hit_is_recorded_before_the_banner_yes(telemetry, settings, tmp_path) -> None:
    settings.PACTE_POLICY_FILE = str(consent_mode_policy(tmp_path))
    client = _client()
    client.get("/")
    client.post("/cookies/", {"action": "refuse", "next": "/"})
    client.get("/privacy/")
    assert _hits() == []
    client.post("/cookies/", {"action": "accept", "next": "/"})
    client.get("/terms/")
    assert [hit.path for hit in _hits()] == ["/terms/"]


def test_an_untrusted_forwarded_for_is_ignored_and_a_trusted_proxy_is_believed(telemetry, settings) -> None:
    _client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=VISITOR).get("/")
    settings.PACTE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    _client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=VISITOR).get("/")
    first, second = _hits()
    day = first.minute.date()

    def key(ip: str) -> str:
        return services.visitor_key(
            salt=services.salt_of(day),
            site="testserver",
            truncated_ip=truncate_ip(ip_address(ip)),
            user_agent=FIREFOX,
        )

    assert first.visitor_key == key("10.0.0.5")
    assert second.visitor_key == key(VISITOR)


def test_a_flood_from_one_visitor_is_dropped_over_the_rate_and_counted(telemetry, settings) -> None:
    settings.PACTE_TELEMETRY_RATE = 5
    client = _client()
    for _ in range(12):
        assert client.get("/").status_code == 200
    _client(REMOTE_ADDR="198.51.100.20").get("/")  # another visitor is not held back
    assert len(_hits()) == 6
    assert DropCount.objects.get(reason="rate").count == 7


def test_a_full_buffer_drops_and_counts_and_the_pages_are_served(telemetry, settings) -> None:
    settings.PACTE_TELEMETRY_BUFFER_MAX = 3
    for index in range(5):
        assert _client(REMOTE_ADDR=f"198.51.100.{index}").get("/").status_code == 200
    assert len(_hits()) == 3
    assert DropCount.objects.get(reason="full").count == 2


def test_a_batch_is_written_when_the_response_closes_once_it_is_full(telemetry, settings) -> None:
    settings.PACTE_TELEMETRY_BATCH = 3
    client = _client()
    client.get("/")
    client.get("/privacy/")
    assert Hit.objects.count() == 0 and BUFFER.pending() == 2
    client.get("/terms/")  # the third fills the batch: written after its response was closed
    assert Hit.objects.count() == 3 and BUFFER.pending() == 0


def test_errors_and_refused_requests_are_diagnostics_with_the_full_address_and_no_account(telemetry) -> None:
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=VISITOR, HTTP_USER_AGENT=FIREFOX)
    response = client.post("/cookies/?next=/account/", {"action": "refuse"})
    assert response.status_code == 403
    BUFFER.flush()
    [event] = Diagnostic.objects.all()
    assert event.ip == VISITOR and event.status == 403 and event.kind == "forbidden"
    assert event.request_line == "POST /cookies/?:query HTTP/1.1"
    assert {f.name for f in Diagnostic._meta.get_fields()} == {
        "id",
        "time",
        "ip",
        "request_line",
        "status",
        "kind",
    }


def _html(request):  # a page for the middleware alone
    return HttpResponse("<p>ok</p>", content_type="text/html; charset=utf-8")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    user_agent=st.text(max_size=3000),
    referer=st.text(max_size=3000),
    forwarded=st.text(max_size=200),
    remote=st.one_of(st.text(max_size=60), st.ip_addresses().map(str)),
    path=st.text(min_size=1, max_size=300),
    dnt=st.text(max_size=5),
    query=st.text(max_size=1000),
)
def test_garbage_headers_never_fail_the_page(
    telemetry, user_agent, referer, forwarded, remote, path, dnt, query
) -> None:
    cache.clear()
    factory = RequestFactory()
    safe = "/" + "".join(ch for ch in path if ch.isprintable() and ch not in "?#").lstrip("/")
    try:
        request = factory.get(safe, {"q": query})
    except Exception:
        return  # the test client itself refuses this path: no request reaches Pacte
    for key, value in {
        "HTTP_USER_AGENT": user_agent,
        "HTTP_REFERER": referer,
        "HTTP_X_FORWARDED_FOR": forwarded,
        "REMOTE_ADDR": remote,
        "HTTP_DNT": dnt,
    }.items():
        request.META[key] = value
    response = TelemetryMiddleware(_html)(request)
    assert response.status_code == 200 and response.content == b"<p>ok</p>"
    BUFFER.flush()
    for hit in Hit.objects.all():
        assert len(hit.path) <= 512 and len(hit.referrer_host) <= 255 and len(hit.visitor_key) == 32
    assert not DropCount.objects.filter(reason="write").exists()


def test_the_notice_links_to_the_opt_out_page_in_both_languages() -> None:
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/privacy/").content.decode()
    assert 'href="/statistics/opt-out/"' in english and "how to opt out" in english
    french = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/privacy/").content.decode()
    assert 'href="/statistics/opt-out/"' in french and "comment les refuser" in french
    page = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/statistics/opt-out/").content.decode()
    assert "Ne pas compter mes visites" in page
