"""The sandbox gateway end to end: card numbers decide, signed webhooks move the payment, once."""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest

from pacte.billing.flows.payment import payment_pay, payment_refund, payment_start
from pacte.billing.gateways import gateway_get
from pacte.billing.gateways.base import GatewayRefused
from pacte.billing.gateways.sandbox import SIGNATURE_HEADER, SandboxGateway
from pacte.billing.models import GatewayCustomer, PaymentAttempt, StoredPaymentMethod, WebhookEvent
from pacte.billing.tests.conftest import DBS, payable_for
from pacte.core.errors import PacteError
from pacte.ledger.models import Entry

pytestmark = pytest.mark.django_db(databases=DBS)
ACTOR = "system"


def _card(number: str = "4242424242424242") -> str:
    sandbox = gateway_get("sandbox")
    assert isinstance(sandbox, SandboxGateway)
    return sandbox.payment_method_create(number=number, exp_month=12, exp_year=2031, cvc="123").token


def _states(attempt: PaymentAttempt) -> list[str]:
    entries = Entry.objects.filter(type="payment.state", subject_id=attempt.subject_id).order_by("seq")
    return [e.payload["state"] for e in entries if e.payload["payment"] == str(attempt.id)]


def _post(client, body: bytes, signature: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/billing/webhooks/sandbox/",
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: signature},
    )


def _event(
    kind: str, gateway_id: str, amount: int, currency: str = "eur", created: int | None = None
) -> dict:
    return {
        "id": f"sbx_evt_{uuid.uuid4().hex}",
        "type": kind,
        "created": int(time.time()) if created is None else created,
        "data": {"object": {"id": gateway_id, "amount": amount, "currency": currency}},
    }


def test_a_test_card_pays_and_the_signed_webhook_marks_it_paid_once(
    customer, outcomes, django_capture_on_commit_callbacks
) -> None:
    payable = payable_for(customer())
    started = payment_start(payable=payable, country="FR", actor=ACTOR)
    assert started.attempt.state == "pending" and started.attempt.gateway_id.startswith("sbx_pi_")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        payment_pay(attempt_id=started.attempt.id, payment_method=_card(), actor=ACTOR)
    assert len(callbacks) == 1  # the notification, sent once Pacte committed
    attempt = PaymentAttempt.objects.get(pk=started.attempt.id)
    assert attempt.state == "paid"
    assert _states(attempt) == ["created", "pending", "processing", "paid"]
    assert outcomes == [("paid", payable.reference, 2500, 0)]
    assert WebhookEvent.objects.filter(gateway="sandbox").count() == 1
    # The sandbox is in-process: nothing left Pacte, so nothing was disclosed.
    assert not Entry.objects.filter(type="disclosure", subject_id=payable.subject_id).exists()


def test_a_replayed_webhook_changes_nothing(customer, outcomes, client) -> None:
    payable = payable_for(customer())
    attempt = payment_start(payable=payable, country="FR", actor=ACTOR).attempt
    sandbox = gateway_get("sandbox")
    assert isinstance(sandbox, SandboxGateway)
    body, headers = sandbox.event_signed(_event("payment_intent.succeeded", attempt.gateway_id, 2500))
    first = _post(client, body, headers[SIGNATURE_HEADER])
    assert first.status_code == 200 and first.json()["outcome"] == "applied"
    entries = Entry.objects.count()
    again = _post(client, body, headers[SIGNATURE_HEADER])
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert Entry.objects.count() == entries
    assert outcomes == [("paid", payable.reference, 2500, 0)]


def test_a_declined_card_fails_then_another_card_pays(
    customer, outcomes, django_capture_on_commit_callbacks
) -> None:
    payable = payable_for(customer())
    attempt = payment_start(payable=payable, country="FR", actor=ACTOR).attempt
    with pytest.raises(PacteError) as refused, django_capture_on_commit_callbacks(execute=True):
        payment_pay(attempt_id=attempt.id, payment_method=_card("4000000000000002"), actor=ACTOR)
    assert refused.value.code == "billing.gateway_error"
    assert (
        str(refused.value.message)
        == "Votre carte a été refusée. Rien n’a été débité ; essayez une autre carte."
    )
    assert PaymentAttempt.objects.get(pk=attempt.id).state == "failed"
    with django_capture_on_commit_callbacks(execute=True):
        payment_pay(attempt_id=attempt.id, payment_method=_card("5555555555554444"), actor=ACTOR)
    assert PaymentAttempt.objects.get(pk=attempt.id).state == "paid"
    assert [o[0] for o in outcomes] == ["failed", "paid"]


@pytest.mark.parametrize(
    ("number", "month", "year", "code"),
    [
        ("4242424242424241", 12, 2031, "invalid_number"),
        ("4242424242424242", 1, 2020, "expired_card"),
        ("12", 12, 2031, "invalid_number"),
    ],
)
def test_the_card_page_refuses_bad_cards_and_keeps_nothing(
    number: str, month: int, year: int, code: str
) -> None:
    with pytest.raises(GatewayRefused) as refused:
        SandboxGateway().payment_method_create(number=number, exp_month=month, exp_year=year, cvc="123")
    assert refused.value.code == code


