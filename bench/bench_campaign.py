#!/usr/bin/env python
"""Campaign fan-out: select and enqueue a newsletter for N consenting subscribers (default 100,000),
then send samples through a local SMTP sink with 1, 2 and 4 `db_worker` processes (messages/s).

Baselines from the same run: plain-SQL bulk inserts of outbox-sized rows (around the campaign), and
ready-made messages sent to the same sink over one SMTP connection (around each worker round)."""

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


def raw_inserts(count: int) -> float:
    """Baseline: insert ``count`` outbox-sized rows (plaintext of a ciphertext's length) by 500, plain SQL."""
    import uuid

    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_rows")
        cursor.execute(
            "CREATE TABLE bench_rows (id char(32) PRIMARY KEY, subject_id char(32), to_ text, "
            "subject_line text, body text, headers text, kind varchar(16), status varchar(8))"
        )
    body = "x" * 420
    headers = '{"List-Unsubscribe": "' + "y" * 200 + '"}'
    started = time.perf_counter()
    for start in range(0, count, 500):
        rows = [
            (uuid.uuid4().hex, uuid.uuid4().hex, "z" * 80, "w" * 60, body, headers, "marketing", "queued")
            for _ in range(min(500, count - start))
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany("INSERT INTO bench_rows VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
    return count / (time.perf_counter() - started)


def raw_smtp(count: int, port: int) -> float:
    """Baseline: send ``count`` ready-made messages like a campaign's to the sink over one connection."""
    from django.core.mail import EmailMultiAlternatives, get_connection

    link = "http://127.0.0.1:8000/u/" + "t" * 110 + "/"
    emails = [
        EmailMultiAlternatives(
            "News from us",
            "Hello,\n\nHere is our latest news.\n\n-- \nTo stop receiving these messages, open: " + link,
            "Pacte <no-reply@localhost>",
            [f"raw{i}@example.org"],
            headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )
        for i in range(count)
    ]
    started = time.perf_counter()
    connection = get_connection("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=port)
    connection.send_messages(emails)
    return count / (time.perf_counter() - started)


def workers_send(ids: list[str], workers: int, sink: object, home: Path, port: int) -> float:
    """Start ``workers`` db_worker processes, wait until they are up, enqueue ``ids`` as send batches of
    250 and return messages/s from the enqueue to the last one received by the sink."""
    import subprocess

    from django.db import transaction

    from pacte.messaging.tasks import outbox_send_batch

    env = dict(os.environ)
    here = Path(__file__).resolve().parent
    env.update(
        DJANGO_SETTINGS_MODULE="pacte.settings",
        PACTE_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        PACTE_EMAIL_HOST="127.0.0.1",
        PACTE_EMAIL_PORT=str(port),
        PACTE_TASKS_BACKEND="django_tasks_db.DatabaseBackend",
        PYTHONPATH=os.pathsep.join(
            filter(None, [str(here.parent / "src"), str(here.parent), env.get("PYTHONPATH")])
        ),
    )
    ready = [home / f"worker-{workers}-{n}.ready" for n in range(workers)]
    procs = [
        subprocess.Popen([sys.executable, str(here / "_campaign_worker.py"), str(flag)], env=env)
        for flag in ready
    ]
    try:
        deadline = time.monotonic() + 120
        while not all(flag.exists() for flag in ready):
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start")
            time.sleep(0.05)
        time.sleep(0.5)
        target = sink.received + len(ids)
        started = time.perf_counter()
        with transaction.atomic():
            for start in range(0, len(ids), 250):
                outbox_send_batch.enqueue(ids[start : start + 250])
        deadline = time.monotonic() + 600
        while sink.received < target and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        if sink.received < target:
            print(f"# warning: the sink received {len(ids) - (target - sink.received)} of {len(ids)}")
        return (len(ids) - (target - sink.received)) / elapsed
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _sink_process(port: int, counter: object, ready: object) -> None:
    import asyncio
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            with counter.get_lock():  # type: ignore[attr-defined]
                counter.value += 1  # type: ignore[attr-defined]
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()  # type: ignore[attr-defined]
    asyncio.run(asyncio.sleep(10**6))


def start_sink() -> tuple[object, object, int]:
    """Run the aiosmtpd sink in a process of its own (in the benchmark's process it would share the GIL
    with the raw baseline's sender); return a counter of received messages, a stop function and the port."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    counter = context.Value("l", 0)
    ready = context.Event()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = context.Process(target=_sink_process, args=(port, counter, ready), daemon=True)
    process.start()
    ready.wait(30)

    class Sink:
        @property
        def received(self) -> int:
            return int(counter.value)

    return Sink(), process.terminate, port


def main() -> None:
    import statistics

    home = setup("pacte.settings")
    from django.conf import settings

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    from django_tasks_db.models import DBTaskResult

    from pacte.messaging.models import MessageStatus, OutboxMessage
    from pacte.messaging.services import campaign_send
    from pacte.vault.crypto import vault_scope

    seconds = seed(SUBSCRIBERS - 1)
    figure("seed_subscribers", SUBSCRIBERS, "subscribers")
    figure("seed_time", seconds, "s")
    # B A B: raw inserts, the campaign, raw inserts again (a campaign can run only once on the seed).
    inserts = [raw_inserts(SUBSCRIBERS)]
    started = time.perf_counter()
    with vault_scope():
        campaign = campaign_send(template="demo", purpose="newsletter")
    elapsed = time.perf_counter() - started
    inserts.append(raw_inserts(SUBSCRIBERS))
    figure("campaign_selected", campaign.selected, "subscribers")
    figure("campaign_queued", campaign.queued, "messages")
    figure("campaign_tasks", DBTaskResult.objects.count(), "tasks")
    figure("campaign_select_and_enqueue_time", elapsed, "s")
    queued_rate = campaign.queued / elapsed
    figure("campaign_enqueue_rate", queued_rate, "messages/s")
    figure("baseline_raw_bulk_inserts", statistics.mean(inserts), "rows/s")
    figure("campaign_enqueue_rate_over_raw_inserts", queued_rate / statistics.mean(inserts), "ratio")
    # The sends below enqueue their own batches: the campaign's tasks are dropped (bench only).
    DBTaskResult.objects.all().delete()

    sink, stop_sink, port = start_sink()
    ids = [
        str(pk)
        for pk in OutboxMessage.objects.filter(status=MessageStatus.QUEUED).values_list("pk", flat=True)[
            : SEND_SAMPLE * 7
        ]
    ]
    used = 0
    for workers in (1, 2, 4):
        raw = raw_smtp(SEND_SAMPLE, port)
        sample = ids[used : used + SEND_SAMPLE * workers]  # more workers, more mail: same measuring time
        used += len(sample)
        rate = workers_send(sample, workers, sink, home, port)
        raw = statistics.mean([raw, raw_smtp(SEND_SAMPLE, port)])  # A B A: the baseline around the run
        sent = OutboxMessage.objects.filter(pk__in=sample, status=MessageStatus.SENT).count()
        figure(f"send_{workers}_workers_messages", sent, "messages")
        figure(f"send_{workers}_workers_rate", rate, "messages/s")
        figure(f"baseline_raw_smtp_one_connection_{workers}", raw, "messages/s")
        figure(f"send_{workers}_workers_over_raw_smtp", rate / raw, "ratio")
    stop_sink()


if __name__ == "__main__":
    main()
