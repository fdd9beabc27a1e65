"""Journeys in a real browser (Chromium through Playwright) with a real SMTP server: a visitor fills a cart,
signs up, checks out and pays on the gateway's card page; the invoice PDF carries a valid Factur-X XML;
staff (password + TOTP) refund in the admin and the credit note appears; the holder deactivates their
payment account, then erases their account; billing staff still download the invoice (legal hold).

Each gateway runs the payment part: the embedded sandbox (in process), Stripe in test mode (localstripe as
its own process, which signs and POSTs its webhooks to the live server), and PayPal (the local PayPal
server as its own process: the buyer approves on its page and comes back to Pacte's return page).
"""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path
from typing import Any

import facturx
import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.contrib.auth.models import Permission
from django.core.cache import cache
from pypdf import PdfReader

from pacte.accounts.services import user_create
from pacte.billing.models import GatewayCustomer, Invoice, PaymentAttempt
from pacte.billing.tests.conftest import (
    WEBHOOK_SECRET,
    localstripe_log_size,
    localstripe_requests,
    stripe_client,
)
from pacte.commerce.models import Order
from pacte.commerce.services import catalogue_demo_seed
from pacte.commerce.tests.helpers import customer_make
from pacte.rights.flows.erasure import erasure_run
from pacte.rights.models import RightsRequest

DBS = ["default", "keys", "telemetry"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases=DBS, transaction=True)]
PASSWORD = "une longue phrase de passe"
STAFF = "compta@operator.example"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _link(message: Any, path: str) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"[^\s]+)", body)
    assert match, body
    return match.group(1)


def _refuse_cookies(page: Any) -> None:
    banner = page.get_by_role("region", name="Your choice about cookies")
    if banner.count():
        banner.get_by_role("button", name="Refuse all").click()
        banner.wait_for(state="detached")


