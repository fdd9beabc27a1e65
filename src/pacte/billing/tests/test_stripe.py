"""The Stripe gateway through the official SDK, against localstripe running as its own process."""

from __future__ import annotations

import time
import uuid

import pytest
import stripe

from pacte.accounts.models import User
from pacte.accounts.selectors import account_contact
from pacte.billing.flows.accounts import gateway_account_close, gateway_accounts_open
from pacte.billing.flows.payment import payment_pay, payment_refund, payment_start
from pacte.billing.gateways import gateway_get, gateways_reset
from pacte.billing.models import GatewayCustomer, PaymentAttempt
from pacte.billing.tests.conftest import (
    DBS,
    payable_for,
    stripe_card,
    stripe_client,
    stripe_event,
    stripe_signed,
)
from pacte.core.errors import PacteError
from pacte.ledger.models import Entry
from pacte.subjects.models import Subject
from pacte.subjects.registry import registrations

pytestmark = pytest.mark.django_db(databases=DBS)
ACTOR = "system"


def _post(client, event: dict, **sign):  # type: ignore[no-untyped-def]
    body, signature = stripe_signed(event, **sign)
    return client.post(
        "/billing/webhooks/stripe/",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    )


def _intent(base: str, gateway_id: str) -> dict:
    return stripe_client(base).v1.payment_intents.retrieve(gateway_id).to_dict()


def test_a_card_payment_at_localstripe_is_paid_by_its_signed_webhook(
    stripe_gateway, customer, client, outcomes
) -> None:
    payable = payable_for(customer(), amount=4200, lines=("Plan Pro, 1 year",))
    started = payment_start(payable=payable, country="FR", actor=ACTOR)
    assert started.client_secret.startswith(started.attempt.gateway_id)  # for Stripe.js, never stored
    intent = _intent(stripe_gateway, started.attempt.gateway_id)
    assert (intent["amount"], intent["currency"], intent["status"]) == (
        4200,
        "eur",
        "requires_payment_method",
    )
    assert intent["metadata"] == {"pacte_reference": str(payable.reference), "lines": "Plan Pro, 1 year"}
    customer_at_stripe = stripe_client(stripe_gateway).v1.customers.retrieve(intent["customer"])
    assert (customer_at_stripe.email, customer_at_stripe.name) == ("ada@example.com", "Ada Lovelace")

    payment_pay(attempt_id=started.attempt.id, payment_method=stripe_card(stripe_gateway), actor=ACTOR)
    intent = _intent(stripe_gateway, started.attempt.gateway_id)
    assert intent["status"] == "succeeded"
    assert PaymentAttempt.objects.get(pk=started.attempt.id).state == "processing"  # the webhook decides

    response = _post(client, stripe_event("payment_intent.succeeded", intent))
    assert response.status_code == 200 and response.json()["outcome"] == "applied"
    assert PaymentAttempt.objects.get(pk=started.attempt.id).state == "paid"
    assert outcomes == [("paid", payable.reference, 4200, 0)]
    disclosures = [
        e.payload
        for e in Entry.objects.filter(type="disclosure", subject_id=payable.subject_id).order_by("seq")
    ]
    # The Customer carries the e-mail address and name; the PaymentIntent only the order and the customer id.
    assert disclosures == [
        {"recipient": "stripe", "purpose": "payment", "categories": ["contact.email", "identity.name"]},
        {
            "recipient": "stripe",
            "purpose": "payment",
            "categories": ["billing.payment_token", "commerce.orders"],
        },
    ]
    assert not intent.get("receipt_email")


def test_a_card_declined_at_localstripe_fails_the_payment(stripe_gateway, customer, outcomes) -> None:
    payable = payable_for(customer())
    attempt = payment_start(payable=payable, country="FR", actor=ACTOR).attempt
    with pytest.raises(PacteError) as refused:
        payment_pay(
            attempt_id=attempt.id, payment_method=stripe_card(stripe_gateway, "4000000000000341"), actor=ACTOR
        )
    assert refused.value.code == "billing.gateway_error"
    assert PaymentAttempt.objects.get(pk=attempt.id).state == "failed"
    assert [o[0] for o in outcomes] == ["failed"]


