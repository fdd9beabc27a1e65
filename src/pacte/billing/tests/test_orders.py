"""Paying the shop's orders: the outcome callback moves the order; the pay page takes a card once."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from pacte.billing import services
from pacte.billing.flows.orders import TypedCard, order_pay, order_payable
from pacte.billing.flows.payment import payment_pay, payment_refund, payment_start
from pacte.billing.gateways import gateway_get
from pacte.billing.gateways.base import GatewayUnavailable
from pacte.billing.gateways.sandbox import SandboxGateway
from pacte.billing.models import Invoice, PaymentAttempt, StoredPaymentMethod
from pacte.billing.tasks import SEAL_SECRET, _context, payment_confirm_retry
from pacte.commerce.models import Order
from pacte.commerce.services import cart_save, order_cancel
from pacte.commerce.tests.helpers import DBS, customer_make, product_make
from pacte.commerce.tests.test_orders import _form, order_make
from pacte.ledger.models import Entry
from pacte.messaging.models import OutboxMessage
from pacte.sharing.models import WebhookDelivery
from pacte.sharing.tests.receivers import local_policy
from pacte.sharing.webhooks import webhook_endpoint_create
from pacte.vault.crypto import seal_system

pytestmark = pytest.mark.django_db(databases=DBS)
VISA = "4242 4242 4242 4242"


@pytest.fixture
def shopper():
    user = customer_make(email="ada@example.fr", name="Ada Lovelace")
    audit = product_make("audit", 49000, name_en="Site audit", name_fr="Audit de site")
    return user, order_make(user, {audit.pk: 2})


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def pay(django_capture_on_commit_callbacks):
    """Post the pay form; the sandbox's notification is delivered once the request committed."""

    def run(client: Client, order: Order, **fields: str):
        data = {"number": VISA, "expiry": "12/31", "cvc": "123", **fields}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"/shop/orders/{order.pk}/pay/", data)

    return run


def _order_states(order: Order) -> list[tuple]:
    return [
        (e.payload["from_state"], e.payload["to_state"])
        for e in Entry.objects.filter(type="order.state").order_by("seq")
        if e.payload["order_id"] == str(order.pk)
    ]


def test_checkout_sends_the_customer_to_the_pay_page() -> None:

    user = customer_make(email="eve@example.fr", name="Eve")
    guide = product_make("guide", 1200, "5.5")
    cart_save(subject_id=user.subject_id, lines={guide.pk: 1})
    client = _client(user)
    form = _form(client.get("/shop/checkout/").content.decode())
    response = client.post("/shop/checkout/", form)
    order = Order.objects.get(subject_id=user.subject_id)
    assert response.status_code == 302 and response["Location"] == f"/shop/orders/{order.pk}/pay/"
    assert (
        f'href="/shop/orders/{order.pk}/pay/"' in client.get(f"/account/orders/{order.pk}/").content.decode()
    )


def test_the_payable_is_the_order_total_with_its_lines_and_the_buyer(shopper) -> None:
    user, order = shopper
    payable = order_payable(order=order)
    assert (payable.reference, payable.subject_id, payable.amount, payable.currency) == (
        order.pk,
        user.subject_id,
        117600,  # 2 × 490.00 + 20 % VAT
        "EUR",
    )
    assert payable.lines == ("Site audit × 2",)
    assert (payable.customer_name, payable.customer_email) == ("Ada Lovelace", "ada@example.fr")


def test_checkout_lands_on_the_pay_page_and_a_sandbox_card_pays_the_order(shopper, pay) -> None:
    user, order = shopper
    client = _client(user)
    page = client.get(f"/shop/orders/{order.pk}/pay/")
    assert page.status_code == 200
    html = page.content.decode()
    for attribute in ('autocomplete="cc-number"', 'autocomplete="cc-exp"', 'autocomplete="cc-csc"'):
        assert attribute in html
    assert "<script" not in html.split('<main id="main">')[1]  # no JavaScript needed, none inline
    assert page["Cache-Control"].startswith("max-age=0")

    response = pay(client, order)
    assert response.status_code == 302 and response["Location"] == f"/shop/orders/{order.pk}/pay/"
    order.refresh_from_db()
    assert order.status == "paid"
    assert _order_states(order) == [(None, "pending_payment"), ("pending_payment", "paid")]
    attempt = PaymentAttempt.objects.get(reference=order.pk)
    assert (attempt.gateway, attempt.state, attempt.amount) == ("sandbox", "paid", 117600)
    assert 'data-state="paid"' in client.get(f"/shop/orders/{order.pk}/pay/").content.decode()
    assert "Paid" in client.get("/account/orders/").content.decode()


