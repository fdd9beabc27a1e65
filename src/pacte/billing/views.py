"""Billing's pages and endpoints: gateways' webhooks, and My account → Payment accounts."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from pacte.billing.flows.accounts import gateway_account_close
from pacte.billing.flows.webhook import webhook_receive
from pacte.billing.gateways import gateway_names
from pacte.billing.selectors import gateway_account_list
from pacte.core.errors import PacteError

MAX_WEBHOOK_BYTES = 256 * 1024
GATEWAY_LABELS = {"sandbox": "Sandbox", "stripe": "Stripe Payments", "paypal": "PayPal"}


@csrf_exempt  # the gateway cannot hold a CSRF token: its signature is checked instead
@require_POST
def webhook(request: HttpRequest, gateway: str) -> HttpResponse:
    """Receive one notification of ``gateway``: 200 once handled (or already), 400 if it does not verify."""
    if gateway not in gateway_names():
        return JsonResponse({"error": "unknown gateway"}, status=404)
    if int(request.headers.get("Content-Length") or 0) > MAX_WEBHOOK_BYTES:
        return JsonResponse({"error": "too large"}, status=413)
    try:
        outcome = webhook_receive(gateway=gateway, body=request.body, headers=request.headers)
    except PacteError as error:
        return JsonResponse({"error": error.code}, status=error.status)
    return JsonResponse({"received": True, "outcome": outcome})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def payment_accounts(request: HttpRequest) -> HttpResponse:
    """List the holder's accounts at payment gateways; POST ``account`` deactivates one."""
    subject_id = request.user.subject_id  # type: ignore[union-attr]
    if request.method == "POST":
        try:
            account = gateway_account_close(
                holder_subject_id=subject_id,
                account_id=uuid.UUID(request.POST.get("account", "")),
                actor=f"subject:{subject_id}",
            )
        except PacteError as error:
            messages.error(request, str(error.message))
        except ValueError:
            messages.error(request, _("There is no such payment account."))
        else:
            messages.success(
                request,
                _("Your %(gateway)s account is deleted at the payment service.")
                % {"gateway": GATEWAY_LABELS.get(account.gateway, account.gateway)},
            )
        return redirect("billing:payment_accounts")
    rows = [
        {"account": account, "label": GATEWAY_LABELS.get(account.gateway, account.gateway)}
        for account in gateway_account_list(subject_id=subject_id)
    ]
    return render(request, "billing/payment_accounts.html", {"rows": rows})