def test_forged_wrong_secret_late_and_replayed_stripe_webhooks_change_nothing(
    stripe_gateway, customer, client, caplog
) -> None:
    attempt = payment_start(payable=payable_for(customer()), country="FR", actor=ACTOR).attempt
    intent = _intent(stripe_gateway, attempt.gateway_id) | {"status": "succeeded"}
    event = stripe_event("payment_intent.succeeded", intent)
    entries = Entry.objects.count()
    assert _post(client, event, secret="whsec_not_the_endpoints").status_code == 400
    assert _post(client, event, timestamp=int(time.time()) - 301).status_code == 400
    unsigned = client.post("/billing/webhooks/stripe/", data=b"{}", content_type="application/json")
    assert unsigned.status_code == 400
    assert PaymentAttempt.objects.get(pk=attempt.id).state == "pending" and Entry.objects.count() == entries
    refused = [r.getMessage() for r in caplog.records if r.name == "pacte.billing"]
    assert refused == [
        "billing webhook refused: gateway=stripe reason=bad_signature",
        "billing webhook refused: gateway=stripe reason=timestamp_outside_tolerance",
        "billing webhook refused: gateway=stripe reason=no_signature",
    ]
    assert _post(client, event).json()["outcome"] == "applied"
    assert _post(client, event).json()["outcome"] == "duplicate"  # replayed, even freshly signed
    assert PaymentAttempt.objects.get(pk=attempt.id).state == "paid"


def test_refunds_at_localstripe_and_their_late_webhook_count_once(
    stripe_gateway, customer, client, outcomes
) -> None:
    payable = payable_for(customer(), amount=1000)
    attempt = payment_start(payable=payable, country="FR", actor=ACTOR).attempt
    payment_pay(attempt_id=attempt.id, payment_method=stripe_card(stripe_gateway), actor=ACTOR)
    _post(client, stripe_event("payment_intent.succeeded", _intent(stripe_gateway, attempt.gateway_id)))
    staff = f"staff:{uuid.uuid4()}"
    assert payment_refund(attempt_id=attempt.id, amount=400, actor=staff).state == "partially_refunded"
    refunds = stripe_client(stripe_gateway).v1.refunds.list(params={"payment_intent": attempt.gateway_id})
    assert [r.amount for r in refunds.data] == [400]
    # localstripe sends no charge.refunded: the test sends Stripe's, late (cumulative amount 400).
    charge = {
        "id": "ch_x",
        "object": "charge",
        "payment_intent": attempt.gateway_id,
        "amount_refunded": 400,
        "currency": "eur",
    }
    assert _post(client, stripe_event("charge.refunded", charge)).json()["outcome"] == "stale"
    assert payment_refund(attempt_id=attempt.id, amount=None, actor=staff).state == "refunded"
    assert PaymentAttempt.objects.get(pk=attempt.id).refunded_amount == 1000
    assert [o[0] for o in outcomes] == ["paid", "partially_refunded", "refunded"]


def test_a_gateway_that_does_not_answer_leaves_the_payment_created_and_a_retry_makes_one(
    stripe_gateway, customer, settings
) -> None:
    from tests.live import free_port

    payable = payable_for(customer())
    gateway_get("stripe")  # the account is opened while the gateway answers
    payment_start(payable=payable, country="FR", actor=ACTOR, gateway="stripe")
    other = payable_for(payable.subject_id)
    settings.PACTE_STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    settings.PACTE_STRIPE_MAX_RETRIES = 0
    gateways_reset()
    with pytest.raises(PacteError) as down:
        payment_start(payable=other, country="FR", actor=ACTOR)
    assert (down.value.code, down.value.status) == ("billing.gateway_unavailable", 503)
    [waiting] = PaymentAttempt.objects.filter(reference=other.reference)
    assert (waiting.state, waiting.gateway_id) == ("created", "")
    settings.PACTE_STRIPE_API_BASE = stripe_gateway
    gateways_reset()
    again = payment_start(payable=other, country="FR", actor=ACTOR).attempt
    assert again.id == waiting.id and again.state == "pending" and again.gateway_id.startswith("pi_")


