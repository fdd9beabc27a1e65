"""Subscribe (double opt-in), confirm, one-click unsubscribe (RFC 8058), and the staff mail page."""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from pacte.core.errors import PacteError
from pacte.core.i18n import current_language
from pacte.messaging import error_codes, selectors, services
from pacte.policy.selectors import policy_active


def _purpose_label(purpose: str) -> str:
    found = policy_active().purposes.get(purpose)
    return found.label.get(current_language()) if found else purpose


class SubscribeForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    purposes = forms.MultipleChoiceField(
        label=_("What would you like to receive?"), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["purposes"].choices = selectors.mail_purpose_list(lang=current_language())  # type: ignore[attr-defined]


@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    """Subscribe without an account (only when the policy declares mail purposes, e.g. a newsletter).

    The same page answers whether a confirmation was queued or one is already pending; too many requests
    (from this client, or for this address) get an explained 429 and queue nothing.
    """
    if not selectors.mail_purpose_list():
        raise Http404("This site sends no newsletter.")
    form = SubscribeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.subscribe_request(
                email=form.cleaned_data["email"],
                purposes=form.cleaned_data["purposes"],
                lang=current_language(),
                client=get_adapter(request).get_client_ip(request),
            )
        except PacteError as error:
            if error.code != error_codes.TOO_MANY:
                raise
            response = render(
                request,
                "messaging/pages/subscribe.html",
                {"form": form, "refused": error.message},
                status=429,
            )
            response["Retry-After"] = "3600"
            return response
        return render(request, "messaging/pages/subscribe.html", {"sent": True})
    return render(request, "messaging/pages/subscribe.html", {"form": form})


@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners follow links); the POST confirms."""
    if request.method == "POST":
        services.subscribe_confirm(token=token)
        return render(request, "messaging/pages/confirm.html", {"done": True})
    return render(request, "messaging/pages/confirm.html", {"done": False})


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" without any cookie
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """POST unsubscribes at once, without signing in; GET shows a one-button confirmation page."""
    purpose = selectors.unsubscribe_token_read(token=token)[1]
    if request.method == "POST":
        services.unsubscribe(token=token)
        return render(
            request, "messaging/pages/unsubscribe.html", {"done": True, "purpose": _purpose_label(purpose)}
        )
    return render(
        request, "messaging/pages/unsubscribe.html", {"done": False, "purpose": _purpose_label(purpose)}
    )


class CampaignForm(forms.Form):
    template = forms.ChoiceField(label=_("Template"))
    purpose = forms.ChoiceField(label=_("List"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["template"].choices = list(services.CAMPAIGN_TEMPLATES.items())  # type: ignore[attr-defined]
        self.fields["purpose"].choices = selectors.mail_purpose_list(lang=current_language())  # type: ignore[attr-defined]


@staff_member_required
@require_http_methods(["GET", "HEAD", "POST"])
def staff_mail(request: HttpRequest) -> HttpResponse:
    """The demo operator's view of the outbox, and the campaign form (declared templates only)."""
    form = CampaignForm(request.POST or None)
    campaign = None
    if request.method == "POST" and form.is_valid():
        campaign = services.campaign_send(
            template=form.cleaned_data["template"],
            purpose=form.cleaned_data["purpose"],
            started_by=f"staff:{request.user.pk}",
        )
    return render(
        request,
        "messaging/pages/staff_mail.html",
        {
            "form": form,
            "campaign": campaign,
            "messages_list": selectors.outbox_list(limit=50),
        },
        status=400 if request.method == "POST" and not form.is_valid() else 200,
    )