def _sign_in(page: Any, base: str, email: str, secret: str | None = None, next_url: str = "") -> None:
    page.goto(f"{base}/accounts/login/" + (f"?next={next_url}" if next_url else ""))
    _refuse_cookies(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()
    if secret is not None:  # staff: the second factor
        if time.time() % 30 > 25:  # never type a code in the last seconds of its 30-second period
            time.sleep(30 - time.time() % 30 + 0.5)
        page.locator("input[name=code]").fill(format_hotp_value(hotp_value(secret, int(time.time()) // 30)))
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_load_state()


def _billing_staff() -> str:
    """A member of the billing staff (payments, invoices and their PDFs), signed in with password + TOTP."""
    staff = user_create(email=STAFF, password=PASSWORD, name="Compta", birth_date=None, is_staff=True)
    for codename in ("view_paymentattempt", "refund_paymentattempt", "view_invoice", "download_invoice"):
        staff.user_permissions.add(
            Permission.objects.get(codename=codename, content_type__app_label="billing")
        )
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    return secret


def shop_and_sign_up(page: Any, base: str, smtp_server: Any, email: str, name: str) -> None:
    """A visitor puts the site audit in their cart, signs up (mail on the real SMTP server) and confirms."""
    page.goto(f"{base}/shop/")
    _refuse_cookies(page)
    page.get_by_role("link", name="Site audit").click()
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Your cart").is_visible()
    page.goto(f"{base}/accounts/signup/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Date of birth").fill("1988-06-15")
    page.get_by_label("Street and number", exact=True).fill("12 rue de la République")
    page.get_by_label("Postcode", exact=True).fill("69002")
    page.get_by_label("City", exact=True).fill("Lyon")
    page.get_by_label("I accept the terms of use").check()
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_load_state()
    (message,) = smtp_server.wait_for(1)
    assert message.envelope_to == [email]
    page.goto(base + _link(message, "/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()


def check_out(page: Any, base: str, email: str) -> Order:
    """Sign in and confirm the order of the cart (588.00 € incl. VAT); return it, pending payment."""
    _sign_in(page, base, email, next_url="/shop/checkout/")
    assert page.get_by_role("heading", name="Checkout").is_visible()
    page.get_by_role("button", name="Confirm my order (€588.00 incl. VAT)").click()
    page.wait_for_load_state()
    order = Order.objects.get()
    assert order.status == "pending_payment" and order.gross_cents == 58800
    # The checkout leads to the order's pay page.
    assert page.get_by_role("heading", name=f"Pay order {order.reference}").is_visible()
    return order


def pay_by_card(page: Any, number: str = "4242 4242 4242 4242") -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry date (MM/YY)").fill("12/31")
    page.get_by_label("Security code (3 or 4 digits on the back)").fill("314")
    page.get_by_role("button", name="Pay €588.00").click()
    page.wait_for_load_state()


def wait_paid(page: Any, order: Order, timeout: float = 30.0) -> None:
    """Wait for the order to be paid (the gateway's webhook), reloading the pay page as the customer does.

    Only the browser asks: the test thread reading the database while the live server's threads write
    would lock SQLite's shared in-memory tables.
    """
    deadline = time.monotonic() + timeout
    while not page.locator("[data-state=paid]").count():
        assert time.monotonic() < deadline, page.locator("main").inner_text()
        page.wait_for_timeout(1000)
        page.reload()
    order.refresh_from_db()
    assert order.status == "paid"


def purchase_history_shows_paid(page: Any, base: str, order: Order) -> None:
    page.goto(f"{base}/account/")
    page.get_by_role("navigation", name="My account").get_by_role("link", name="Purchase history").click()
    page.wait_for_load_state()
    row = page.locator("tbody tr").first
    assert order.reference in row.inner_text() and "Paid" in row.inner_text()


def download_invoice(page: Any, base: str, order: Order) -> bytes:
    """Download the order's invoice from its page in Purchase history; check its Factur-X XML against the XSD."""
    page.goto(f"{base}/account/orders/{order.pk}/")
    invoice = Invoice.objects.get(kind="invoice")
    with page.expect_download() as download:
        page.get_by_role("link", name=invoice.number).click()
    assert download.value.suggested_filename == f"{invoice.number}.pdf"
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert list(reader.attachments) == ["factur-x.xml"]
    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)  # raises if the XML fails the XSD
    assert filename == "factur-x.xml"
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    assert invoice.number.encode() in xml and b"588.00" in xml
    return pdf


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages)


def staff_page(chromium: Any, base: str, secret: str) -> Any:
    """Staff sign in (password + TOTP) in a browser of their own, once: a TOTP code is good only once."""
    context = chromium.new_context(locale="en-GB")
    staff = context.new_page()
    _sign_in(staff, base, STAFF, secret)
    return staff


def staff_refund_in_full(staff: Any, base: str, attempt: PaymentAttempt) -> None:
    """Staff refund the payment in full from the admin (the action runs through the gateway)."""
    staff.goto(f"{base}/admin/billing/paymentattempt/")
    staff.locator(f"input[name=_selected_action][value='{attempt.pk}']").check()
    staff.locator("select[name=action]").select_option("refund_full")
    staff.locator("button[name=index]").click()
    staff.wait_for_load_state()
    assert staff.get_by_text("1 payment(s) refunded.").is_visible()


def staff_download(staff: Any, base: str, invoice: Invoice) -> str:
    """Billing staff download the invoice from the admin's list of invoices; return the PDF's text."""
    staff.goto(f"{base}/admin/billing/invoice/")
    with staff.expect_download() as download:
        staff.get_by_role("link", name=f"{invoice.number}.pdf").click()
    return pdf_text(Path(download.value.path()).read_bytes())


def erase_account(page: Any, base: str) -> None:
    page.goto(f"{base}/account/")
    page.get_by_role("navigation", name="My account").get_by_role("link", name="Delete my account").click()
    page.get_by_label("Your current password").fill(PASSWORD)
    page.get_by_label("Type DELETE to confirm").fill("delete")
    page.get_by_role("button", name="Delete my account for good").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Your account is being deleted").is_visible()
    erasure_run(request=RightsRequest.objects.get(kind="erasure"))  # what the worker does


def test_sandbox_journey_from_cart_to_paid_invoice_refund_account_deactivation_and_erasure(
    page, chromium, live_server, smtp_server, settings, artifacts_dir
) -> None:
    settings.PACTE_BASE_URL = live_server.url
    settings.PACTE_BILLING_GATEWAYS = "sandbox"  # in process: nothing leaves Pacte
    catalogue_demo_seed()
    secret = _billing_staff()
    base = live_server.url
    email = "camille@example.fr"
    shop_and_sign_up(page, base, smtp_server, email, "Camille Martin")
    # Activation opened the holder's sandbox account (PluSuite's terms).
    [account] = GatewayCustomer.objects.filter(gateway="sandbox")
    assert account.active

    order = check_out(page, base, email)
    page.screenshot(path=str(artifacts_dir / "billing-sandbox-pay-en.png"), full_page=True)
    pay_by_card(page, "4000 0000 0000 0002")  # the sandbox's declined card
    assert page.get_by_text("Your card was declined. Nothing was charged; try another card.").is_visible()
    order.refresh_from_db()
    assert order.status == "pending_payment" and not Invoice.objects.exists()
    pay_by_card(page)
    assert page.get_by_text("Thank you: your payment is received.").is_visible()
    wait_paid(page, order)
    page.screenshot(path=str(artifacts_dir / "billing-sandbox-paid-en.png"), full_page=True)
    purchase_history_shows_paid(page, base, order)
    page.screenshot(path=str(artifacts_dir / "billing-purchase-history-en.png"), full_page=True)

    pdf = download_invoice(page, base, order)
    assert "Camille Martin" in pdf_text(pdf)
    invoice = Invoice.objects.get(kind="invoice")
    assert invoice.number == "F-00000001" and invoice.gross_cents == 58800

    # Staff refund in full in the admin: the order is refunded and its credit note appears on its page.
    attempt = PaymentAttempt.objects.get(state="paid")
    staff = staff_page(chromium, base, secret)
    staff_refund_in_full(staff, base, attempt)
    attempt.refresh_from_db()
    order.refresh_from_db()
    assert (attempt.state, attempt.refunded_amount, order.status) == ("refunded", 58800, "refunded")
    note = Invoice.objects.get(kind="credit_note")
    assert (note.number, note.gross_cents, note.credited_id) == ("AV-00000001", 58800, invoice.pk)
    page.goto(f"{base}/account/orders/{order.pk}/")
    assert page.get_by_role("link", name="AV-00000001").is_visible()

    # The holder deactivates their sandbox account on Payment accounts.
    page.goto(f"{base}/account/payment-accounts/")
    assert page.get_by_role("heading", name="Payment accounts").is_visible()
    page.screenshot(path=str(artifacts_dir / "billing-payment-accounts-en.png"), full_page=True)
    page.get_by_role("button", name="Deactivate my Sandbox account").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your Sandbox account is deleted at the payment service.").is_visible()
    account.refresh_from_db()
    assert not account.active and account.closed_at is not None
    assert page.get_by_role("button", name="Deactivate my Sandbox account").count() == 0

    # Then erases their account: the invoice stays, readable to billing staff only (legal hold).
    erase_account(page, base)
    subject = order.subject
    subject.refresh_from_db()
    assert subject.erased_at is not None
    assert Invoice.objects.filter(pk=invoice.pk).exists()
    _sign_in(page, base, email)
    assert "/accounts/login/" in page.url  # nobody to sign in as any more
    text = staff_download(staff, base, invoice)
    assert "Camille Martin" in text and "F-00000001" in text
    assert not page.foreign_requests
    staff.context.close()


def test_stripe_journey_card_page_signed_webhooks_refund_and_erasure_delete_the_stripe_customer(
    page, chromium, live_server, smtp_server, settings, stripe_gateway, artifacts_dir
) -> None:
    import stripe

    settings.PACTE_BASE_URL = live_server.url
    localstripe = stripe_gateway
    # localstripe signs its events with the endpoint's secret and POSTs them to the live server, as Stripe does.
    port = int(localstripe.rsplit(":", 1)[1])
    status, _headers, text = LocalHTTP(port).post_json(
        "/_config/webhooks/pacte",
        {"url": f"{live_server.url}/billing/webhooks/stripe/", "secret": WEBHOOK_SECRET},
    )
    assert status == 200, text
    catalogue_demo_seed()
    secret = _billing_staff()
    base = live_server.url
    email = "ines@example.fr"
    shop_and_sign_up(page, base, smtp_server, email, "Inès Morel")
    # Activation opened the holder's Stripe Customer at localstripe, with their e-mail address only.
    [account] = GatewayCustomer.objects.filter(gateway="stripe")
    customer = stripe_client(localstripe).v1.customers.retrieve(str(account.customer_ref))
    assert (customer.email, customer.name) == (email, None)

    order = check_out(page, base, email)
    assert page.get_by_text("Your card (handed to Stripe Payments, never kept by us)").is_visible()
    page.screenshot(path=str(artifacts_dir / "billing-stripe-pay-en.png"), full_page=True)
    since = localstripe_log_size()
    pay_by_card(page)
    wait_paid(page, order)  # by localstripe's signed payment_intent.succeeded, POSTed to the live server
    calls = localstripe_requests(since)
    assert "POST /v1/payment_methods" in calls and "POST /v1/payment_intents" in calls
    attempt = PaymentAttempt.objects.get(gateway="stripe")
    intent = stripe_client(localstripe).v1.payment_intents.retrieve(str(attempt.gateway_id))
    assert (intent.status, intent.amount, intent.customer) == ("succeeded", 58800, account.customer_ref)
    purchase_history_shows_paid(page, base, order)
    download_invoice(page, base, order)

    staff = staff_page(chromium, base, secret)
    staff_refund_in_full(staff, base, attempt)
    order.refresh_from_db()
    assert order.status == "refunded"
    refunds = stripe_client(localstripe).v1.refunds.list(params={"payment_intent": intent.id})
    assert [r.amount for r in refunds.data] == [58800]
    assert Invoice.objects.get(kind="credit_note").gross_cents == 58800

    # Erasure deletes the Stripe Customer at localstripe; billing staff still download the invoice.
    since = localstripe_log_size()
    erase_account(page, base)
    assert f"DELETE /v1/customers/{account.customer_ref}" in localstripe_requests(since)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client(localstripe).v1.customers.retrieve(str(account.customer_ref))
    assert not GatewayCustomer.objects.filter(pk=account.pk).exists()  # nothing of the holder is kept
    invoice = Invoice.objects.get(kind="invoice")
    assert "Inès Morel" in staff_download(staff, base, invoice)
    staff.context.close()
    assert not page.foreign_requests


class LocalHTTP:
    """A few raw requests to a loopback test server (billing may not import an HTTP library)."""

    def __init__(self, port: int) -> None:
        self.port = port

    def post_json(self, path: str, data: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        import http.client
        import json

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("POST", path, json.dumps(data), {"Content-Type": "application/json"})
            answer = connection.getresponse()
            return answer.status, dict(answer.getheaders()), answer.read().decode()
        finally:
            connection.close()


def test_paypal_journey_buyer_approves_on_paypals_page_comes_back_and_the_order_is_paid(
    page, chromium, live_server, settings, paypal_gateway, artifacts_dir
) -> None:

    paypal = paypal_gateway
    base = live_server.url
    settings.PACTE_BASE_URL = base
    settings.PACTE_PAYPAL_RETURN_URL = f"{base}/billing/paypal/return/"
    settings.PACTE_PAYPAL_CANCEL_URL = f"{base}/billing/paypal/cancel/"
    # PayPal POSTs its signed events here, a moment after the capture (as localstripe does: the live
    # server's in-memory SQLite cannot take the webhook's write while the redirected page is being read).
    paypal.configure(webhook_url=f"{base}/billing/webhooks/paypal/", webhook_delay=1.0)
    catalogue_demo_seed()
    secret = _billing_staff()
    customer_make("lucie@example.fr", name="Lucie Bernard", language="en")
    page.goto(f"{base}/shop/site-audit/")
    _refuse_cookies(page)
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_load_state()
    order = check_out(page, base, "lucie@example.fr")
    assert page.get_by_label("Card number").count() == 0  # PayPal: no card typed on Pacte's page
    page.screenshot(path=str(artifacts_dir / "billing-paypal-pay-en.png"), full_page=True)

    # The buyer goes to PayPal, changes their mind and comes back: nothing charged, still to pay.
    page.get_by_role("button", name="Pay €588.00 with PayPal").click()
    page.wait_for_load_state()
    assert page.url.startswith(f"{paypal.base}/checkoutnow?token="), page.locator("main").inner_text()
    first = PaymentAttempt.objects.get()
    assert first.state == "pending" and page.url.endswith(first.gateway_id)
    page.get_by_role("button", name="Cancel and return to the merchant").click()
    page.wait_for_load_state()
    assert page.url == f"{base}/shop/orders/{order.pk}/pay/"
    assert page.get_by_text("You cancelled the payment at PayPal. Nothing was charged.").is_visible()

    # Then pays: a new PayPal order (the first is never captured), approved on PayPal's page.
    page.get_by_role("button", name="Pay €588.00 with PayPal").click()
    page.wait_for_load_state()
    assert page.locator("#amount").inner_text() == "Pay 588.00 EUR"
    page.screenshot(path=str(artifacts_dir / "billing-paypal-approve.png"), full_page=True)
    page.get_by_role("button", name="Approve and pay").click()
    page.wait_for_load_state()
    # Back on Pacte: the return page captured the order and sent the buyer to the order's pay page.
    assert page.url == f"{base}/shop/orders/{order.pk}/pay/"
    assert page.get_by_text("Thank you: PayPal confirmed your payment.").is_visible()
    wait_paid(page, order)  # PAYMENT.CAPTURE.COMPLETED, signed by the local PayPal, verified by Pacte
    page.screenshot(path=str(artifacts_dir / "billing-paypal-paid-en.png"), full_page=True)

    first.refresh_from_db()
    second = PaymentAttempt.objects.exclude(pk=first.pk).get()
    assert (first.state, first.reason, first.live) == ("failed", "approval_abandoned", False)
    assert (second.state, second.amount) == ("paid", 58800)
    state = paypal.state()
    assert state["orders"][first.gateway_id]["status"] == "PAYER_ACTION_REQUIRED"  # never captured
    [capture] = [c for c in state["captures"].values() if c["supplementary_data"]["related_ids"]["order_id"] == second.gateway_id]  # fmt: skip
    assert (capture["status"], capture["amount"]["value"]) == ("COMPLETED", "588.00")
    # The local PayPal serves the whole session (other tests' events are in its state): this capture's
    # notification was delivered and accepted.
    events = [
        e
        for e in state["events"]
        if e["type"] == "PAYMENT.CAPTURE.COMPLETED"
        and json.loads(e["body"])["resource"]["id"] == capture["id"]
    ]
    assert events and 200 in {e["delivered"] for e in events}
    assert Invoice.objects.get(kind="invoice").gross_cents == 58800

    # A reload of the return address captures nothing more; someone else's token is unknown.
    page.goto(f"{base}/billing/paypal/return/?token={second.gateway_id}&PayerID=ABCDEFGHIJKLM")
    assert page.url == f"{base}/shop/orders/{order.pk}/pay/"
    assert [
        c["id"]
        for c in paypal.state()["captures"].values()
        if c["supplementary_data"]["related_ids"]["order_id"] in (first.gateway_id, second.gateway_id)
    ] == [capture["id"]]
    response = page.goto(f"{base}/billing/paypal/return/?token=5O190127TN364715T&PayerID=ABCDEFGHIJKLM")
    assert response.status == 404 and page.get_by_text("There is no such payment.").is_visible()
    response = page.goto(f"{base}/billing/paypal/return/?token=%3Cscript%3E")
    assert response.status == 400
    purchase_history_shows_paid(page, base, order)
    download_invoice(page, base, order)

    # Staff refund through PayPal (its PAYMENT.CAPTURE.REFUNDED counts once); the credit note follows.
    staff = staff_page(chromium, base, secret)
    staff_refund_in_full(staff, base, second)
    order.refresh_from_db()
    assert order.status == "refunded"
    assert Invoice.objects.get(kind="credit_note").gross_cents == 58800
    # The local PayPal serves the whole session: this capture's refund ("up" link names the capture).
    [refund] = [
        r
        for r in paypal.state()["refunds"].values()
        if any(link["href"].endswith(f"/v2/payments/captures/{capture['id']}") for link in r["links"])
    ]
    assert refund["amount"]["value"] == "588.00"

    # Erasure deletes what PayPal holds for the buyer (the vaulted wallet); billing staff keep the invoice.
    [account] = GatewayCustomer.objects.filter(gateway="paypal")
    customer_ref = str(account.customer_ref)
    assert len(paypal.state()["customers"][customer_ref]["payment_tokens"]) == 1
    erase_account(page, base)
    assert paypal.state()["customers"][customer_ref]["payment_tokens"] == []
    assert "Lucie Bernard" in staff_download(staff, base, Invoice.objects.get(kind="invoice"))
    staff.context.close()
    paypal.configure(webhook_url="")
    assert not page.foreign_requests