def test_a_double_click_on_pay_makes_one_payment(shopper, pay) -> None:
    user, order = shopper
    client = _client(user)
    pay(client, order)
    second = pay(client, order)
    assert second.status_code in (302, 409)
    assert PaymentAttempt.objects.filter(reference=order.pk).count() == 1
    assert _order_states(order).count(("pending_payment", "paid")) == 1


def test_a_declined_card_leaves_the_order_pending_and_says_so(shopper, pay) -> None:
    user, order = shopper
    client = _client(user)
    response = pay(client, order, number="4000 0000 0000 0002")
    assert response.status_code == 400
    assert "Your card was declined" in response.content.decode()
    order.refresh_from_db()
    assert order.status == "pending_payment"
    assert PaymentAttempt.objects.get(reference=order.pk).state == "failed"
    # Told on the page at once: no mail for a decline the customer just read.
    assert not OutboxMessage.objects.filter(template="billing/payment_failed").exists()
    # A second card pays it.
    assert pay(client, order).status_code == 302
    order.refresh_from_db()
    assert order.status == "paid"


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"number": "4242"}, "number"), ({"expiry": "13/30"}, "expiry"), ({"cvc": "12"}, "cvc")],
)
def test_bad_card_input_is_refused_with_the_field_named_and_nothing_written(
    shopper, fields, field, pay
) -> None:
    user, order = shopper
    response = pay(_client(user), order, **fields)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert f'id="card-{field}"' in response.content.decode().split('aria-invalid="true"')[0][-300:]
    assert not PaymentAttempt.objects.exists()


def test_the_card_is_never_stored_nor_logged_and_saving_keeps_token_brand_last4_expiry(
    shopper, caplog, pay
) -> None:
    user, order = shopper
    caplog.set_level(logging.DEBUG)
    pay(_client(user), order, save="1")
    method = StoredPaymentMethod.objects.get(subject_id=user.subject_id)
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == ("visa", "4242", 12, 2031)
    assert "4242424242424242" not in str(method.token) and "123" not in str(method.token).split("_")[3:5]
    assert "4242424242424242" not in caplog.text and "4242 4242" not in caplog.text
    assert repr(TypedCard(number="4242424242424242", exp_month=1, exp_year=2030, cvc="123")) == "TypedCard(…)"


def test_a_saved_card_pays_the_next_order(shopper, pay, django_capture_on_commit_callbacks) -> None:
    user, order = shopper
    client = _client(user)
    pay(client, order, save="1")
    method = StoredPaymentMethod.objects.get(subject_id=user.subject_id)
    audit = product_make("audit2", 1000)
    second = order_make(user, {audit.pk: 1})
    assert "ending 4242" in client.get(f"/shop/orders/{second.pk}/pay/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/shop/orders/{second.pk}/pay/", {"saved": str(method.pk)})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.status == "paid"


def test_someone_elses_order_has_no_pay_page(shopper, pay) -> None:
    _user, order = shopper
    other = customer_make(email="bob@example.fr", name="Bob")
    assert _client(other).get(f"/shop/orders/{order.pk}/pay/").status_code == 404
    assert pay(_client(other), order).status_code == 404
    assert not PaymentAttempt.objects.exists()


def test_paid_emits_order_paid_to_operator_webhooks(
    shopper, settings, tmp_path, django_capture_on_commit_callbacks
) -> None:

    local_policy(settings, tmp_path, recipients=("stripe",))
    user, order = shopper
    webhook_endpoint_create(
        recipient="stripe",
        purpose="payment",
        url="http://127.0.0.1:9/hook",
        events=["order.paid"],
        actor="staff:1",
    )
    with django_capture_on_commit_callbacks(execute=True):
        order_pay(order=order, actor="system", card=TypedCard("4242424242424242", 12, 2031, "123"))
    deliveries = list(WebhookDelivery.objects.all())
    assert [d.event for d in deliveries] == ["order.paid"]


