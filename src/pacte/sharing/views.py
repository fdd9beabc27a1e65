"""The portal's "Who received my data" (each disclosure of the person, in their language) and the public
transparency report on requests from authorities."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from pacte.core.i18n import current_language
from pacte.policy.selectors import policy_active
from pacte.sharing import app_settings
from pacte.sharing.authority_selectors import authority_transparency
from pacte.sharing.selectors import disclosure_list


@login_required
@require_safe
def my_disclosures(request: HttpRequest) -> HttpResponse:
    """List who received the signed-in person's data, why and what, with the processors the policy names."""
    lang = current_language()
    policy = policy_active()
    recipients = [
        {"name": recipient.name, "kind": recipient.kind, "country": recipient.country}
        for recipient in policy.recipients.values()
    ]
    rows = disclosure_list(subject_id=request.user.subject_id, lang=lang)  # type: ignore[union-attr]
    return render(request, "sharing/my_disclosures.html", {"rows": rows, "recipients": recipients})


@require_safe
def transparency(request: HttpRequest) -> HttpResponse:
    """The public transparency report: authority requests per half-year and kind, small counts hidden."""
    threshold = app_settings.transparency_threshold()
    return render(
        request,
        "sharing/transparency.html",
        {"rows": authority_transparency(threshold=threshold), "threshold": threshold},
    )
