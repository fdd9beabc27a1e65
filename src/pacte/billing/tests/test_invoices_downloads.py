"""Downloads: a customer gets their own invoices from Purchase history (404 for anyone else's); billing
staff get any invoice from the admin, also after the customer's erasure (legal hold), and only they do;
retention's key destruction leaves numbers and amounts only."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.contrib.auth.models import Permission
from django.test import Client
from pypdf import PdfReader

from pacte.accounts.services import user_create
from pacte.billing import invoices
from pacte.billing.models import Invoice
from pacte.billing.tests.test_invoices import paid_order, shop  # noqa: F401 - the fixture
from pacte.commerce.tests.helpers import DBS, PASSWORD, customer_make
from pacte.core.erased import ERASED
from pacte.ledger.models import Entry
from pacte.rights.flows.erasure import erasure_of_subject
from pacte.vault.services import keys_destroy

pytestmark = pytest.mark.django_db(databases=DBS)


def _text(pdf: bytes) -> str:
    return " ".join(
        " ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )


def _staff(*perms: str) -> tuple[Client, Any]:
    """A staff member with ``perms`` (billing app), signed in the only way there is: password, then TOTP."""
    email = f"agent-{uuid.uuid4().hex[:8]}@example.fr"
    staff = user_create(email=email, password=PASSWORD, name="Agent", birth_date=None, is_staff=True)
    for codename in perms:
        staff.user_permissions.add(
            Permission.objects.get(codename=codename, content_type__app_label="billing")
        )
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    client = Client()
    client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    code = format_hotp_value(hotp_value(secret, list(yield_hotp_counters_from_time())[-1]))
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    return client, staff


def test_a_customer_downloads_their_invoice_from_the_order_page_and_nobody_else_can(shop) -> None:  # noqa: F811
    order = paid_order(shop["user"], shop["lines"])
    invoice = invoices.invoice_issue(order=order, actor="system")
    note = invoices.credit_note_issue(invoice=invoice, amount=500, actor="staff:1")
    owner = Client()
    owner.force_login(shop["user"])
    page = owner.get(f"/account/orders/{order.pk}/").content.decode()
    url = f"/account/invoices/{invoice.pk}/pdf/"
    assert f'href="{url}"' in page and "F-00000001" in page
    assert f'href="/account/invoices/{note.pk}/pdf/"' in page and "AV-00000001" in page
    response = owner.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="F-00000001.pdf"'
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    reader = PdfReader(io.BytesIO(response.content))
    assert list(reader.attachments) == ["factur-x.xml"] and "Léa Roux" in _text(response.content)

    stranger = Client()
    stranger.force_login(customer_make(email="autre@example.fr", name="Autre"))
    assert stranger.get(url).status_code == 404
    assert stranger.get(f"/account/invoices/{uuid.uuid4()}/pdf/").status_code == 404
    assert "F-00000001" not in stranger.get(f"/account/orders/{order.pk}/").content.decode()
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


def test_an_order_without_invoice_shows_no_invoice_section(shop) -> None:  # noqa: F811
    order = paid_order(shop["user"], shop["lines"])
    owner = Client()
    owner.force_login(shop["user"])
    assert "/account/invoices/" not in owner.get(f"/account/orders/{order.pk}/").content.decode()


def test_after_erasure_the_invoice_stays_readable_to_billing_staff_only_then_retention_destroys_it(
    shop,  # noqa: F811
) -> None:
    invoice = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    subject = shop["user"].subject
    erasure_of_subject(subject=subject)
    kept = Invoice.objects.get(pk=invoice.pk)
    assert kept.buyer_name == "Léa Roux" and kept.lines[0]["name_fr"] == "Audit de site"
    url = f"/admin/billing/invoice/{invoice.pk}/pdf/"

    assert Client().get(url).status_code == 302  # not signed in: the admin's login
    plain_staff, _agent = _staff("view_invoice")  # may list invoices, may not open them
    assert plain_staff.get(url).status_code == 403
    reads = Entry.objects.filter(type="staff.read").count()
    billing_staff, agent = _staff("view_invoice", "download_invoice")
    response = billing_staff.get(url)
    assert response.status_code == 200 and "Léa Roux" in _text(response.content)
    entry = Entry.objects.filter(type="staff.read").order_by("-seq").first()
    assert Entry.objects.filter(type="staff.read").count() == reads + 1
    assert entry is not None and entry.actor == f"staff:{agent.pk}" and entry.subject_id == subject.pk
    assert entry.payload == {
        "model": "billing.Invoice",
        "fields": "buyer,lines",
        "reason": "invoice_download",
    }
    assert billing_staff.get(f"/admin/billing/invoice/{uuid.uuid4()}/pdf/").status_code == 404
    listing = billing_staff.get("/admin/billing/invoice/").content.decode()
    assert "F-00000001" in listing and "Léa" not in listing  # the list decrypts nothing

    # At the legal term, retention destroys the invoices key: numbers and amounts stay, the person does not.
    keys_destroy(subject=subject, retention_class="invoices")
    gone = Invoice.objects.get(pk=invoice.pk)
    assert gone.buyer_name is ERASED and gone.lines is ERASED
    assert gone.number == "F-00000001" and gone.gross_cents == 61332
