"""Journey in a real browser (Chromium through Playwright) with a real SMTP server: a visitor fills a cart,
signs up, checks out and finds the order in Purchase history; screenshots of each page."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from pacte.commerce import contact, services, testimonials
from pacte.commerce import models as shop_models  # its Testimonial would look like a test class
from pacte.commerce.models import ContactMessage, Order, Product, Subscription
from pacte.commerce.services import catalogue_demo_seed
from pacte.commerce.tests.helpers import customer_make
from pacte.commerce.tests.test_orders import order_make

DBS = ["default", "keys", "telemetry"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases=DBS, transaction=True)]
PASSWORD = "une longue phrase de passe"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _link(message, path: str) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"[^\s]+)", body)
    assert match, body
    return match.group(1)


def test_a_visitor_fills_a_cart_signs_up_checks_out_and_sees_the_order(
    page, live_server, smtp_server, artifacts_dir
) -> None:
    catalogue_demo_seed()
    base = live_server.url
    page.goto(f"{base}/shop/")
    banner = page.get_by_role("region", name="Your choice about cookies")
    if banner.count():
        banner.get_by_role("button", name="Refuse all").click()
        banner.wait_for(state="detached")
    assert page.get_by_role("heading", name="Shop", exact=True).is_visible()
    page.screenshot(path=str(artifacts_dir / "shop-catalogue-en.png"), full_page=True)

    page.get_by_role("link", name="Site audit").click()
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_load_state()
    page.goto(f"{base}/shop/plan-essential/")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Your cart").is_visible()
    assert page.get_by_text("€1,198.80").is_visible()  # (2 × 490 + 19) + 20 % VAT
    page.screenshot(path=str(artifacts_dir / "shop-cart-en.png"), full_page=True)
    assert not page.foreign_requests

    page.get_by_role("link", name="Go to checkout").click()  # a visitor is asked to sign in
    page.goto(f"{base}/accounts/signup/")
    page.get_by_label("Email").fill("camille@example.fr")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Full name").fill("Camille Martin")
    page.get_by_label("Date of birth").fill("1988-06-15")
    page.get_by_label("Street and number", exact=True).fill("12 rue de la République")
    page.get_by_label("Postcode", exact=True).fill("69002")
    page.get_by_label("City", exact=True).fill("Lyon")
    page.get_by_label("I accept the terms of use").check()
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_load_state()
    (message,) = smtp_server.wait_for(1)
    page.goto(base + _link(message, "/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()

    page.goto(f"{base}/accounts/login/?next=/shop/checkout/")
    page.get_by_label("Email").fill("camille@example.fr")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()
    # The visitor's cart followed them into their account.
    assert page.get_by_role("heading", name="Checkout").is_visible()
    assert page.get_by_text("Ordered by Camille Martin.").is_visible()
    page.screenshot(path=str(artifacts_dir / "shop-checkout-en.png"), full_page=True)
    page.get_by_role("button", name="Confirm my order (€1,198.80 incl. VAT)").click()
    page.wait_for_load_state()
    order = Order.objects.get()
    assert page.get_by_text(f"your order {order.reference} is recorded").is_visible()

    confirmation = smtp_server.wait_for(2)[1]
    assert confirmation["Subject"] == f"Your order {order.reference}"
    assert confirmation.envelope_to == ["camille@example.fr"]

    page.goto(f"{base}/account/")
    page.get_by_role("navigation", name="My account").get_by_role("link", name="Purchase history").click()
    page.wait_for_load_state()
    row = page.locator("tbody tr").first
    assert order.reference in row.inner_text() and "Pending payment" in row.inner_text()
    page.screenshot(path=str(artifacts_dir / "shop-purchase-history-en.png"), full_page=True)
    row.get_by_role("link", name=order.reference).click()
    assert page.get_by_role("heading", name=f"Order {order.reference}").is_visible()
    assert not page.foreign_requests


def test_a_customer_writes_testimonials_contacts_the_shop_and_cancels_a_subscription(
    page, live_server, smtp_server, artifacts_dir
) -> None:

    catalogue_demo_seed()
    user = customer_make("camille@example.fr", name="Camille Martin", language="en")
    plan = Product.objects.get(slug="plan-essential")
    services.order_mark_paid(order=order_make(user, {plan.pk: 1}), actor="system")
    received = len(smtp_server.wait_for(1))  # the order's confirmation
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    banner = page.get_by_role("region", name="Your choice about cookies")
    if banner.count():
        banner.get_by_role("button", name="Refuse all").click()
        banner.wait_for(state="detached")
    page.get_by_label("Email").fill("camille@example.fr")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()

    # A signed testimonial (the box is the consent), then an anonymous one.
    page.goto(f"{base}/testimonials/write/")
    page.get_by_label("Your testimonial").fill("Setup was quick and the team answers fast.")
    page.get_by_label("Show my name with my testimonial").check()
    page.screenshot(path=str(artifacts_dir / "shop-testimonial-write-en.png"), full_page=True)
    page.get_by_role("button", name="Send my testimonial").click()
    page.wait_for_load_state()
    page.goto(f"{base}/testimonials/write/")
    page.get_by_label("Your testimonial").fill("Clear invoices, no surprise.")
    page.get_by_role("button", name="Send my testimonial").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="My testimonials").is_visible()
    for row in shop_models.Testimonial.objects.all():  # staff publish both (admin action)
        testimonials.testimonial_publish(testimonial=row)
    page.goto(f"{base}/testimonials/")
    cards = page.locator("ul.testimonials li")
    assert cards.count() == 2
    signed = cards.filter(has_text="Setup was quick")
    assert "Camille Martin" in signed.inner_text()
    assert "A customer" in cards.filter(has_text="Clear invoices").inner_text()
    page.screenshot(path=str(artifacts_dir / "shop-testimonials-en.png"), full_page=True)
    # Removing the signed one takes it down at once.
    page.goto(f"{base}/account/testimonials/")
    page.locator("li", has_text="Setup was quick").get_by_role(
        "button", name="Remove this testimonial"
    ).click()
    page.wait_for_load_state()
    page.goto(f"{base}/testimonials/")
    assert page.locator("ul.testimonials li").count() == 1
    assert not page.get_by_text("Camille Martin").count()

    # The contact form, and the staff's answer by mail.
    page.goto(f"{base}/contact/")
    page.get_by_label("Your e-mail address").fill("camille@example.fr")
    page.get_by_label("Your message").fill("Can I change my plan to yearly?")
    page.screenshot(path=str(artifacts_dir / "shop-contact-en.png"), full_page=True)
    page.get_by_role("button", name="Send my message").click()
    page.wait_for_load_state()
    assert page.get_by_text("your message is sent").is_visible()
    contact.contact_answer(
        message=ContactMessage.objects.get(), answer="Yes: write to us at renewal.", actor="staff:1"
    )
    answer = smtp_server.wait_for(received + 1)[received]
    received += 1
    assert answer["Subject"] == "Answer to your message" and answer.envelope_to == ["camille@example.fr"]
    assert "Yes: write to us at renewal." in answer.get_body(preferencelist=("plain",)).get_content()

    # Cancel the subscription: two clicks, confirmed by mail.
    page.goto(f"{base}/account/")
    page.get_by_role("navigation", name="My account").get_by_role("link", name="My subscriptions").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Cancel Essential plan").click()
    page.wait_for_load_state()
    page.screenshot(path=str(artifacts_dir / "shop-subscription-cancel-en.png"), full_page=True)
    page.get_by_role("button", name="Yes, cancel my subscription").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your subscription is cancelled.").is_visible()
    assert "Cancelled: ends at the end of the period" in page.locator("tbody tr").first.inner_text()
    mail = smtp_server.wait_for(received + 1)[received]
    assert mail["Subject"] == "Your subscription to Essential plan is cancelled"
    assert Subscription.objects.get().state == "cancel_at_period_end"
    assert not page.foreign_requests
