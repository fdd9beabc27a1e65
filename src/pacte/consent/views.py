"""Cookie choices (banner and settings page) and "My consents" in the portal."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from pacte.consent import banner, selectors, services
from pacte.consent.flows import cookie_choice
from pacte.core.errors import PacteError
from pacte.core.i18n import current_language


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return "/"
    return target


@require_http_methods(["GET", "HEAD", "POST"])
def cookies(request: HttpRequest) -> HttpResponse:
    """Show and record this browser's cookie choices: accept all, refuse all, or one by one."""
    purposes = selectors.banner_purposes(lang=current_language())
    state = banner.state_read(request)
    if request.method != "POST":
        return render(
            request,
            "consent/cookies.html",
            {"purposes": purposes, "state": state, "next": _next_url(request)},
        )
    outcome = cookie_choice.cookie_choice_make(
        state=state,
        action=request.POST.get("action", "refuse"),
        purpose=request.POST.get("purpose", ""),
        chosen=request.POST.getlist("purpose"),
        cookies_held=request.COOKIES,
    )
    if request.headers.get("Accept", "").startswith("application/json"):
        response: HttpResponse = JsonResponse(
            {"choices": outcome.choices, "reload": bool(outcome.newly_granted)}
        )
    else:
        messages.success(request, _("Your cookie choices are saved."))
        response = redirect(_next_url(request))
    banner.state_write(response, outcome.state, secure=request.is_secure())
    for name in outcome.cookies_to_delete:
        response.delete_cookie(name, samesite="Lax")
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def my_consents(request: HttpRequest) -> HttpResponse:
    """List each consent purpose with its state and date; grant or withdraw one with a toggle."""
    subject_id = request.user.subject_id  # type: ignore[union-attr]
    if request.method == "POST":
        purpose = request.POST.get("purpose", "")
        granted = request.POST.get("granted") == "1"
        try:
            services.consent_set(subject_id=subject_id, purpose=purpose, granted=granted, source="portal")
        except PacteError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(
                request, _("Your consent is recorded.") if granted else _("Your consent is withdrawn.")
            )
        return redirect("consent:my_consents")
    rows = selectors.consent_list(subject_id=subject_id, lang=current_language(), banner=False)
    restricted = any(row.restricted for row in rows)
    return render(request, "consent/my_consents.html", {"rows": rows, "restricted": restricted})


@login_required
@require_http_methods(["GET", "HEAD"])
def my_receipts(request: HttpRequest) -> HttpResponse:
    """Download a receipt for each consent entry: proof anyone can check offline with our public key."""
    bundle = services.consent_receipts(subject_id=request.user.subject_id)  # type: ignore[union-attr]
    response = HttpResponse(json.dumps(bundle, indent=1, sort_keys=True), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="consent-receipts.json"'
    response["Cache-Control"] = "no-store"
    return response