def test_activation_opens_accounts_with_the_email_only_and_the_holder_deletes_them(
    stripe_gateway, customer, client, settings
) -> None:

    settings.PACTE_BILLING_GATEWAYS = "stripe=stripe@FR,BE sandbox"
    subject_id = customer()
    opened = gateway_accounts_open(subject_id=subject_id, country="FR")
    assert [a.gateway for a in opened] == ["stripe", "sandbox"]
    assert [a.gateway for a in gateway_accounts_open(subject_id=customer(), country="DE")] == ["sandbox"]
    stripe_ref = str(GatewayCustomer.objects.get(pk=opened[0].id).customer_ref)
    at_stripe = stripe_client(stripe_gateway).v1.customers.retrieve(stripe_ref)
    contact = account_contact(subject_id=subject_id)
    assert contact is not None and contact.address
    assert (at_stripe.email, at_stripe.name) == (contact.address, None)  # the e-mail only

    user = User.objects.get(subject_id=subject_id)
    client.force_login(user)
    page = client.get("/account/payment-accounts/", HTTP_ACCEPT_LANGUAGE="en")
    assert (
        page.status_code == 200
        and b"Stripe Payments" in page.content
        and b"Deactivate my Stripe Payments account" in page.content
    )
    # Someone else's account id: refused, nothing deleted.
    stranger = GatewayCustomer.objects.exclude(subject_id=subject_id).first()
    assert stranger is not None
    client.post("/account/payment-accounts/", {"account": str(stranger.id)})
    assert GatewayCustomer.objects.get(pk=stranger.id).active
    malformed = client.post("/account/payment-accounts/", {"account": "1; DROP"})
    assert malformed.status_code == 302 and GatewayCustomer.objects.filter(active=True).count() == 3
    response = client.post("/account/payment-accounts/", {"account": str(opened[0].id)})
    assert response.status_code == 302
    closed = GatewayCustomer.objects.get(pk=opened[0].id)
    assert (closed.active, closed.close_reason) == (False, "holder")
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client(stripe_gateway).v1.customers.retrieve(stripe_ref)
    facts = [
        e.payload["state"]
        for e in Entry.objects.filter(type="payment_account.state", subject_id=subject_id).order_by("seq")
    ]
    assert facts == ["opened", "opened", "closed"]
    french = client.get("/account/payment-accounts/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Comptes de paiement" in french.content.decode()


def test_erasure_deletes_every_gateway_customer_at_the_gateway_and_keeps_payments(
    stripe_gateway, customer
) -> None:
    payable = payable_for(customer())
    attempt = payment_start(payable=payable, country="FR", actor=ACTOR).attempt
    account = GatewayCustomer.objects.get(subject_id=payable.subject_id)
    ref = str(account.customer_ref)
    subject = Subject.objects.get(pk=payable.subject_id)
    [eraser] = [r.eraser for r in registrations() if r.kind == "payment_accounts"]
    assert eraser(subject) == 1
    with pytest.raises(stripe.InvalidRequestError) as gone:
        stripe_client(stripe_gateway).v1.customers.retrieve(ref)
    assert gone.value.http_status == 404
    assert not GatewayCustomer.objects.filter(subject_id=payable.subject_id).exists()
    [payments_eraser] = [r.eraser for r in registrations() if r.kind == "payments"]
    assert payments_eraser(subject) == 0 and PaymentAttempt.objects.filter(pk=attempt.id).exists()
    # Erasing again (a resumed step) is safe.
    assert eraser(subject) == 0


def test_a_gateway_down_on_deactivation_changes_nothing(stripe_gateway, customer, settings) -> None:
    from tests.live import free_port

    subject_id = customer()
    [account] = gateway_accounts_open(subject_id=subject_id, country="FR")
    settings.PACTE_STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    settings.PACTE_STRIPE_MAX_RETRIES = 0
    gateways_reset()
    with pytest.raises(PacteError) as down:
        gateway_account_close(holder_subject_id=subject_id, account_id=account.id, actor=ACTOR)
    assert down.value.code == "billing.gateway_unavailable"
    assert GatewayCustomer.objects.get(pk=account.id).active
