"""Operator webhooks against a real receiver process: minimised, signed, retried, delivered once."""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core.cache import cache
from django.core.checks import run_checks
from django.test import Client
from django.utils import timezone

from pacte.accounts.models import User
from pacte.accounts.services import user_create
from pacte.consent.services import consent_set
from pacte.core.errors import PacteError
from pacte.ledger.models import Entry
from pacte.rights.flows.erasure import erasure_of_subject
from pacte.sharing import http, webhooks
from pacte.sharing.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from pacte.sharing.services import disclose, webhook_emit
from pacte.sharing.tests.receivers import Receiver, free_port, local_policy
from pacte.subjects.models import Subject

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
ORDER = {
    "name": ("identity.name", "Ada Lovelace"),
    "email": ("contact.email", "ada@example.com"),
    "order": ("commerce.orders", "order 42, 3 items"),
    "phone": ("contact.phone", "+33 6 12 34 56 78"),  # stripe may not receive it
}


@pytest.fixture
def policy(settings, tmp_path):
    return local_policy(settings, tmp_path)


@pytest.fixture
def receivers(tmp_path):
    started: list[Receiver] = []

    def start(secret: str, *, port: int | None = None, crash_after_record: bool = False) -> Receiver:
        receiver = Receiver(tmp_path, secret=secret, port=port).start(crash_after_record=crash_after_record)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.kill()


def _customer() -> uuid.UUID:
    user = user_create(
        email=f"{uuid.uuid4().hex[:10]}@example.com", password=None, name="Ada", birth_date=None
    )
    return user.subject_id


def _endpoint(port: int, *, recipient: str = "stripe", purpose: str = "payment", events=("order.paid",)):
    return webhooks.webhook_endpoint_create(
        recipient=recipient,
        purpose=purpose,
        url=f"http://127.0.0.1:{port}/hook",
        events=list(events),
        actor="staff:1",
    )


def _disclosures(subject_id) -> int:
    return Entry.objects.filter(subject_id=subject_id, type="disclosure").count()


@pytest.fixture
def staff_client():
    """A superuser signed in with password and TOTP, as the admin requires (accounts' staff MFA)."""
    cache.clear()
    user_create(email="agent@operator.example", password="correct horse battery 42", birth_date=None,
                name="Camille Agent", is_staff=True, is_superuser=True)  # fmt: skip

    user = User.objects.get(is_staff=True)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post(
        "/accounts/login/", {"login": "agent@operator.example", "password": "correct horse battery 42"}
    )
    code = format_hotp_value(hotp_value(secret, list(yield_hotp_counters_from_time())[-1]))
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    return client


def _make_due(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_an_order_paid_event_is_minimised_signed_and_delivered_once(
    policy, receivers, django_capture_on_commit_callbacks
) -> None:
    port = free_port()
    endpoint, secret = _endpoint(port)
    receiver = receivers(secret, port=port)
    subject_id = _customer()

    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = webhook_emit(event="order.paid", subject_id=subject_id, data=ORDER, actor="system")
        assert receiver.requests() == 0  # nothing leaves before the commit

    assert receiver.ids() == [delivery.webhook_id] and receiver.rejected() == []
    [body] = receiver.bodies()
    sent = json.loads(body)
    assert sent["type"] == "order.paid"
    assert sent["data"] == {"name": "Ada Lovelace", "email": "ada@example.com", "order": "order 42, 3 items"}
    assert "+33" not in body and "phone" not in body  # a category stripe lacks never reaches it
    assert sent["subject"] == webhooks.subject_ref(recipient="stripe", subject_id=subject_id)
    assert str(subject_id) not in body
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.body) == (DeliveryStatus.DELIVERED, 1, "")
    # Every request the receiver got was seen by the gate: one disclosure entry each.
    [entry] = Entry.objects.filter(subject_id=subject_id, type="disclosure")
    assert entry.payload == {
        "recipient": "stripe",
        "purpose": "payment",
        "categories": ["commerce.orders", "contact.email", "identity.name"],
    }
    assert _disclosures(subject_id) == len(receiver.ids()) == receiver.requests() == 1


