"""Count page views and note errors and security events, without ever knowing who asked.

A page view is a GET answered 2xx with HTML, outside /admin/, /staff/, /api/ and static files. Nothing
of the request that names a person is read: not the user, not the session, no cookie except the
statistics opt-out and (in consent mode) the banner's answer; the IP address is truncated before it is
hashed with the day's salt, and only looked up (never stored) for the country, region and provider.
Browsers that send ``DNT: 1`` or ``Sec-GPC: 1`` are not counted (PACTE_TELEMETRY_HONOUR_DNT). The hit
goes to an in-process buffer (telemetry/buffer.py); nothing here waits for a database write, and no
failure here ever changes the response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC

from django.http import HttpRequest, HttpResponse

from pacte.consent import banner
from pacte.core.accesslog import redact_path
from pacte.policy.selectors import policy_active
from pacte.telemetry import app_settings, services
from pacte.telemetry.buffer import BUFFER, ERROR
from pacte.telemetry.client import IPAddress, client_ip, truncate_ip
from pacte.telemetry.geo import geo_locator
from pacte.telemetry.models import DiagnosticKind
from pacte.telemetry.normalize import clean_path, referrer_host
from pacte.telemetry.services import DiagnosticData, HitData, SearchData
from pacte.telemetry.useragent import classify

logger = logging.getLogger("pacte.telemetry")

OPT_OUT_COOKIE = "pacte_stats_optout"
OPT_OUT_PATH = "/statistics/opt-out/"  # never counted: whoever opens it may be about to opt out
UA_MAX = 512
QUERY_MAX = 1001  # normalize_query refuses longer queries: cut one past its limit
DIAGNOSTIC_KINDS = {403: DiagnosticKind.FORBIDDEN, 429: DiagnosticKind.THROTTLED}


def consent_purpose_required() -> str | None:
    """Return the statistics purpose when the policy makes it consent-based, else None (exemption mode)."""
    policy = policy_active()
    purpose_id = policy.telemetry.purpose
    if purpose_id is None:
        return None
    purpose = policy.purposes.get(purpose_id)
    return purpose_id if purpose is not None and purpose.consent_required else None


def may_count(request: HttpRequest) -> bool:
    """Tell whether this browser's visits may be counted (DNT/GPC, opt-out cookie, consent mode)."""
    meta = request.META
    if app_settings.honour_dnt() and (
        "1" in (meta.get("HTTP_DNT", "")[:4], meta.get("HTTP_SEC_GPC", "")[:4])
    ):
        return False
    if request.COOKIES.get(OPT_OUT_COOKIE) == "1":
        return False
    purpose = consent_purpose_required()
    return purpose is None or banner.state_read(request).granted(purpose)


def is_page_view(request: HttpRequest, response: HttpResponse) -> bool:
    if request.method != "GET" or not 200 <= response.status_code < 300:
        return False
    if not str(response.get("Content-Type", "")).startswith("text/html"):
        return False
    path = request.path
    if path == OPT_OUT_PATH:
        return False
    return not any(path.startswith(prefix) for prefix in app_settings.skip_prefixes())


def _site(request: HttpRequest) -> str:
    try:
        return request.get_host().lower()
    except Exception:  # a Host the site does not serve (answered 400 already): count under no site
        return ""


def _ip(request: HttpRequest) -> IPAddress | None:
    return client_ip(request.META, trusted_proxies=app_settings.trusted_proxies())


def observe(request: HttpRequest, response: HttpResponse) -> None:
    """Queue a hit or a diagnostic for this request/response when there is one to note."""
    status = response.status_code
    kind = DiagnosticKind.ERROR if status >= 500 else DIAGNOSTIC_KINDS.get(status)
    if kind is not None:
        line = f"{request.method} {redact_path(request.get_full_path())} {request.META.get('SERVER_PROTOCOL', '')}"
        ip = _ip(request)
        BUFFER.add_diagnostic(
            DiagnosticData(
                time=services.now(),
                ip=str(ip) if ip is not None else None,
                request_line=line.strip(),
                status=status,
                kind=kind,
            )
        )
        return
    if not is_page_view(request, response) or not may_count(request):
        return
    moment = services.now().astimezone(UTC)
    day = moment.date()
    ip = _ip(request)
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:UA_MAX]
    agent = classify(user_agent)
    locator = geo_locator()
    available = locator.available
    location = locator.lookup(ip) if ip is not None and (available["location"] or available["isp"]) else None
    site = _site(request)
    key = services.visitor_key(
        salt=services.salt_of(day),
        site=site,
        truncated_ip=truncate_ip(ip) if ip else "",
        user_agent=user_agent,
    )
    path = clean_path(request.path)
    hit = HitData(
        minute=moment.replace(second=0, microsecond=0),
        path=path,
        referrer_host=referrer_host(
            request.META.get("HTTP_REFERER", ""), own_hosts={site.rsplit(":", 1)[0], site}
        )
        or "",
        browser=agent.browser or "",
        browser_major=str(agent.browser_major or ""),
        os=agent.os or "",
        device=agent.device or "",
        country=(location.country if location else "") or "",
        region=(location.region if location else "") or "",
        isp=(location.isp if location else "") or "",
        visitor_key=key,
        is_bot=bool(agent.is_bot),
    )
    search = None
    param = app_settings.search_param()
    wanted = app_settings.search_path()
    if param in request.GET and not agent.is_bot and (not wanted or request.path == wanted):
        query = request.GET.get(param, "")[:QUERY_MAX]
        if query.strip():
            search = SearchData(query=query, visitor_key=key, day=day)
    BUFFER.add_hit(hit, search)


class TelemetryMiddleware:
    """Note page views and diagnostics after the response is built; never alter or fail the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if app_settings.enabled():
            try:
                observe(request, response)
            except (
                Exception
            ) as error:  # garbage input or a broken location database: count it, serve the page
                logger.warning("telemetry: a request could not be counted (%s)", type(error).__name__)
                BUFFER.count_drop(ERROR)
        return response
