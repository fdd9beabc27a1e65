"""Truthful disclosures: each gateway call is given only the fields it really sends (``Gateway.sends``), the
ledger records exactly their categories, and only once the call reached the gateway — a host the policy
refuses, or a gateway that is down, leaves no ``disclosure`` entry for data never sent."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from tests.live import free_port

from pacte.billing.flows.accounts import gateway_account_open
from pacte.billing.flows.payment import payment_start
from pacte.billing.gateways import gateway_get, gateway_names, gateways_reset
from pacte.billing.gateways.base import PAYLOAD_FIELDS
from pacte.billing.models import GatewayCustomer, PaymentAttempt
from pacte.billing.tests.conftest import (
    DBS,
    localstripe_log_size,
    localstripe_requests,
    payable_for,
    stripe_client,
)
from pacte.core.errors import PacteError
from pacte.ledger.models import Entry

pytestmark = pytest.mark.django_db(databases=DBS)
REPO = Path(__file__).resolve().parents[4]
PERSONAL_KEYS = {"email_address", "name", "given_name", "surname", "email"}


def _disclosures(subject_id) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [e.payload for e in Entry.objects.filter(type="disclosure", subject_id=subject_id).order_by("seq")]


def _spy(monkeypatch, gateway: str, call: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Record the payload each ``call`` of ``gateway`` is given by the flows."""
    implementation = gateway_get(gateway)
    real = getattr(implementation, call)
    given: list[dict[str, Any]] = []

    def spied(**kwargs):  # type: ignore[no-untyped-def]
        given.append(dict(kwargs["payload"]))
        return real(**kwargs)

    monkeypatch.setattr(implementation, call, spied)
    return given


def test_every_gateway_declares_what_its_personal_calls_send() -> None:
    for name in gateway_names():
        sends = gateway_get(name).sends
        assert {"customer_create", "payment_create"} <= set(sends), name
        assert all(fields <= PAYLOAD_FIELDS for fields in sends.values()), name
    assert gateway_get("paypal").sent_fields("customer_create") == frozenset()
    assert gateway_get("stripe").sent_fields("customer_create") == {"email", "name"}
    assert "email" not in gateway_get("stripe").sent_fields("payment_create")


def test_opening_a_paypal_account_sends_and_discloses_nothing_about_the_person(
    paypal_gateway, customer, monkeypatch
) -> None:
    subject = customer()
    calls_before = len(paypal_gateway.state()["calls"])
    given = _spy(monkeypatch, "paypal", "customer_create")

    account = gateway_account_open(
        subject_id=subject, gateway="paypal", email="ada@example.com", name="Ada Lovelace", actor="system"
    )

    assert given == [{}]
    [setup] = [
        c for c in paypal_gateway.state()["calls"][calls_before:] if c["path"] == "/v3/vault/setup-tokens"
    ]
    assert not PERSONAL_KEYS & {key.rsplit(".", 1)[-1] for key in setup["keys"]}
    assert account.customer_ref in paypal_gateway.state()["customers"]
    assert _disclosures(subject) == []  # no contact.email: it never left
    assert Entry.objects.filter(type="payment_account.state", subject_id=subject).count() == 1


def test_opening_a_stripe_account_discloses_exactly_what_the_customer_carries(
    stripe_gateway, customer, monkeypatch
) -> None:

    subject = customer()
    given = _spy(monkeypatch, "stripe", "customer_create")
    account = gateway_account_open(
        subject_id=subject, gateway="stripe", email="ada@example.com", name="", actor="system"
    )
    assert given == [{"email": "ada@example.com"}]
    at_stripe = stripe_client(stripe_gateway).v1.customers.retrieve(str(account.customer_ref))
    assert (at_stripe.email, at_stripe.name) == ("ada@example.com", None)
    assert _disclosures(subject) == [
        {"recipient": "stripe", "purpose": "payment", "categories": ["contact.email"]}
    ]


def test_a_stripe_host_the_policy_refuses_leaves_no_disclosure_entry(
    stripe_gateway, customer, settings
) -> None:
    settings.PACTE_POLICY_FILE = str(REPO / "policies" / "plusuite.toml")  # api.stripe.com only
    gateways_reset()
    payable = payable_for(customer())
    since = localstripe_log_size()

    with pytest.raises(PacteError) as refused:
        payment_start(payable=payable, country="FR", actor="system")

    assert refused.value.code == "sharing.undeclared_host"
    time.sleep(0.3)
    assert localstripe_requests(since) == []
    assert _disclosures(payable.subject_id) == []
    assert not GatewayCustomer.objects.filter(subject_id=payable.subject_id).exists()


def test_a_paypal_host_the_policy_refuses_leaves_no_disclosure_entry_for_the_order(
    paypal_gateway, customer, settings
) -> None:
    payable = payable_for(customer())
    gateway_account_open(
        subject_id=payable.subject_id, gateway="paypal", email="a@example.com", name="", actor="system"
    )
    settings.PACTE_POLICY_FILE = str(REPO / "policies" / "plusuite.toml")  # PayPal's own hosts only
    gateways_reset()
    orders_before = len(paypal_gateway.state()["orders"])

    with pytest.raises(PacteError) as refused:
        payment_start(payable=payable, country="FR", actor="system")

    assert refused.value.code == "sharing.undeclared_host"
    assert len(paypal_gateway.state()["orders"]) == orders_before
    assert _disclosures(payable.subject_id) == []
    # The attempt stays "created" (nothing reached PayPal): a retry reuses it with the same key.
    assert PaymentAttempt.objects.get(reference=payable.reference).state == "created"


def test_a_gateway_that_is_down_leaves_no_disclosure_entry(stripe_gateway, customer, settings) -> None:
    settings.PACTE_STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # declared host, nobody listening
    settings.PACTE_STRIPE_MAX_RETRIES = 0
    gateways_reset()
    payable = payable_for(customer())

    with pytest.raises(PacteError) as down:
        payment_start(payable=payable, country="FR", actor="system")

    assert down.value.code == "billing.gateway_unavailable"
    assert _disclosures(payable.subject_id) == []
    assert not GatewayCustomer.objects.filter(subject_id=payable.subject_id).exists()
