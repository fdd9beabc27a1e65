"""The statistics opt-out page (linked from the notice) and the staff statistics page."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from pacte.policy.selectors import policy_active
from pacte.telemetry import selectors
from pacte.telemetry.middleware import OPT_OUT_COOKIE, consent_purpose_required
from pacte.telemetry.models import Dimension

OPT_OUT_DAYS = 395  # 13 months: the longest a cookie may live (policy rule, CNIL)
REPORT_DAYS = (7, 30, 90, 365)


@require_http_methods(["GET", "HEAD", "POST"])
def opt_out(request: HttpRequest) -> HttpResponse:
    """Let a visitor stop (or resume) being counted in the visit statistics, with one cookie."""
    opted_out = request.COOKIES.get(OPT_OUT_COOKIE) == "1"
    changed = False
    if request.method == "POST":
        opted_out = request.POST.get("choice") == "out"
        changed = True
    response = render(
        request,
        "telemetry/opt_out.html",
        {
            "opted_out": opted_out,
            "changed": changed,
            "consent_mode": consent_purpose_required() is not None,
            "k": policy_active().telemetry.search_min_visitors,
        },
    )
    if changed and opted_out:
        response.set_cookie(
            OPT_OUT_COOKIE,
            "1",
            max_age=OPT_OUT_DAYS * 24 * 3600,
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
    elif changed:
        response.delete_cookie(OPT_OUT_COOKIE, samesite="Lax")
    return response


@staff_member_required
@permission_required("telemetry.view_statistics", raise_exception=True)
@require_http_methods(["GET", "HEAD"])
def staff_statistics(request: HttpRequest) -> HttpResponse:
    """Visitors, page views and the top lists of the last N days, small counts suppressed."""
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 30
    if days not in REPORT_DAYS:
        days = 30
    report = selectors.report(days=days)
    labels = dict(Dimension.choices)
    return render(
        request,
        "telemetry/staff_statistics.html",
        {
            "report": report,
            "days": days,
            "choices": REPORT_DAYS,
            "tops": [(labels[key], rows) for key, rows in report.top.items()],
        },
    )
