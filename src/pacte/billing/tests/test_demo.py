"""`pacte demo seed`: the shop's demo customers get orders paid through the sandbox (with their invoices),
items saved for later and testimonials (one signed, with consent; one anonymous), once."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from tests.live import pacte

from pacte.billing.models import Invoice, PaymentAttempt, WebhookEvent
from pacte.commerce import models as commerce_models
from pacte.commerce.models import Interest, Order
from pacte.commerce.tests.helpers import DBS
from pacte.consent.selectors import consent_check

pytestmark = pytest.mark.django_db(databases=DBS)


def test_demo_seed_pays_orders_through_the_sandbox_saves_items_and_publishes_two_testimonials(
    django_capture_on_commit_callbacks,
) -> None:
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # the sandbox notifies once Pacte committed
        call_command("demo", "seed", "--customers", "4", "--seed", "3", stdout=out)
    orders = list(Order.objects.order_by("created_at"))
    assert len(orders) == 3 and {o.status for o in orders} == {"paid"}
    # Paid by the sandbox's signed notification, as on the pay page: one attempt and one event each.
    assert sorted(a.state for a in PaymentAttempt.objects.all()) == ["paid"] * 3
    assert set(PaymentAttempt.objects.values_list("gateway", flat=True)) == {"sandbox"}
    assert WebhookEvent.objects.filter(gateway="sandbox").count() == 3
    invoices = list(Invoice.objects.order_by("seq"))
    assert [i.number for i in invoices] == ["F-00000001", "F-00000002", "F-00000003"]
    assert sorted(i.gross_cents for i in invoices) == sorted(o.gross_cents for o in orders)
    # Two items saved by the first and third buyers, one by the second.
    assert Interest.objects.filter(kind="saved").count() == 5
    assert "3 demo orders, 3 paid through the sandbox gateway" in out.getvalue()

    signed, anonymous = commerce_models.Testimonial.objects.order_by("created_at")  # the first buyer signed
    assert (signed.signed, anonymous.signed) == (True, False)
    assert signed.published_at is not None and anonymous.published_at is not None
    assert consent_check(subject_id=signed.subject_id, purpose="testimonials") is True
    assert consent_check(subject_id=anonymous.subject_id, purpose="testimonials") is False
    page = Client().get("/testimonials/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert signed.author_name in page and anonymous.text in page and signed.text in page

    # Seeding again adds nothing.
    call_command("demo", "seed", "--customers", "4", "--seed", "3", stdout=io.StringIO())
    assert (Order.objects.count(), Invoice.objects.count(), commerce_models.Testimonial.objects.count()) == (
        3,
        3,
        2,
    )


@pytest.mark.slow
def test_demo_seed_as_a_process_with_the_database_worker_leaves_paid_invoiced_orders(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for database in ("default", "keys", "telemetry"):
        pacte(home, "migrate", "--database", database, "--verbosity", "0")
    out = pacte(home, "demo", "seed", "--customers", "3").stdout
    assert "3 demo orders, 3 paid through the sandbox gateway" in out
    script = (
        "import json; from pacte.billing.models import Invoice; from pacte.commerce.models import Order;"
        "print(json.dumps([sorted(Order.objects.values_list('status', flat=True)),"
        " sorted(Invoice.objects.values_list('number', flat=True))]))"
    )
    statuses, numbers = json.loads(pacte(home, "shell", "-c", script).stdout.strip().splitlines()[-1])
    assert statuses == ["paid"] * 3
    assert numbers == ["F-00000001", "F-00000002", "F-00000003"]