def test_the_secret_and_the_pending_payload_are_sealed_at_rest(
    policy, django_capture_on_commit_callbacks
) -> None:
    endpoint, secret = _endpoint(free_port())  # nobody listens: the delivery stays queued
    assert secret.startswith("whsec_")
    stored = WebhookEndpoint.objects.values_list("secret", flat=True).get(pk=endpoint.pk)
    assert stored.startswith("v1:") and secret not in stored
    subject_id = _customer()
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = webhook_emit(event="order.paid", subject_id=subject_id, data=ORDER, actor="system")
    row = WebhookDelivery.objects.get(pk=delivery.pk)
    assert row.status == DeliveryStatus.QUEUED and row.attempts == 1 and row.last_error == "ConnectError"
    assert row.body.startswith("v1:") and "ada@example.com" not in row.body and "Ada" not in row.body


def test_a_receiver_that_is_down_gets_the_event_once_it_is_back(
    policy, receivers, django_capture_on_commit_callbacks
) -> None:
    port = free_port()
    endpoint, secret = _endpoint(port)
    subject_id = _customer()
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = webhook_emit(event="order.paid", subject_id=subject_id, data=ORDER, actor="system")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("queued", 1, "ConnectError")
    assert delivery.next_attempt_at >= before + datetime.timedelta(seconds=webhooks.BACKOFF[0])
    assert webhooks.webhook_deliver_due() == {}  # not due yet: nothing is attempted

    receiver = receivers(secret, port=port)
    _make_due(delivery)
    assert webhooks.webhook_deliver_due() == {str(delivery.pk): "delivered"}
    assert receiver.ids() == [delivery.webhook_id]
    assert _disclosures(subject_id) == len(receiver.ids()) == 1


def test_a_receiver_killed_while_the_delivery_is_in_flight_records_the_event_once(
    policy, receivers, django_capture_on_commit_callbacks
) -> None:
    port = free_port()
    endpoint, secret = _endpoint(port)
    crashing = receivers(secret, port=port, crash_after_record=True)
    subject_id = _customer()
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = webhook_emit(event="order.paid", subject_id=subject_id, data=ORDER, actor="system")
    assert crashing.wait_exit() == 1  # it recorded the id, then died before answering
    delivery.refresh_from_db()
    assert delivery.status == "queued" and delivery.attempts == 1
    assert delivery.last_error in {"RemoteProtocolError", "ReadError"}
    assert crashing.ids() == [delivery.webhook_id]

    restarted = receivers(secret, port=port)
    _make_due(delivery)
    assert webhooks.webhook_deliver(delivery_id=str(delivery.pk)) == "delivered"
    assert restarted.ids() == [delivery.webhook_id]  # the same id again: a duplicate, not recorded twice
    assert restarted.requests() == 2 and len(restarted.bodies()) == 1
    assert _disclosures(subject_id) == len(restarted.ids()) == 1


def test_retries_back_off_then_the_delivery_fails_and_staff_can_queue_it_again(
    policy, django_capture_on_commit_callbacks, staff_client
) -> None:
    endpoint, _secret = _endpoint(free_port())
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = webhook_emit(event="order.paid", subject_id=_customer(), data=ORDER, actor="system")
    waits = []
    for _attempt in range(len(webhooks.BACKOFF)):
        delivery.refresh_from_db()
        waits.append(round((delivery.next_attempt_at - timezone.now()).total_seconds()))
        _make_due(delivery)
        webhooks.webhook_deliver(delivery_id=str(delivery.pk))
    assert waits == list(webhooks.BACKOFF)  # 30 s, 2 min, 10 min, 1 h, 6 h
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 6, "ConnectError")
    assert delivery.body  # kept sealed for a retry by staff
    assert webhooks.webhook_deliver(delivery_id=str(delivery.pk)) == "busy"  # no more automatic attempts

    page = staff_client.get("/admin/sharing/webhookdelivery/?status__exact=failed").content.decode()
    assert "ConnectError" in page and "order.paid" in page
    webhooks.webhook_delivery_retry(delivery=delivery)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("queued", 0)


def test_the_receiver_rejects_a_forged_signature(policy, receivers) -> None:
    port = free_port()
    _endpoint_row, secret = _endpoint(port)
    receiver = receivers(secret, port=port)
    body, stamp = b'{"type":"order.paid"}', int(timezone.now().timestamp())
    _forged_endpoint, forged_secret = _endpoint(port)  # another endpoint's secret

    def post(webhook_id: str, key: str) -> int:
        sign = webhooks.signature(secret=key, webhook_id=webhook_id, timestamp=stamp, body=body)
        headers = {"webhook-id": webhook_id, "webhook-timestamp": str(stamp), "webhook-signature": sign}
        return http.send(recipient="stripe", method="POST", url=receiver.url, disclosure=None,
                         headers=headers, content=body).status  # fmt: skip

    assert post("msg_forged", forged_secret) == 401
    assert post("msg_good", secret) == 200
    assert receiver.rejected() == ["msg_forged"] and receiver.ids() == ["msg_good"]


