"""The PayPal gateway through the official SDK, against the local PayPal server running as its own process."""

from __future__ import annotations

import datetime
import json
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from pacte.billing.checks import paypal_check
from pacte.billing.flows.accounts import gateway_account_close
from pacte.billing.flows.payment import payment_pay, payment_refund, payment_start
from pacte.billing.gateways import gateway_get, gateways_reset
from pacte.billing.models import GatewayCustomer, PaymentAttempt, WebhookEvent
from pacte.billing.tests.conftest import DBS, payable_for
from pacte.core.errors import PacteError
from pacte.ledger.models import Entry
from pacte.subjects.models import Subject
from pacte.subjects.registry import registrations

pytestmark = pytest.mark.django_db(databases=DBS)
ACTOR = "system"
URL = "/billing/webhooks/paypal/"
PERSONAL_KEYS = {"email_address", "name", "payer", "description", "custom_id", "customer"}


def _post(client, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def _events(paypal, kind: str) -> list[dict]:
    return [e for e in paypal.state()["events"] if e["type"] == kind]


def _deliver(client, paypal, kind: str, order_id: str):  # type: ignore[no-untyped-def]
    """POST the last event ``kind`` the local PayPal signed for ``order_id``, as it is, to Pacte."""
    state = paypal.state()
    captures = {c["id"] for c in state["captures"].values() if c["supplementary_data"]["related_ids"]["order_id"] == order_id}  # fmt: skip
    for event in reversed(state["events"]):
        resource = json.loads(event["body"])["resource"]
        about = resource.get("supplementary_data", {}).get("related_ids", {}).get("order_id")
        up = [link["href"].rsplit("/", 1)[-1] for link in resource.get("links", []) if link["rel"] == "up"]
        if event["type"] == kind and (about == order_id or set(up) & captures):
            return _post(client, event["body"].encode(), event["headers"])
    raise AssertionError(f"no {kind} event for {order_id}")


def _approve_and_capture(paypal, started, outcome: str = ""):  # type: ignore[no-untyped-def]
    back = paypal.approve(started.client_secret, outcome)
    query = parse_qs(urlsplit(back).query)
    assert back.startswith("http://127.0.0.1:8000/account/orders/")
    assert query["token"] == [started.attempt.gateway_id]
    return payment_pay(attempt_id=started.attempt.id, payment_method=query["PayerID"][0], actor=ACTOR)


def test_a_paypal_payment_is_approved_captured_and_paid_by_its_signed_webhook(
    paypal_gateway, customer, client, outcomes
) -> None:
    paypal = paypal_gateway
    calls_before = len(paypal.state()["calls"])
    payable = payable_for(customer(), amount=4200, lines=("Plan Pro, 1 year",))
    started = payment_start(payable=payable, country="FR", actor=ACTOR)
    assert started.attempt.state == "pending"
    assert started.client_secret == f"{paypal.base}/checkoutnow?token={started.attempt.gateway_id}"
    order = paypal.state()["orders"][started.attempt.gateway_id]
    [unit] = order["purchase_units"]
    assert (order["intent"], order["status"]) == ("CAPTURE", "PAYER_ACTION_REQUIRED")
    assert unit["amount"] == {"currency_code": "EUR", "value": "42.00"}
    assert (unit["custom_id"], unit["description"]) == (str(payable.reference), "Plan Pro, 1 year")
    wallet = order["payment_source"]["paypal"]
    assert wallet["email_address"] == "ada@example.com"
    assert wallet["name"] == {"given_name": "Ada", "surname": "Lovelace"}
    account = GatewayCustomer.objects.get(subject_id=payable.subject_id, gateway="paypal")
    assert (
        order["_customer"] == str(account.customer_ref) and order["_customer"] in paypal.state()["customers"]
    )

    attempt = _approve_and_capture(paypal, started)
    assert attempt.state == "processing"  # the webhook decides
    state = paypal.state()
    [capture] = [c for c in state["captures"].values() if c["supplementary_data"]["related_ids"]["order_id"] == attempt.gateway_id]  # fmt: skip
    assert (capture["status"], capture["amount"]["value"]) == ("COMPLETED", "42.00")
    # The buyer's wallet is vaulted under the customer id Pacte holds (for renewals).
    assert len(state["customers"][order["_customer"]]["payment_tokens"]) == 1

    response = _deliver(client, paypal, "PAYMENT.CAPTURE.COMPLETED", attempt.gateway_id)
    assert response.status_code == 200 and response.json()["outcome"] == "applied"
    assert PaymentAttempt.objects.get(pk=attempt.id).state == "paid"
    assert outcomes == [("paid", payable.reference, 4200, 0)]

    # Each call that carried something about the buyer is one disclosure in the ledger, and only those:
    # the vault setup token carries nothing about them (PayPal makes the customer id), so it is none.
    calls = paypal.state()["calls"][calls_before:]
    personal = [(c["method"], c["path"]) for c in calls if c["personal"]]
    assert personal == [("POST", "/v3/vault/setup-tokens"), ("POST", "/v2/checkout/orders")]
    [setup] = [c for c in calls if c["path"] == "/v3/vault/setup-tokens"]
    assert not PERSONAL_KEYS & {k.rsplit(".", 1)[-1] for k in setup["keys"]}
    assert all(
        not PERSONAL_KEYS & {k.rsplit(".", 1)[-1] for k in c["keys"]} for c in calls if not c["personal"]
    )
    disclosures = [
        e.payload
        for e in Entry.objects.filter(type="disclosure", subject_id=payable.subject_id).order_by("seq")
    ]
    assert disclosures == [
        {
            "recipient": "paypal",
            "purpose": "payment",
            "categories": ["billing.payment_token", "commerce.orders", "contact.email", "identity.name"],
        }
    ]


def test_a_declined_capture_fails_the_payment_and_its_denied_webhook_changes_nothing_more(
    paypal_gateway, customer, client, outcomes
) -> None:
    started = payment_start(payable=payable_for(customer()), country="FR", actor=ACTOR)
    with pytest.raises(PacteError) as refused:
        _approve_and_capture(paypal_gateway, started, outcome="decline")
    assert refused.value.code == "billing.gateway_error"
    assert "instrument_declined" in str(refused.value.message)
    assert PaymentAttempt.objects.get(pk=started.attempt.id).state == "failed"
    response = _deliver(client, paypal_gateway, "PAYMENT.CAPTURE.DENIED", started.attempt.gateway_id)
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    assert [o[0] for o in outcomes] == ["failed"]


def test_refunds_go_through_paypal_and_its_webhooks_count_once(
    paypal_gateway, customer, client, outcomes
) -> None:
    paypal = paypal_gateway
    payable = payable_for(customer(), amount=1000)
    started = payment_start(payable=payable, country="FR", actor=ACTOR)
    attempt = _approve_and_capture(paypal, started)
    _deliver(client, paypal, "PAYMENT.CAPTURE.COMPLETED", attempt.gateway_id)
    staff = f"staff:{uuid.uuid4()}"
    assert payment_refund(attempt_id=attempt.id, amount=400, actor=staff).state == "partially_refunded"
    [capture] = [c for c in paypal.state()["captures"].values() if c["supplementary_data"]["related_ids"]["order_id"] == attempt.gateway_id]  # fmt: skip
    assert (capture["status"], capture["refunded"]) == ("PARTIALLY_REFUNDED", 400)
    # PayPal's webhook comes after Pacte recorded the refund (its refund names the capture, not the
    # order: the gateway asks PayPal for the capture's order).
    assert (
        _deliver(client, paypal, "PAYMENT.CAPTURE.REFUNDED", attempt.gateway_id).json()["outcome"] == "stale"
    )
    # A refund made at PayPal itself (its dashboard) reaches Pacte by its webhook only.
    gateway_get("paypal").client.payments.refund_captured_payment(  # type: ignore[attr-defined]
        {"capture_id": capture["id"], "body": {"amount": {"currency_code": "EUR", "value": "1.00"}}}
    )
    assert (
        _deliver(client, paypal, "PAYMENT.CAPTURE.REFUNDED", attempt.gateway_id).json()["outcome"]
        == "applied"
    )
    assert PaymentAttempt.objects.get(pk=attempt.id).refunded_amount == 500
    assert payment_refund(attempt_id=attempt.id, amount=None, actor=staff).state == "refunded"
    assert paypal.state()["captures"][capture["id"]]["refunded"] == 1000
    assert PaymentAttempt.objects.get(pk=attempt.id).refunded_amount == 1000
    assert [o[0] for o in outcomes] == ["paid", "partially_refunded", "partially_refunded", "refunded"]
    with pytest.raises(PacteError) as nothing_left:
        payment_refund(attempt_id=attempt.id, amount=1, actor=staff)
    assert nothing_left.value.code == "billing.bad_refund"


def test_forged_foreign_late_and_replayed_paypal_webhooks_change_nothing(
    paypal_gateway, customer, client, caplog
) -> None:
    paypal = paypal_gateway
    started = payment_start(payable=payable_for(customer(), amount=2500), country="FR", actor=ACTOR)
    event = {
        "id": f"WH-{uuid.uuid4().hex[:20].upper()}",
        "event_type": "PAYMENT.CAPTURE.COMPLETED",
        "create_time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resource_type": "capture",
        "resource": {
            "id": "CAPTUREFORGED0001",
            "status": "COMPLETED",
            "amount": {"currency_code": "EUR", "value": "25.00"},
            "supplementary_data": {"related_ids": {"order_id": started.attempt.gateway_id}},
        },
    }
    entries, fetches = Entry.objects.count(), paypal.state()["cert_fetches"]
    body, headers = paypal.sign(event)
    tampered = body.replace(b"25.00", b"0.01")
    late = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=301)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    attempts = [
        (tampered, headers, "bad_signature"),
        (*paypal.sign(event, webhook_id="WH-SOMEONE-ELSES"), "bad_signature"),
        (*paypal.sign(event, cert="rogue"), "cert_untrusted"),  # same name, but no trusted root issued it
        (
            *paypal.sign(
                event,
                cert_url=paypal.base.replace("127.0.0.1", "localhost")
                + "/v1/notifications/certs/CERT-pacte-test",
            ),
            "cert_url_not_allowed",
        ),  # fmt: skip
        (
            *paypal.sign(event, cert_url="https://api.paypal.com.evil.test/v1/notifications/certs/X"),
            "cert_url_not_allowed",
        ),  # fmt: skip
        (*paypal.sign(event, transmission_time=late), "timestamp_outside_tolerance"),
        (body, {}, "no_signature"),
        (body, {**headers, "PAYPAL-AUTH-ALGO": "SHA1withRSA"}, "bad_algorithm"),
    ]
    for forged_body, forged_headers, _reason in attempts:
        response = _post(client, forged_body, forged_headers)
        assert (response.status_code, response.json()) == (400, {"error": "billing.webhook_forged"})
    assert PaymentAttempt.objects.get(pk=started.attempt.id).state == "pending"
    assert Entry.objects.count() == entries and not WebhookEvent.objects.filter(gateway="paypal").exists()
    refused = [r.getMessage() for r in caplog.records if r.name == "pacte.billing"]
    assert refused == [f"billing webhook refused: gateway=paypal reason={reason}" for *_x, reason in attempts]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert started.attempt.gateway_id not in logged and "25.00" not in logged
    # Only the rogue certificate and the genuine one were fetched: never from a host not allowed.
    assert paypal.state()["cert_fetches"] == fetches + 2

    assert _post(client, body, headers).json()["outcome"] == "applied"
    again = paypal.sign(event)  # replayed: freshly signed, same event id
    assert _post(client, *again).json()["outcome"] == "duplicate"
    assert PaymentAttempt.objects.get(pk=started.attempt.id).state == "paid"
    assert paypal.state()["cert_fetches"] == fetches + 2  # the signing certificate is cached


