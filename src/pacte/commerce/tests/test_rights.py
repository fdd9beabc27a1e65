"""Rights over shop data: the export holds orders, cart and staff contacts (the readable page lists the
orders); erasure keeps what the law requires of invoiced orders, readable under the legal hold, and
nothing else."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from types import SimpleNamespace

import pytest
from django.utils import timezone

from pacte.commerce import contact, interests, services, testimonials
from pacte.commerce import models as shop_models  # its Testimonial would look like a test class
from pacte.commerce.models import (
    Cart,
    CartLine,
    ContactMessage,
    Interest,
    InterestObjection,
    Order,
    OrderContact,
    OrderLine,
    Product,
    Subscription,
)
from pacte.commerce.services import cart_save
from pacte.commerce.tests.helpers import DBS, customer_make, product_make
from pacte.commerce.tests.test_orders import order_make
from pacte.rights import exports
from pacte.rights.flows.erasure import erasure_of_subject
from pacte.vault.models import DataKey

pytestmark = pytest.mark.django_db(databases=DBS)


@pytest.fixture
def shop():
    audit = product_make("audit", 49000, name_en="Site audit", name_fr="Audit de site")
    guide = product_make("guide", 1200, "5.5", name_en="Digital guide", name_fr="Guide numérique")
    user = customer_make(
        postal_address={"lines": ["8 rue Gamma"], "postcode": "69003", "city": "Lyon", "country": "FR"}
    )
    paid = order_make(user, {audit.pk: 1, guide.pk: 2}, lang="fr")
    services.order_mark_paid(order=paid, actor="system")
    pending = order_make(user, {guide.pk: 1}, lang="fr")
    services.order_contact_record(
        order=paid, channel="email", contacted_at=timezone.now(), note="Facture renvoyée", actor="system"
    )
    cart_save(subject_id=user.subject_id, lines={audit.pk: 3})
    return user, paid, pending


def _export(user, lang: str) -> zipfile.ZipFile:
    out = io.BytesIO()
    exports.export_write(subject=user.subject, out=out, lang=lang)
    return zipfile.ZipFile(io.BytesIO(out.getvalue()))


def test_the_export_holds_orders_cart_and_contacts_and_the_page_lists_the_orders(shop) -> None:
    user, paid, pending = shop
    archive = _export(user, "fr")
    records = json.loads(archive.read("data.json"))["records"]
    by_reference = {row["reference"]: row for row in records["orders"]}
    assert set(by_reference) == {paid.reference, pending.reference}
    row = by_reference[paid.reference]
    assert (
        row["status"] == "paid" and row["gross_cents"] == paid.gross_cents and row["buyer_name"] == "Léa Roux"
    )
    assert (
        row["items"] == "Audit de site × 1; Guide numérique × 2" and row["billing_address"]["city"] == "Lyon"
    )
    assert records["cart"] == [{"product": "audit", "quantity": 3}]
    assert records["order_contacts"][0]["note"] == "Facture renvoyée"
    header = next(csv.reader(io.StringIO(archive.read("orders.csv").decode())))
    assert header[:3] == ["reference", "status", "created_at"]
    page = archive.read("index.html").decode()
    assert "Vos commandes" in page and paid.reference in page and pending.reference in page
    assert "Payée" in page and "En attente de paiement" in page and "Guide numérique × 2" in page


def test_erasure_keeps_invoiced_orders_readable_under_the_hold_and_nothing_else(shop) -> None:
    user, paid, pending = shop
    erasure_of_subject(subject=user.subject)
    # The paid order stays whole, as an invoice must: reference, dates, lines, amounts, buyer.
    kept = Order.objects.get()
    assert kept.pk == paid.pk and kept.status == "paid" and kept.paid_at is not None
    assert kept.buyer_name == "Léa Roux" and kept.billing_address["city"] == "Lyon"
    assert kept.checkout_token is None
    assert OrderLine.objects.filter(order=kept).count() == 2
    assert {k.retention_class for k in DataKey.objects.filter(subject_id=user.subject_id)} == {"invoices"}
    # The order never paid, the cart and the staff's notes are gone; every other key was destroyed (above).
    assert not Order.objects.filter(pk=pending.pk).exists()
    assert not Cart.objects.exists() and not CartLine.objects.exists()
    assert not OrderContact.objects.exists()
    user.subject.refresh_from_db()
    assert user.subject.erased_at is not None


def test_export_and_erasure_reach_testimonials_interests_subscriptions_and_contact_messages(shop) -> None:
    from django.test import Client

    user, paid, _pending = shop
    plan = product_make("plan-essential", 1900, kind="plan", period="month")
    plan_order = order_make(user, {plan.pk: 1}, lang="fr")
    services.order_mark_paid(order=plan_order, actor="system")
    testimonials.testimonial_write(customer=user, text="Excellent.", signed=True, name="Léa R.", lang="fr")
    interests.interest_record(
        subject_id=user.subject_id, product=Product.objects.get(slug="audit"), kind="saved"
    )
    contact.contact_send(
        name="Léa Roux", email="lea@example.fr", message="Une question.", lang="fr", customer=user
    )
    visitor = contact.contact_send(
        name="Jean Passant", email="jean@example.fr", message="Bonjour.", lang="fr"
    )

    records = json.loads(_export(user, "fr").read("data.json"))["records"]
    assert (
        records["testimonials"][0]["text"] == "Excellent."
        and records["testimonials"][0]["author_name"] == "Léa R."
    )
    assert records["interests"] == [
        {
            "product": "audit",
            "kind": "saved",
            "first_at": records["interests"][0]["first_at"],
            "last_at": records["interests"][0]["last_at"],
        }
    ]
    assert (
        records["plan_subscriptions"][0]["plan"] == "plan-essential"
        and records["plan_subscriptions"][0]["state"] == "active"
    )
    assert [row["message"] for row in records["contact_messages"]] == ["Une question."]
    page = _export(user, "fr").read("index.html").decode()
    assert "Vos abonnements" in page and "Formule d’abonnement" not in page
    assert "plan-essential" in page and "Actif" in page
    # The visitor's message is reached through its own subject.
    visitor_records = json.loads(_export(SimpleNamespace(subject=visitor.subject), "en").read("data.json"))[
        "records"
    ]
    assert visitor_records["contact_messages"][0]["email"] == "jean@example.fr"

    erasure_of_subject(subject=user.subject)
    assert not shop_models.Testimonial.objects.filter(subject=user.subject).exists()
    assert not Interest.objects.exists() and not InterestObjection.objects.exists()
    assert not Subscription.objects.exists()
    assert list(ContactMessage.objects.values_list("pk", flat=True)) == [visitor.pk]
    assert Order.objects.filter(pk=plan_order.pk).exists()  # invoiced: kept under the hold
    erasure_of_subject(subject=visitor.subject)
    assert not ContactMessage.objects.exists()
    assert Client().get("/testimonials/").content.decode().count("Excellent.") == 0