def test_the_sandbox_token_holds_only_outcome_brand_last4_and_expiry() -> None:
    card = SandboxGateway().payment_method_create(
        number="4242 4242 4242 4242", exp_month=3, exp_year=31, cvc="123"
    )
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "4242", 3, 2031)
    assert "424242424242" not in card.token and "123" not in card.token.split("_")[-1]


def test_a_forged_or_late_webhook_gets_400_a_log_line_without_payload_and_changes_nothing(
    customer, client, caplog
) -> None:
    attempt = payment_start(payable=payable_for(customer()), country="FR", actor=ACTOR).attempt
    sandbox = gateway_get("sandbox")
    assert isinstance(sandbox, SandboxGateway)
    event = _event("payment_intent.succeeded", attempt.gateway_id, 2500)
    body, headers = sandbox.event_signed(event)
    tampered = body.replace(b"2500", b"2499")
    late_body, late = sandbox.event_signed(event, timestamp=int(time.time()) - 3600)
    entries = Entry.objects.count()
    with caplog.at_level(logging.INFO, logger="pacte.billing"):
        assert _post(client, tampered, headers[SIGNATURE_HEADER]).status_code == 400
        assert _post(client, body, "t=1,v1=00").status_code == 400
        assert _post(client, body, "").status_code == 400
        assert _post(client, late_body, late[SIGNATURE_HEADER]).status_code == 400
    assert PaymentAttempt.objects.get(pk=attempt.id).state == "pending"
    assert Entry.objects.count() == entries and not WebhookEvent.objects.exists()
    lines = [r.getMessage() for r in caplog.records if r.name == "pacte.billing"]
    assert lines == [
        "billing webhook refused: gateway=sandbox reason=bad_signature",
        "billing webhook refused: gateway=sandbox reason=bad_signature",
        "billing webhook refused: gateway=sandbox reason=no_signature",
        "billing webhook refused: gateway=sandbox reason=timestamp_outside_tolerance",
    ]
    assert all(attempt.gateway_id not in line and "2500" not in line for line in lines)


@pytest.mark.parametrize(
    ("amount", "currency", "reason"), [(100, "eur", "amount_mismatch"), (2500, "usd", "currency_mismatch")]
)
def test_an_amount_or_currency_mismatch_flags_the_payment_for_staff_and_does_not_pay(
    customer, outcomes, client, amount: int, currency: str, reason: str
) -> None:
    payable = payable_for(customer())
    attempt = payment_start(payable=payable, country="FR", actor=ACTOR).attempt
    sandbox = gateway_get("sandbox")
    assert isinstance(sandbox, SandboxGateway)
    body, headers = sandbox.event_signed(
        _event("payment_intent.succeeded", attempt.gateway_id, amount, currency)
    )
    assert _post(client, body, headers[SIGNATURE_HEADER]).json()["outcome"] == "flagged"
    attempt.refresh_from_db()
    assert (attempt.state, attempt.reason) == ("flagged", reason)
    assert outcomes == [("flagged", payable.reference, 2500, 0)]
    # Staff decide; a correct notification afterwards does not pay it behind their back.
    body, headers = sandbox.event_signed(_event("payment_intent.succeeded", attempt.gateway_id, 2500))
    assert _post(client, body, headers[SIGNATURE_HEADER]).json()["outcome"] == "ignored"
    assert PaymentAttempt.objects.get(pk=attempt.id).state == "flagged"


def test_out_of_order_webhooks_never_unpay_a_paid_payment(customer, outcomes, client) -> None:
    attempt = payment_start(payable=payable_for(customer()), country="FR", actor=ACTOR).attempt
    sandbox = gateway_get("sandbox")
    assert isinstance(sandbox, SandboxGateway)
    now = int(time.time())
    paid = sandbox.event_signed(_event("payment_intent.succeeded", attempt.gateway_id, 2500, created=now))
    older_failure = sandbox.event_signed(
        _event("payment_intent.payment_failed", attempt.gateway_id, 2500, created=now - 60)
    )
    newer_failure = sandbox.event_signed(
        _event("payment_intent.payment_failed", attempt.gateway_id, 2500, created=now + 5)
    )
    assert _post(client, paid[0], paid[1][SIGNATURE_HEADER]).json()["outcome"] == "applied"
    assert _post(client, older_failure[0], older_failure[1][SIGNATURE_HEADER]).json()["outcome"] == "stale"
    assert _post(client, newer_failure[0], newer_failure[1][SIGNATURE_HEADER]).json()["outcome"] == "ignored"
    assert PaymentAttempt.objects.get(pk=attempt.id).state == "paid"
    assert [o[0] for o in outcomes] == ["paid"]


def test_a_webhook_for_a_payment_pacte_does_not_know_is_acknowledged_and_creates_nothing(client) -> None:
    sandbox = gateway_get("sandbox")
    assert isinstance(sandbox, SandboxGateway)
    body, headers = sandbox.event_signed(_event("payment_intent.succeeded", "sbx_pi_nobody_100_EUR", 100))
    response = _post(client, body, headers[SIGNATURE_HEADER])
    assert response.status_code == 200 and response.json()["outcome"] == "unknown_payment"
    assert not PaymentAttempt.objects.exists()


