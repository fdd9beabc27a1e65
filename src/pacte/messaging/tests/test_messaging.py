"""The outbox, double opt-in, one-click unsubscribe and campaigns, with a real SMTP server."""

from __future__ import annotations

import datetime
import re
import socket
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from pacte.accounts.services import user_create
from pacte.consent.selectors import consent_check
from pacte.consent.services import consent_set
from pacte.messaging import selectors, services
from pacte.messaging.checks import base_url_check
from pacte.messaging.models import MessageStatus, OutboxMessage, Subscriber
from pacte.messaging.selectors import unsubscribe_token_read
from pacte.messaging.tasks import outbox_retry_due, outbox_send_batch

DBS = ["default", "keys", "telemetry"]
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"


def _body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _customer(email: str, *, newsletter: bool = True):
    user = user_create(email=email, password=PASSWORD, name="Zoé Petit", birth_date=None)
    if newsletter:
        consent_set(subject_id=user.subject_id, purpose="newsletter", granted=True, source="portal")
    return user


def test_a_campaign_mail_carries_the_unsubscribe_headers_and_one_click_works(smtp_server, settings) -> None:
    settings.PACTE_BASE_URL = "https://shop.example"
    zoe = _customer("zoe@example.fr")
    _customer("yann@example.fr")
    _customer("xavier@example.fr", newsletter=False)
    campaign = services.campaign_send(template="demo", purpose="newsletter")
    assert (campaign.selected, campaign.queued, campaign.skipped) == (2, 2, 0)
    mails = {m.envelope_to[0]: m for m in smtp_server.wait_for(2)}
    assert set(mails) == {"zoe@example.fr", "yann@example.fr"}
    mail = mails["zoe@example.fr"]
    header = " ".join(str(mail["List-Unsubscribe"]).split())  # unfold
    https, mailto = re.fullmatch(r"<(https://[^>]+)>, <(mailto:[^>]+)>", header).groups()
    assert https.startswith("https://shop.example/u/") and mailto.startswith("mailto:")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert https in _body(mail)  # the visible link
    assert "zoe" not in https.lower()  # nothing personal in the URL

    path = https.removeprefix("https://shop.example")
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(path)
    assert page.status_code == 200 and consent_check(subject_id=zoe.subject_id, purpose="newsletter")
    one_click = Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    assert consent_check(subject_id=zoe.subject_id, purpose="newsletter") is False

    smtp_server.clear()
    second = services.campaign_send(template="demo", purpose="newsletter")
    assert (second.selected, second.queued) == (1, 1)
    assert [m.envelope_to for m in smtp_server.wait_for(1)] == [["yann@example.fr"]]
    assert Client().post("/u/not-a-token/").status_code == 404


def test_consent_withdrawn_after_queueing_is_rechecked_at_sending(settings) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    zoe = _customer("zoe@example.fr")
    services.campaign_send(template="demo", purpose="newsletter")
    message = OutboxMessage.objects.get()
    consent_set(subject_id=zoe.subject_id, purpose="newsletter", granted=False, source="email_link")
    assert services.message_deliver(message_id=str(message.pk)) == MessageStatus.SKIPPED


def test_a_campaign_chunk_is_one_task_sent_over_one_connection_and_each_message_is_checked_again(
    smtp_server, settings
) -> None:
    settings.TASKS = DB_TASKS
    settings.PACTE_BASE_URL = "https://shop.example"
    people = [_customer(f"p{i}@example.fr") for i in range(5)]
    campaign = services.campaign_send(template="demo", purpose="newsletter", batch_size=3)
    assert (campaign.selected, campaign.queued, campaign.skipped) == (5, 5, 0)
    assert DBTaskResult.objects.count() == 2  # one task per chunk of 3, not one per message
    # Withdrawn after queueing: re-checked at sending, in the middle of a batch.
    consent_set(subject_id=people[1].subject_id, purpose="newsletter", granted=False, source="email_link")
    # What the worker runs (an in-process db_worker would close the test's PostgreSQL connection).
    for row in DBTaskResult.objects.order_by("enqueued_at"):
        assert row.task_path == "pacte.messaging.tasks.outbox_send_batch"
        outbox_send_batch.call(*row.args_kwargs["args"])
    mails = smtp_server.wait_for(4)
    assert sorted(m.envelope_to[0] for m in mails) == [f"p{i}@example.fr" for i in (0, 2, 3, 4)]
    assert len({m.peer for m in mails}) == 2  # one SMTP connection per batch
    status = {str(m.to): m for m in OutboxMessage.objects.all()}
    assert status["p1@example.fr"].status == MessageStatus.SKIPPED
    assert {status[f"p{i}@example.fr"].status for i in (0, 2, 3, 4)} == {MessageStatus.SENT}
    assert {status[f"p{i}@example.fr"].attempts for i in (0, 2, 3, 4)} == {1}
    # Each person's own link: a reverse() of a signed token naming that person and the list. (The token
    # carries its signing second, so it is read back rather than signed again here.)
    mail = next(m for m in mails if m.envelope_to == ["p3@example.fr"])
    header = " ".join(str(mail["List-Unsubscribe"]).split())
    token = re.match(r"<https://shop\.example/u/([^/>]+)/>, <mailto:", header).group(1)
    assert unsubscribe_token_read(token=token) == (str(people[3].subject_id), "newsletter")
    link = "https://shop.example" + reverse("messaging:unsubscribe", args=[token])
    assert _body(mail).rstrip().endswith(link)


