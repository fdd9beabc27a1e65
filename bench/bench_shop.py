#!/usr/bin/env python
"""The shop: catalogue and cart pages against a bare Django view (same server, same run), then the
purchase history of a customer with 1,000 orders, in process (time per page, SQL queries per page)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import PACTE, alternate, figure, pacte_server  # noqa: E402

ORDERS = int(os.environ.get("PACTE_BENCH_ORDERS", "1000"))


def pages() -> None:
    with pacte_server(web_workers=2) as server:
        subprocess.run(
            [*PACTE, "demo", "seed", "--customers", "0"], env=server.env, check=True, capture_output=True
        )
        result = alternate(
            {
                "catalogue": server.url("/shop/"),
                "cart": server.url("/shop/cart/"),
                "bare": server.url("/_bench/bare"),
            },
            rounds=3,
            seconds=3,
            connections=8,
            threads=1,
        )
    for name in ("catalogue", "cart"):
        if result[name]["errors"]:
            print(f"# warning: {result[name]['errors']} non-2xx responses on {name}")
        figure(f"{name}_rps", result[name]["rps"], "req/s")
        figure(f"{name}_vs_bare_ratio", result[name]["rps"] / result["bare"]["rps"], "x")
    figure("bare_rps", result["bare"]["rps"], "req/s")


def history() -> None:
    from _django import setup

    setup()
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from pacte.accounts.services import user_create
    from pacte.commerce.models import Order, OrderLine
    from pacte.commerce.selectors import product_list
    from pacte.commerce.services import catalogue_demo_seed
    from pacte.vault.crypto import vault_scope

    catalogue_demo_seed()
    products = list(product_list())
    user = user_create(
        email="bench@example.org", password="bench password 2026", name="Bench Buyer", birth_date=None
    )
    started = time.perf_counter()
    with transaction.atomic(), vault_scope():
        for start in range(0, ORDERS, 500):
            orders = Order.objects.bulk_create(
                Order(
                    subject_id=user.subject_id,
                    reference=f"B{start + i:09d}",
                    purpose="order_processing",
                    net_cents=1000,
                    vat_cents=200,
                    gross_cents=1200,
                    buyer_name="Bench Buyer",
                )
                for i in range(min(500, ORDERS - start))
            )
            OrderLine.objects.bulk_create(
                OrderLine(
                    order=order,
                    product=product,
                    product_slug=product.slug,
                    name_fr=product.name_fr,
                    name_en=product.name_en,
                    kind=product.kind,
                    period=product.period,
                    unit_cents=product.price_cents,
                    quantity=1 + j,
                    vat_rate=product.vat_rate,
                    net_cents=product.price_cents,
                    vat_cents=0,
                    gross_cents=product.price_cents,
                )
                for order in orders
                for j, product in enumerate(products[:2])
            )
    figure("seed_orders_s", time.perf_counter() - started, "s")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    client.get("/account/orders/")  # warm-up (session, templates)
    times = []
    for _ in range(5):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get("/account/orders/")
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and response.content.count(b"/account/orders/") >= ORDERS
    figure(f"history_{ORDERS}_orders_ms", statistics.median(times), "ms")
    figure(f"history_{ORDERS}_orders_queries", len(queries), "queries")
    order_queries = [q for q in queries.captured_queries if "commerce_order" in q["sql"]]
    figure("history_order_list_queries", len(order_queries), "queries", goal="1")


if __name__ == "__main__":
    if "--history-only" not in sys.argv:
        pages()
    history()
