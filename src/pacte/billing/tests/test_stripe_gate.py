"""Stripe's SDK talks only through the sharing gate: every request localstripe receives went through
``sharing.http.send``, each one carrying personal data has its ``disclosure`` entry, and a host the
policy does not declare is refused before anything leaves."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pacte.billing.flows.orders import TypedCard, order_pay
from pacte.billing.gateways import gateway_get, gateways_reset
from pacte.billing.models import PaymentAttempt
from pacte.billing.tests.conftest import DBS, localstripe_log_size, localstripe_requests
from pacte.commerce.tests.helpers import customer_make, product_make
from pacte.commerce.tests.test_orders import order_make
from pacte.core.errors import PacteError
from pacte.ledger.models import Entry
from pacte.sharing import http

pytestmark = pytest.mark.django_db(databases=DBS)
REPO = Path(__file__).resolve().parents[4]
# The SDK calls that carry a person's data (billing.services.payment_data / gateway_account_data).
PERSONAL = {"POST /v1/customers", "POST /v1/payment_intents"}


def _settled(since: int, count: int) -> list[str]:
    """localstripe's access log, once it holds ``count`` lines (it is written just after each answer)."""
    deadline = time.monotonic() + 5
    lines = localstripe_requests(since)
    while len(lines) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        lines = localstripe_requests(since)
    return lines


def test_every_request_localstripe_receives_went_through_the_gate_and_personal_ones_are_disclosed(
    stripe_gateway, monkeypatch
) -> None:
    sent: list[tuple[str, str]] = []
    real_send = http.send

    def counted(**kwargs):
        sent.append((kwargs["recipient"], kwargs["method"].upper()))
        return real_send(**kwargs)

    monkeypatch.setattr(http, "send", counted)
    user = customer_make(email="ada@example.fr", name="Ada Lovelace")
    order = order_make(user, {product_make("audit", 49000).pk: 1})
    since = localstripe_log_size()

    attempt = order_pay(
        order=order, actor="system", card=TypedCard("4242424242424242", 12, 2031, "314"), save=True
    )

    assert attempt.state == "processing" and attempt.gateway == "stripe"
    received = _settled(since, len(sent))
    assert len(received) == len(sent) >= 6  # card, customer, intent, attach, confirm, saved card details
    assert {recipient for recipient, _method in sent} == {"stripe"}
    personal = [line for line in received if line in PERSONAL]
    disclosures = Entry.objects.filter(type="disclosure", subject_id=user.subject_id)
    assert len(personal) == disclosures.count() == 2
    assert {e.payload["recipient"] for e in disclosures} == {"stripe"}


def test_a_stripe_host_the_policy_does_not_declare_is_refused_and_nothing_reaches_it(
    stripe_gateway, settings
) -> None:
    settings.PACTE_POLICY_FILE = str(REPO / "policies" / "plusuite.toml")  # api.stripe.com only
    gateways_reset()
    since = localstripe_log_size()
    with pytest.raises(PacteError) as refused:
        gateway_get("stripe").customer_create(payload={"email": "ada@example.fr"}, idempotency_key="k-1")
    assert refused.value.code == "sharing.undeclared_host"
    time.sleep(0.3)
    assert localstripe_requests(since) == []
    assert not PaymentAttempt.objects.exists()