def test_erasure_sends_a_notice_only_to_recipients_that_received_data_and_drops_pending_data(
    policy, receivers, django_capture_on_commit_callbacks
) -> None:
    stripe_port, tidio_port = free_port(), free_port()
    _stripe, stripe_secret = _endpoint(stripe_port)
    _tidio, tidio_secret = _endpoint(tidio_port, recipient="tidio", purpose="live_chat", events=())
    tidio = receivers(tidio_secret, port=tidio_port)
    subject_id = _customer()
    with django_capture_on_commit_callbacks(execute=True):  # stripe is down: this one stays pending
        [pending] = webhook_emit(event="order.paid", subject_id=subject_id, data=ORDER, actor="system")
    stripe = receivers(stripe_secret, port=stripe_port)

    with django_capture_on_commit_callbacks(execute=True):
        erasure_of_subject(subject=Subject.objects.get(pk=subject_id))

    [notice] = WebhookDelivery.objects.filter(subject_id=subject_id, event="account.erased")
    assert notice.status == "delivered" and notice.endpoint.recipient == "stripe"
    assert stripe.ids() == [notice.webhook_id]
    sent = json.loads(stripe.bodies()[0])
    assert set(sent) == {"type", "timestamp", "subject"} and sent["type"] == "account.erased"
    assert sent["subject"] == webhooks.subject_ref(recipient="stripe", subject_id=subject_id)
    assert tidio.requests() == 0  # tidio never received anything about this person
    pending.refresh_from_db()
    assert (pending.status, pending.body) == ("dropped", "")  # data about an erased person never leaves
    _make_due(pending)
    assert webhooks.webhook_deliver_due() == {}


def test_withdrawing_consent_notifies_the_recipient_whose_purpose_needed_it(
    policy, receivers, django_capture_on_commit_callbacks
) -> None:
    tidio_port, stripe_port = free_port(), free_port()
    _tidio, tidio_secret = _endpoint(
        tidio_port, recipient="tidio", purpose="live_chat", events=["consent.withdrawn", "order.paid"]
    )
    _stripe, stripe_secret = _endpoint(stripe_port, events=["consent.withdrawn", "order.paid"])
    tidio, stripe = receivers(tidio_secret, port=tidio_port), receivers(stripe_secret, port=stripe_port)
    subject_id = _customer()
    consent_set(subject_id=subject_id, purpose="live_chat", granted=True, source="portal")
    disclose(recipient="tidio", purpose="live_chat", subject_id=subject_id,
             data={"message": ("support.messages", "Hello")}, actor="system")  # fmt: skip
    disclose(recipient="stripe", purpose="payment", subject_id=subject_id, data=ORDER, actor="system")

    with django_capture_on_commit_callbacks(execute=True):
        consent_set(subject_id=subject_id, purpose="live_chat", granted=False, source="portal")

    [notice] = WebhookDelivery.objects.filter(subject_id=subject_id)
    assert notice.event == "consent.withdrawn" and notice.status == "delivered"
    sent = json.loads(tidio.bodies()[0])
    assert sent == {
        "type": "consent.withdrawn",
        "timestamp": sent["timestamp"],
        "subject": webhooks.subject_ref(recipient="tidio", subject_id=subject_id),
        "purpose": "live_chat",
    }
    assert tidio.ids() == [notice.webhook_id] and stripe.requests() == 0  # payment needs no consent

    # Tidio needs the consent: after the withdrawal an event gets nothing to it (the gate refuses).
    chat = {**ORDER, "message": ("support.messages", "Where is my order?")}
    [to_stripe] = webhook_emit(event="order.paid", subject_id=subject_id, data=chat, actor="system")
    assert to_stripe.endpoint.recipient == "stripe"
    assert WebhookDelivery.objects.filter(endpoint__recipient="tidio").count() == 1


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"url": "http://api.stripe.example/hook"}, "sharing.undeclared_host"),
        ({"recipient": "google"}, "sharing.unknown_recipient"),
        ({"purpose": "newsletter"}, "sharing.webhook_invalid"),
        ({"events": ["order.refunded"]}, "sharing.unknown_event"),
        ({"url": "ftp://127.0.0.1/hook"}, "sharing.bad_url"),
    ],
)
def test_a_wrong_endpoint_is_refused_and_nothing_is_stored(policy, changes, code) -> None:
    fields = {"recipient": "stripe", "purpose": "payment", "url": "http://127.0.0.1:9/hook", "events": []}
    with pytest.raises(PacteError) as refused:
        webhooks.webhook_endpoint_create(**{**fields, **changes}, actor="staff:1")
    assert refused.value.code == code
    assert WebhookEndpoint.objects.count() == 0