def test_paypal_down_leaves_the_payment_created_and_a_retry_creates_one_order(
    paypal_gateway, customer, settings
) -> None:
    from tests.live import free_port

    payable = payable_for(customer())
    payment_start(payable=payable, country="FR", actor=ACTOR)  # the account opens while PayPal answers
    other = payable_for(payable.subject_id)
    settings.PACTE_PAYPAL_API_BASE = f"http://127.0.0.1:{free_port()}"
    gateways_reset()
    with pytest.raises(PacteError) as down:
        payment_start(payable=other, country="FR", actor=ACTOR)
    assert (down.value.code, down.value.status) == ("billing.gateway_unavailable", 503)
    [waiting] = PaymentAttempt.objects.filter(reference=other.reference)
    assert (waiting.state, waiting.gateway_id) == ("created", "")
    settings.PACTE_PAYPAL_API_BASE = paypal_gateway.base
    gateways_reset()
    again = payment_start(payable=other, country="FR", actor=ACTOR).attempt
    assert again.id == waiting.id and again.state == "pending"
    orders = [o for o in paypal_gateway.state()["orders"].values() if o["purchase_units"][0]["custom_id"] == str(other.reference)]  # fmt: skip
    assert [o["id"] for o in orders] == [again.gateway_id]


def test_an_unreachable_certificate_refuses_the_webhook(paypal_gateway, customer, client, settings) -> None:
    from tests.live import free_port

    started = payment_start(payable=payable_for(customer()), country="FR", actor=ACTOR)
    event = {
        "id": "WH-UNREACHABLE-CERT",
        "event_type": "PAYMENT.CAPTURE.COMPLETED",
        "create_time": "2030-01-01T00:00:00Z",
        "resource": {"amount": {"currency_code": "EUR", "value": "25.00"}},
    }
    elsewhere = f"127.0.0.1:{free_port()}"
    settings.PACTE_PAYPAL_CERT_HOSTS = f"{paypal_gateway.host} {elsewhere}"
    body, headers = paypal_gateway.sign(event, cert_url=f"http://{elsewhere}/v1/notifications/certs/C")
    assert _post(client, body, headers).status_code == 400
    assert PaymentAttempt.objects.get(pk=started.attempt.id).state == "pending"


