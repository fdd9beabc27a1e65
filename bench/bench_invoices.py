#!/usr/bin/env python
"""Invoices: time to issue one (number under the row lock, snapshot, encryption), to render its PDF/A-3
(WeasyPrint), its EN 16931 XML, and the whole Factur-X PDF (PDF + XML checked against the XSD and
embedded); median of N each, after one warm-up (fonts loaded). A 1-line and a 20-line invoice."""

from __future__ import annotations

import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import figure  # noqa: E402

N = int(os.environ.get("PACTE_BENCH_INVOICES", "20"))


def _median_ms(action: Any, rounds: int = N) -> float:
    action()  # warm-up: fonts, templates, the XSD
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    from _django import setup

    setup()
    from pacte.accounts.services import user_create
    from pacte.billing import invoice_render, invoices
    from pacte.commerce import selectors
    from pacte.commerce import services as commerce
    from pacte.commerce.models import Product
    from pacte.vault.crypto import vault_scope

    products = [
        commerce.product_save(
            product=Product(
                slug=f"p{i}",
                name_fr=f"Produit {i}",
                name_en=f"Product {i}",
                price_cents=1000 + i,
                vat_rate=Decimal("5.5" if i % 3 else "20.0"),
            )
        )
        for i in range(20)
    ]
    user = user_create(email="bench@example.fr", password=None, name="Bench Client")

    def paid(lines: dict[int, int]) -> Any:
        commerce.cart_save(subject_id=user.subject_id, lines=lines)
        view = selectors.cart_view(lines=lines, lang="fr")
        order, _created = commerce.order_place(
            customer=user,
            token=commerce.checkout_token_issue(subject_id=user.subject_id),
            quote=commerce.quote_digest(view),
            lang="fr",
        )
        return commerce.order_mark_paid(order=order, actor="system")

    with vault_scope():
        orders = [paid({products[0].pk: 1}) for _ in range(N + 1)]
        pending = iter(orders)
        figure(
            "invoice_issue_ms",
            _median_ms(lambda: invoices.invoice_issue(order=next(pending), actor="system")),
            "ms",
        )
        for size, lines in (("1line", {products[0].pk: 1}), ("20lines", {p.pk: 2 for p in products})):
            invoice = invoices.invoice_issue(order=paid(lines), actor="system")
            figure(
                f"invoice_xml_{size}_ms",
                _median_ms(lambda inv=invoice: invoice_render.invoice_xml(inv)),
                "ms",
            )
            figure(
                f"invoice_pdf_{size}_ms",
                _median_ms(lambda inv=invoice: invoice_render.invoice_pdf(inv)),
                "ms",
            )
            figure(
                f"invoice_facturx_{size}_ms",
                _median_ms(lambda inv=invoice: invoice_render.invoice_facturx(inv)),
                "ms",
            )
            figure(f"invoice_facturx_{size}_kb", len(invoice_render.invoice_facturx(invoice)) / 1024, "KiB")


if __name__ == "__main__":
    main()