def test_a_batch_with_the_relay_down_schedules_each_message_again(settings) -> None:
    settings.TASKS = DB_TASKS
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sock.getsockname()[1]
    for i in range(3):
        _customer(f"p{i}@example.fr")
    services.campaign_send(template="demo", purpose="newsletter")
    ids = [str(pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)]
    assert set(services.messages_deliver(message_ids=ids).values()) == {MessageStatus.QUEUED}
    rows = list(OutboxMessage.objects.values_list("attempts", "last_error"))
    assert rows == [(1, "ConnectionRefusedError")] * 3
    assert all(
        50 < (m.next_attempt_at - timezone.now()).total_seconds() <= 60 for m in OutboxMessage.objects.all()
    )


def test_double_opt_in_a_visitor_who_never_confirms_gets_nothing(smtp_server) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    page = client.get("/newsletter/").content.decode()
    assert "Newsletter" in page and "Promotions" in page
    client.post("/newsletter/", {"email": "visiteur@example.fr", "purposes": ["newsletter"]})
    client.post("/newsletter/", {"email": "silencieux@example.fr", "purposes": ["newsletter", "promotions"]})
    confirmations = {m.envelope_to[0]: m for m in smtp_server.wait_for(2)}
    assert (
        Subscriber.objects.count() == 2 and not Subscriber.objects.filter(confirmed_at__isnull=False).exists()
    )
    link = re.search(
        r"https?://[^/\s]+(/newsletter/confirm/\S+/)", _body(confirmations["visiteur@example.fr"])
    )
    assert link
    client.get(link.group(1))  # opening the link (or a mail scanner doing it) confirms nothing
    assert not Subscriber.objects.filter(confirmed_at__isnull=False).exists()
    client.post(link.group(1))
    visitor = Subscriber.objects.get(confirmed_at__isnull=False)
    assert consent_check(subject_id=visitor.subject_id, purpose="newsletter")

    smtp_server.clear()
    campaign = services.campaign_send(template="demo", purpose="newsletter")
    assert campaign.queued == 1
    assert [m.envelope_to for m in smtp_server.wait_for(1)] == [["visiteur@example.fr"]]
    bad = client.post("/newsletter/", {"email": "pas une adresse", "purposes": ["newsletter"]})
    assert "Saisissez une adresse" in bad.content.decode() and Subscriber.objects.count() == 2
    # A week later the one who never confirmed is forgotten.
    Subscriber.objects.update(created_at=timezone.now() - datetime.timedelta(days=8))
    assert services.subscribers_purge_unconfirmed() == 1
    assert list(Subscriber.objects.values_list("pk", flat=True)) == [visitor.pk]


def test_a_failed_send_is_retried_with_back_off(smtp_server, settings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    real_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = closed_port
    _customer("zoe@example.fr", newsletter=False)
    client = Client()
    client.post("/accounts/password/reset/", {"email": "zoe@example.fr"})
    message = OutboxMessage.objects.get()
    assert message.status == MessageStatus.QUEUED and message.attempts == 1
    assert message.last_error == "ConnectionRefusedError"
    assert 50 < (message.next_attempt_at - timezone.now()).total_seconds() <= 60
    assert selectors.outbox_due() == []  # not yet due

    settings.EMAIL_PORT = real_port
    OutboxMessage.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))

    outbox_retry_due.call()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 2
    (mail,) = smtp_server.wait_for(1)
    assert mail.envelope_to == ["zoe@example.fr"]


def test_allauth_mail_goes_through_the_outbox_encrypted(smtp_server) -> None:
    _customer("zoe@example.fr", newsletter=False)
    Client().post("/accounts/password/reset/", {"email": "zoe@example.fr"})
    message = OutboxMessage.objects.get()
    assert message.status == MessageStatus.SENT and message.template == "account/email/password_reset_key"
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM messaging_outboxmessage")
        raw = repr(cursor.fetchall())
    assert "zoe@example.fr" not in raw and "password" not in raw.lower().replace("password_reset_key", "")


def test_the_sent_mail_page_is_for_staff_only() -> None:
    _customer("zoe@example.fr")
    customer = Client()
    customer.post("/accounts/login/", {"login": "zoe@example.fr", "password": PASSWORD})
    assert customer.get("/staff/mail/").status_code == 302


def test_the_newsletter_command_reports_progress_and_refuses_an_unknown_template(smtp_server) -> None:
    _customer("zoe@example.fr")
    out = StringIO()
    call_command("newsletter", "send", "demo", stdout=out)
    assert "1/1 (1 queued, 0 skipped)" in out.getvalue() and "1 selected, 1 queued" in out.getvalue()
    with pytest.raises(CommandError, match="no campaign template 'nope'"):
        call_command("newsletter", "send", "nope")
    with pytest.raises(CommandError, match="resale"):
        call_command("newsletter", "send", "demo", "--purpose", "resale")


def test_production_refuses_a_loopback_base_url(settings) -> None:
    settings.PACTE_PRODUCTION = True
    settings.PACTE_BASE_URL = "http://127.0.0.1:8000"
    (error,) = base_url_check()
    assert error.id == "pacte.E040"
    settings.PACTE_BASE_URL = "https://shop.example"
    assert base_url_check() == []