def test_a_second_click_on_pay_makes_one_payment(customer) -> None:
    payable = payable_for(customer())
    first = payment_start(payable=payable, country="FR", actor=ACTOR).attempt
    second = payment_start(payable=payable, country="FR", actor=ACTOR).attempt
    assert first.id == second.id and PaymentAttempt.objects.filter(reference=payable.reference).count() == 1
    assert _states(first) == ["created", "pending"]
    assert GatewayCustomer.objects.filter(subject_id=payable.subject_id).count() == 1


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"amount": 0}, "billing.bad_amount"),
        ({"amount": -5}, "billing.bad_amount"),
        ({"amount": 12.5}, "billing.bad_amount"),
        ({"currency": "USD"}, "billing.bad_currency"),
        ({"lines": ()}, "billing.bad_payable"),
    ],
)
def test_a_bad_payable_is_refused_and_nothing_is_written(customer, changes: dict, code: str) -> None:
    subject_id = customer()
    entries = Entry.objects.count()
    with pytest.raises(PacteError) as refused:
        payment_start(payable=payable_for(subject_id, **changes), country="FR", actor=ACTOR)
    assert refused.value.code == code
    assert not PaymentAttempt.objects.exists() and not GatewayCustomer.objects.exists()
    assert Entry.objects.count() == entries


def test_an_unknown_gateway_or_country_without_gateway_is_a_coded_error(customer, settings) -> None:
    with pytest.raises(PacteError) as unknown:
        payment_start(payable=payable_for(customer()), country="FR", actor=ACTOR, gateway="bitcoin")
    assert unknown.value.code == "billing.unknown_gateway"
    settings.PACTE_BILLING_GATEWAYS = "sandbox@FR,BE"
    with pytest.raises(PacteError) as none:
        payment_start(payable=payable_for(customer()), country="DE", actor=ACTOR)
    assert none.value.code == "billing.no_gateway"
    assert not PaymentAttempt.objects.exists()


def test_a_sandbox_standing_for_a_recipient_discloses_only_what_that_recipient_may_receive(
    customer, settings
) -> None:
    settings.PACTE_BILLING_GATEWAYS = "sandbox=card_processors"
    payable = payable_for(customer())
    payment_start(payable=payable, country="FR", actor=ACTOR)
    entries = Entry.objects.filter(type="disclosure", subject_id=payable.subject_id).order_by("seq")
    # card_processors (PluSuite) may not receive name or e-mail: the account is opened without them
    # (nothing to disclose, nothing recorded) and the payment carries the order and the account's token.
    assert [e.payload for e in entries] == [
        {
            "recipient": "card_processors",
            "purpose": "payment",
            "categories": ["billing.payment_token", "commerce.orders"],
        },
    ]


def test_staff_refund_in_part_then_in_full_and_no_more(
    customer, outcomes, django_capture_on_commit_callbacks
) -> None:
    payable = payable_for(customer(), amount=1000)
    attempt = payment_start(payable=payable, country="FR", actor=ACTOR).attempt
    with django_capture_on_commit_callbacks(execute=True):
        payment_pay(attempt_id=attempt.id, payment_method=_card(), actor=ACTOR)
    staff = f"staff:{uuid.uuid4()}"
    assert payment_refund(attempt_id=attempt.id, amount=300, actor=staff).state == "partially_refunded"
    with pytest.raises(PacteError) as too_much:
        payment_refund(attempt_id=attempt.id, amount=701, actor=staff)
    assert too_much.value.code == "billing.bad_refund"
    done = payment_refund(attempt_id=attempt.id, amount=None, actor=staff)
    assert (done.state, done.refunded_amount) == ("refunded", 1000)
    assert outcomes[1:] == [
        ("partially_refunded", payable.reference, 1000, 300),
        ("refunded", payable.reference, 1000, 1000),
    ]
    with pytest.raises(PacteError):
        payment_refund(attempt_id=attempt.id, amount=None, actor=staff)


def test_a_saved_method_keeps_token_brand_last4_and_expiry_only(
    customer, django_capture_on_commit_callbacks
) -> None:

    payable = payable_for(customer())
    attempt = payment_start(payable=payable, country="FR", actor=ACTOR).attempt
    with django_capture_on_commit_callbacks(execute=True):
        payment_pay(
            attempt_id=attempt.id, payment_method=_card("5555555555554444"), actor=ACTOR, save_method=True
        )
    [method] = StoredPaymentMethod.objects.filter(subject_id=payable.subject_id)
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == ("mastercard", "4444", 12, 2031)
    assert {f.name for f in StoredPaymentMethod._meta.concrete_fields} == {
        "id",
        "subject",
        "gateway",
        "token",
        "brand",
        "last4",
        "exp_month",
        "exp_year",
        "created_at",
    }
    assert "5555555555554444" not in json.dumps(list(StoredPaymentMethod.objects.values()), default=str)
