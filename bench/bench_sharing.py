#!/usr/bin/env python
"""Sharing (issue 15): the cost of the gate, and webhook deliveries per second to a local receiver.

1. ``disclose()`` per call (policy check, consent and restriction reads, minimisation, one ``disclosure``
   ledger entry), each in its own transaction, against a bare ``entry_append`` of the same entry in the
   same run: alternated A B A B, medians, ratio.
2. Webhook deliveries/s, one process, to the real receiver process (``src/pacte/sharing/tests/receiver.py``,
   which verifies every signature and appends every id with fsync), against the same number of signed POSTs
   sent straight through ``sharing.http.send`` (the client and the receiver alone), alternated.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

CALLS = int(os.environ.get("PACTE_BENCH_DISCLOSE_N", "400"))
DELIVERIES = int(os.environ.get("PACTE_BENCH_WEBHOOK_N", "200"))
ROUNDS = 3


def _policy(directory: Path) -> Path:
    text = (REPO / "policies" / "plusuite.toml").read_text()
    text = text.replace('hosts = ["api.stripe.com"]', 'hosts = ["api.stripe.com", "127.0.0.1"]')
    path = directory / "policy.toml"
    path.write_text(text)
    return path


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="pacte-bench-sharing-"))
    os.environ["PACTE_POLICY"] = str(_policy(scratch))
    # Deliveries are queued by the emission and sent by the timed loop below, not by a task backend.
    os.environ["PACTE_TASKS_BACKEND"] = "django_tasks.backends.dummy.DummyBackend"
    os.environ["PACTE_SHARING_ALLOW_INSECURE"] = "1"
    os.environ["PACTE_SHARING_ALLOW_PRIVATE_NETWORKS"] = "1"
    from _django import setup
    from _server import figure

    setup("pacte.settings")
    from django.db import transaction

    from pacte.accounts.services import user_create
    from pacte.ledger.services import entry_append
    from pacte.sharing import http, webhooks
    from pacte.sharing.models import WebhookDelivery
    from pacte.sharing.services import disclose
    from pacte.sharing.tests.receivers import Receiver, free_port
    from pacte.vault.crypto import vault_scope

    data = {
        "name": ("identity.name", "Ada Lovelace"),
        "email": ("contact.email", "ada@example.com"),
        "order": ("commerce.orders", "order 42"),
        "phone": ("contact.phone", "+33 6 12 34 56 78"),  # stripped
    }
    with vault_scope():
        subject_id = user_create(
            email="ada@example.com", password=None, name="Ada", birth_date=None
        ).subject_id
    payload = {
        "recipient": "stripe",
        "purpose": "payment",
        "categories": ["commerce.orders", "contact.email", "identity.name"],
    }

    def run_disclose() -> float:
        started = time.perf_counter()
        for _ in range(CALLS):
            with transaction.atomic():
                disclose(
                    recipient="stripe", purpose="payment", subject_id=subject_id, data=data, actor="system"
                )
        return (time.perf_counter() - started) / CALLS

    def run_bare() -> float:
        started = time.perf_counter()
        for _ in range(CALLS):
            with transaction.atomic():
                entry_append(type="disclosure", subject_id=subject_id, actor="system", payload=payload)
        return (time.perf_counter() - started) / CALLS

    run_disclose(), run_bare()  # warm caches (policy parse, prepared paths)
    gate, bare = [], []
    for _ in range(ROUNDS):
        gate.append(run_disclose())
        bare.append(run_bare())
    figure("disclose() per call", statistics.median(gate) * 1e6, "µs")
    figure("bare ledger append per call", statistics.median(bare) * 1e6, "µs")
    figure("disclose ÷ bare append", statistics.median(gate) / statistics.median(bare), "×")

    port = free_port()
    endpoint, secret = webhooks.webhook_endpoint_create(
        recipient="stripe",
        purpose="payment",
        url=f"http://127.0.0.1:{port}/hook",
        events=["order.paid"],
        actor="bench",
    )
    receiver = Receiver(scratch, secret=secret, port=port).start()
    try:

        def run_webhooks() -> float:
            with transaction.atomic():
                for _ in range(DELIVERIES):
                    webhooks.webhook_emit(
                        event="order.paid", subject_id=subject_id, data=data, actor="system"
                    )
            before = len(receiver.ids())
            started = time.perf_counter()
            outcome = webhooks.webhook_deliver_due()
            elapsed = time.perf_counter() - started
            assert list(outcome.values()).count("delivered") == DELIVERIES, outcome
            assert len(receiver.ids()) - before == DELIVERIES
            return DELIVERIES / elapsed

        body = b'{"data":{"email":"ada@example.com","name":"Ada Lovelace","order":"order 42"},"type":"order.paid"}'

        def run_client() -> float:
            started = time.perf_counter()
            for i in range(DELIVERIES):
                webhook_id, stamp = f"msg_bare_{time.time_ns()}_{i}", int(time.time())
                headers = {
                    "webhook-id": webhook_id,
                    "webhook-timestamp": str(stamp),
                    "webhook-signature": webhooks.signature(
                        secret=secret, webhook_id=webhook_id, timestamp=stamp, body=body
                    ),
                }
                answer = http.send(
                    recipient="stripe",
                    method="POST",
                    url=receiver.url,
                    disclosure=None,
                    headers=headers,
                    content=body,
                )
                assert answer.ok
            return DELIVERIES / (time.perf_counter() - started)

        delivered, client = [], []
        for _ in range(ROUNDS):
            delivered.append(run_webhooks())
            client.append(run_client())
        figure("webhook deliveries/s (claim, unseal, sign, POST, record)", statistics.median(delivered), "/s")
        figure("signed POSTs/s through sharing.http alone", statistics.median(client), "/s")
        figure("deliveries ÷ bare POSTs", statistics.median(delivered) / statistics.median(client), "×")
        assert WebhookDelivery.objects.exclude(status="delivered").count() == 0
    finally:
        receiver.kill()


if __name__ == "__main__":
    main()