def test_deactivation_and_erasure_delete_what_paypal_holds_and_keep_payments(
    paypal_gateway, customer, client
) -> None:
    paypal = paypal_gateway
    payable = payable_for(customer())
    started = payment_start(payable=payable, country="FR", actor=ACTOR)
    _approve_and_capture(paypal, started)
    account = GatewayCustomer.objects.get(subject_id=payable.subject_id, gateway="paypal")
    ref = str(account.customer_ref)
    [token] = paypal.state()["customers"][ref]["payment_tokens"]
    subject = Subject.objects.get(pk=payable.subject_id)
    [eraser] = [r.eraser for r in registrations() if r.kind == "payment_accounts"]
    assert eraser(subject) == 1
    state = paypal.state()
    assert state["customers"][ref]["payment_tokens"] == [] and token not in state["payment_tokens"]
    assert not GatewayCustomer.objects.filter(subject_id=payable.subject_id).exists()
    assert PaymentAttempt.objects.filter(pk=started.attempt.id).exists()
    assert eraser(subject) == 0  # erasing again (a resumed step) is safe

    # The holder deactivates their PayPal account from My account: the same deletion, recorded.
    holder = payable_for(customer())
    second = payment_start(payable=holder, country="FR", actor=ACTOR)
    _approve_and_capture(paypal, second)
    opened = GatewayCustomer.objects.get(subject_id=holder.subject_id, gateway="paypal")
    closed = gateway_account_close(holder_subject_id=holder.subject_id, account_id=opened.id, actor=ACTOR)
    assert (closed.active, closed.close_reason) == (False, "holder")
    assert paypal.state()["customers"][str(opened.customer_ref)]["payment_tokens"] == []
    facts = [
        e.payload["state"]
        for e in Entry.objects.filter(type="payment_account.state", subject_id=holder.subject_id).order_by(
            "seq"
        )
    ]
    assert facts == ["opened", "closed"]
    assert gateway_get("paypal").customer_delete(customer_id="NOSUCHCUSTOMER") is False


def test_an_enabled_paypal_without_its_credentials_is_a_system_check_error(settings) -> None:

    settings.PACTE_BILLING_GATEWAYS = "paypal=paypal"
    settings.PACTE_PAYPAL_CLIENT_ID = "id"
    settings.PACTE_PAYPAL_CLIENT_SECRET = ""
    settings.PACTE_PAYPAL_WEBHOOK_ID = ""
    settings.PACTE_PAYPAL_ENVIRONMENT = "live"
    [missing, environment] = paypal_check()
    assert missing.id == environment.id == "pacte.E054"
    assert (
        missing.msg
        == "The PayPal gateway is enabled without PACTE_PAYPAL_CLIENT_SECRET, PACTE_PAYPAL_WEBHOOK_ID."
    )
    settings.PACTE_BILLING_GATEWAYS = "sandbox"
    assert paypal_check() == []