def test_an_http_endpoint_is_refused_when_insecure_urls_are_off(policy, settings) -> None:
    settings.PACTE_SHARING_ALLOW_INSECURE = False
    with pytest.raises(PacteError) as refused:
        _endpoint(9)
    assert refused.value.code == "sharing.insecure_url" and WebhookEndpoint.objects.count() == 0


def test_account_erased_is_always_subscribed_and_notices_cannot_be_emitted_as_data(policy) -> None:
    endpoint, _secret = _endpoint(9, events=())
    assert endpoint.events == ["account.erased"]
    with pytest.raises(PacteError) as refused:
        webhook_emit(event="account.erased", subject_id=_customer(), data={}, actor="system")
    assert refused.value.code == "sharing.notice_event" and WebhookDelivery.objects.count() == 0


def test_an_endpoint_the_policy_no_longer_allows_is_a_check_error(policy) -> None:
    endpoint, _secret = _endpoint(9)
    assert [e.id for e in run_checks(databases=["default"]) if e.id == "pacte.E052"] == []
    policy.write_text(policy.read_text().replace('"127.0.0.1", ', "", 1))
    [error] = [e for e in run_checks(databases=["default"]) if e.id == "pacte.E052"]
    assert str(endpoint.pk) in error.msg and "host '127.0.0.1'" in error.msg


def test_staff_register_an_endpoint_in_the_admin_and_see_its_secret_once(policy, staff_client) -> None:
    form = {"recipient": "stripe", "purpose": "payment", "url": "http://127.0.0.1:9/hook",
            "events": ["order.paid"], "active": "on"}  # fmt: skip
    refused = staff_client.post(
        "/admin/sharing/webhookendpoint/add/", {**form, "url": "http://evil.example/"}
    )
    assert refused.status_code == 200 and "does not let Pacte reach evil.example" in refused.content.decode()
    assert WebhookEndpoint.objects.count() == 0

    page = staff_client.post("/admin/sharing/webhookendpoint/add/", form)
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    [endpoint] = WebhookEndpoint.objects.all()
    assert endpoint.events == ["account.erased", "order.paid"] and endpoint.created_by.startswith("staff:")
    text = page.content.decode()
    shown = text.split('<code id="webhook-secret">', 1)[1].split("</code>", 1)[0]
    assert shown.startswith("whsec_") and shown not in endpoint.secret
    assert webhooks.signature(secret=shown, webhook_id="m", timestamp=1, body=b"") == webhooks.signature(
        secret=webhooks.open_system(endpoint.secret, secret=webhooks.SIGNING_KEY_NAME,
                                    context=webhooks._secret_context(endpoint.pk)),
        webhook_id="m", timestamp=1, body=b"",
    )  # fmt: skip
    later = staff_client.get(f"/admin/sharing/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert shown not in later and "whsec_" not in later


def test_an_endpoint_update_is_checked_and_a_deactivated_endpoint_is_not_called(
    policy, receivers, django_capture_on_commit_callbacks
) -> None:
    port = free_port()
    endpoint, secret = _endpoint(port)
    receiver = receivers(secret, port=port)
    with pytest.raises(PacteError) as refused:
        webhooks.webhook_endpoint_update(
            endpoint=endpoint,
            purpose="payment",
            url="https://evil.example/",
            events=["order.paid"],
            active=True,
        )
    assert refused.value.code == "sharing.undeclared_host"
    endpoint.refresh_from_db()
    assert endpoint.url == f"http://127.0.0.1:{port}/hook"

    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = webhook_emit(event="order.paid", subject_id=_customer(), data=ORDER, actor="system")
        webhooks.webhook_endpoint_update(
            endpoint=endpoint, purpose="payment", url=endpoint.url, events=["order.paid"], active=False
        )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == ("queued", "endpoint inactive")
    assert receiver.requests() == 0
    assert webhook_emit(event="order.paid", subject_id=_customer(), data=ORDER, actor="system") == []
