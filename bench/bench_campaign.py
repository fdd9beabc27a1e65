#!/usr/bin/env python
"""Campaign fan-out: select and enqueue a newsletter for N consenting subscribers (default 100,000),
then send a sample through a local SMTP sink (messages/s)."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _django import setup  # noqa: E402
from _server import figure  # noqa: E402

SUBSCRIBERS = int(os.environ.get("PACTE_BENCH_SUBSCRIBERS", "100000"))
SEND_SAMPLE = int(os.environ.get("PACTE_BENCH_SEND_SAMPLE", "2000"))


def seed(count: int) -> float:
    """Create ``count`` confirmed subscribers consenting to the newsletter (bulk inserts, bench only:
    their consent rows point at one ledger entry instead of one each)."""
    from django.db import transaction
    from django.utils import timezone

    from pacte.consent.models import ConsentState
    from pacte.consent.services import consent_set
    from pacte.messaging.models import Subscriber
    from pacte.subjects.models import Subject
    from pacte.vault.crypto import vault_scope

    started = time.perf_counter()
    first = Subject.objects.create(kind="subscriber")
    seq = consent_set(
        subject_id=first.pk, purpose="newsletter", granted=True, source="subscribe_form"
    ).entry_seq
    now = timezone.now()
    for start in range(0, count, 2000):
        with transaction.atomic(), vault_scope():
            subjects = Subject.objects.bulk_create(
                [Subject(kind="subscriber") for _ in range(min(2000, count - start))]
            )
            Subscriber.objects.bulk_create(
                [
                    Subscriber(
                        subject=s,
                        email=f"s{start + i}@example.org",
                        email_key=f"bench-{start + i}",
                        purposes=["newsletter"],
                        lang="fr",
                        confirmed_at=now,
                    )
                    for i, s in enumerate(subjects)
                ]
            )
            ConsentState.objects.bulk_create(
                [
                    ConsentState(
                        subject=s,
                        purpose="newsletter",
                        granted=True,
                        policy_version=1,
                        source="subscribe_form",
                        changed_at=now,
                        entry_seq=seq,
                    )
                    for s in subjects
                ]
            )
    return time.perf_counter() - started


def main() -> None:
    setup("pacte.settings")
    from django.conf import settings

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    from pacte.messaging.models import OutboxMessage
    from pacte.messaging.services import campaign_send, message_deliver
    from pacte.vault.crypto import vault_scope

    seconds = seed(SUBSCRIBERS - 1)
    figure("seed_subscribers", SUBSCRIBERS, "subscribers")
    figure("seed_time", seconds, "s")
    started = time.perf_counter()
    with vault_scope():
        campaign = campaign_send(template="demo", purpose="newsletter")
    elapsed = time.perf_counter() - started
    figure("campaign_selected", campaign.selected, "subscribers")
    figure("campaign_queued", campaign.queued, "messages")
    figure("campaign_select_and_enqueue_time", elapsed, "s")
    figure("campaign_enqueue_rate", campaign.queued / elapsed, "messages/s")

    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    class Sink:
        received = 0

        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            Sink.received += 1
            return "250 OK"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    ids = [str(pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)[:SEND_SAMPLE]]
    started = time.perf_counter()
    with vault_scope():
        for message_id in ids:
            message_deliver(message_id=message_id)
    elapsed = time.perf_counter() - started
    controller.stop()
    figure("send_sample", len(ids), "messages")
    figure("send_rate_smtp_sink", Sink.received / elapsed, "messages/s")
    if Sink.received != len(ids):
        print(f"# warning: the sink received {Sink.received} of {len(ids)} messages")


if __name__ == "__main__":
    main()