def test_paid_after_the_order_was_cancelled_flags_the_payment_for_staff(
    shopper, django_capture_on_commit_callbacks
) -> None:

    user, order = shopper
    started = payment_start(payable=order_payable(order=order), country="FR", actor="system")
    order_cancel(order=order, actor="system")
    token = (
        gateway_get("sandbox")
        .payment_method_create(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
        .token
    )
    with django_capture_on_commit_callbacks(execute=True):
        payment_pay(attempt_id=started.attempt.id, payment_method=token, actor="system")
    attempt = PaymentAttempt.objects.get(pk=started.attempt.id)
    assert (attempt.state, attempt.reason) == ("flagged", "order_not_payable")
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_a_failure_reported_later_by_the_gateway_mails_the_customer(shopper) -> None:

    user, order = shopper
    started = payment_start(payable=order_payable(order=order), country="FR", actor="system")
    services.payment_state_set(
        attempt_id=started.attempt.id, state="processing", reason="confirm", actor="system"
    )
    services.payment_state_set(
        attempt_id=started.attempt.id, state="failed", reason="card_declined", actor="system"
    )
    mail = OutboxMessage.objects.get(template="billing/payment_failed")
    assert f"/shop/orders/{order.pk}/pay/" in str(mail.body)
    order.refresh_from_db()
    assert order.status == "pending_payment"


def test_gateway_down_at_confirmation_keeps_the_order_pending_and_the_retry_task_settles_it(
    shopper, monkeypatch, pay, django_capture_on_commit_callbacks
) -> None:

    user, order = shopper
    sandbox = gateway_get("sandbox")
    real_confirm = SandboxGateway.payment_confirm

    def down(self, **kwargs):
        raise GatewayUnavailable("connection")

    monkeypatch.setattr(SandboxGateway, "payment_confirm", down)
    response = pay(_client(user), order)
    assert response.status_code == 503
    assert "Your payment is not lost" in response.content.decode()
    order.refresh_from_db()
    attempt = PaymentAttempt.objects.get(reference=order.pk)
    assert (order.status, attempt.state) == ("pending_payment", "processing")

    sealed = seal_system(
        sandbox.payment_method_create(
            number="4242424242424242", exp_month=12, exp_year=2031, cvc="123"
        ).token,
        secret=SEAL_SECRET,
        context=_context(str(attempt.id)),
    )
    monkeypatch.setattr(SandboxGateway, "payment_confirm", real_confirm)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = payment_confirm_retry.call(attempt_id=str(attempt.id), sealed=sealed, tries=1)
    assert outcome == "sent"
    order.refresh_from_db()
    assert order.status == "paid"


def test_paying_issues_the_invoice_and_each_refund_its_credit_note(
    shopper, pay, django_capture_on_commit_callbacks
) -> None:

    user, order = shopper
    pay(_client(user), order)
    order.refresh_from_db()
    assert order.status == "paid"
    (invoice,) = Invoice.objects.filter(order_id=order.pk)
    assert invoice.kind == "invoice" and invoice.gross_cents == order.gross_cents
    attempt = PaymentAttempt.objects.get(reference=order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        payment_refund(attempt_id=attempt.id, amount=10000, actor="staff:1")
    notes = list(Invoice.objects.filter(credited=invoice).order_by("number"))
    assert [n.gross_cents for n in notes] == [10000]
    order.refresh_from_db()
    assert order.status == "paid"  # a partial refund leaves the order paid
    with django_capture_on_commit_callbacks(execute=True):
        payment_refund(attempt_id=attempt.id, amount=None, actor="staff:1")
    notes = list(Invoice.objects.filter(credited=invoice).order_by("number"))
    assert [n.gross_cents for n in notes] == [10000, order.gross_cents - 10000]
    order.refresh_from_db()
    assert order.status == "refunded"
    # Numbers run without a gap in each series: F-… for invoices, AV-… for credit notes.
    assert invoice.number.endswith("00000001") and [n.number[-2:] for n in notes] == ["01", "02"]
