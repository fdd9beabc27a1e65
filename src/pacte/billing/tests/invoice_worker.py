"""A separate process that issues invoices, for the gap-free numbering test (test_invoices_concurrency.py).

``python invoice_worker.py setup N`` makes N paid orders and prints their ids (JSON);
``python invoice_worker.py issue WORKER IDS_FILE`` issues the invoice of every order in IDS_FILE, in an
order of its own, rolling back every 5th issue once (a failure after the number was taken) and
crediting 100 cents on its share of the orders; ``python invoice_worker.py check`` prints the numbers.
The database is whatever DATABASE_URL / PACTE_HOME name, as for any Pacte process.
"""

from __future__ import annotations

import json
import os
import random
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacte.settings")


class Rollback(Exception):
    pass


def setup(count: int) -> None:
    from decimal import Decimal

    from pacte.accounts.services import user_create
    from pacte.commerce import selectors
    from pacte.commerce import services as commerce
    from pacte.commerce.models import Product
    from pacte.policy.services import policy_version_record_active

    policy_version_record_active()
    product = commerce.product_save(
        product=Product(
            slug="race", name_fr="Course", name_en="Race", price_cents=1000, vat_rate=Decimal("20.0")
        )
    )
    user = user_create(email="race@example.fr", password="une longue phrase de passe", name="Race Test")
    ids = []
    for _ in range(count):
        commerce.cart_save(subject_id=user.subject_id, lines={product.pk: 1})
        view = selectors.cart_view(lines={product.pk: 1}, lang="fr")
        order, _created = commerce.order_place(
            customer=user,
            token=commerce.checkout_token_issue(subject_id=user.subject_id),
            quote=commerce.quote_digest(view),
            lang="fr",
        )
        ids.append(str(commerce.order_mark_paid(order=order, actor="system").pk))
    print(json.dumps(ids))


def issue(worker: int, ids_file: str) -> None:
    from django.db import transaction

    from pacte.billing import invoices
    from pacte.commerce.models import Order

    with open(ids_file) as handle:
        ids = json.load(handle)
    mine = [order_id for index, order_id in enumerate(ids) if index % 4 == worker]
    order = list(ids)
    random.Random(worker).shuffle(order)  # every worker tries every order, each in its own order
    for step, order_id in enumerate(order):
        found = Order.objects.get(pk=order_id)
        if step % 5 == 0:
            try:
                with transaction.atomic():
                    invoices.invoice_issue(order=found, actor="system")
                    raise Rollback  # the number taken above goes back with the rest
            except Rollback:
                pass
        invoice = invoices.invoice_issue(order=found, actor="system")
        if order_id in mine and ids.index(order_id) % 3 == 0:
            invoices.credit_note_issue(invoice=invoice, amount=100, actor="system")


def check() -> None:
    from pacte.billing.models import Invoice

    rows = list(Invoice.objects.order_by("series", "seq").values_list("series", "seq", "order_id", "kind"))
    print(json.dumps([[series, seq, str(order_id), kind] for series, seq, order_id, kind in rows]))


if __name__ == "__main__":
    import django

    django.setup()
    action = sys.argv[1]
    if action == "setup":
        setup(int(sys.argv[2]))
    elif action == "issue":
        issue(int(sys.argv[2]), sys.argv[3])
    else:
        check()
