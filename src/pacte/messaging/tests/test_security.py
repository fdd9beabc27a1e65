"""Issue 11: no address enumeration through reset mail, no mail-bombing, no free campaign template."""

from __future__ import annotations

import datetime
import re
import socket

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import Client
from django.utils import timezone

from pacte.accounts.services import user_create
from pacte.consent.services import consent_set
from pacte.core.errors import PacteError
from pacte.messaging import services
from pacte.messaging.models import Campaign, MessageStatus, OutboxMessage, Subscriber
from pacte.messaging.tasks import outbox_retry_due
from pacte.vault.crypto import data_key

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
UNKNOWN = "personne-inconnue@example.fr"


def _customer(email: str, *, newsletter: bool = True, **fields: object):
    user = user_create(email=email, password=PASSWORD, name="Zoé Petit", birth_date=None, **fields)
    if newsletter:
        consent_set(subject_id=user.subject_id, purpose="newsletter", granted=True, source="portal")
    return user


def _dump(alias: str = "default") -> str:
    """Every row of every table of a database, as text (what a backup of it would show)."""
    connection = connections[alias]
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows.append(repr(cursor.fetchall()))
    return "\n".join(rows).lower()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _page(response) -> str:
    """The page without its (per-response masked) CSRF tokens."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def _run_worker() -> None:
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)


# --- 1. Password reset: the same answer, the same path, for every address ------------------------------


# The real database worker runs here; it closes and reopens connections between tasks, which only a
# test with real commits survives on PostgreSQL.
@pytest.mark.django_db(databases=DBS, transaction=True)
def test_reset_for_an_unknown_and_a_known_address_queue_one_message_each_and_send_nothing_in_the_request(
    smtp_server, settings
) -> None:
    settings.TASKS = DB_TASKS  # a real worker sends, later; nothing runs inside the request
    _customer("zoe@example.fr", newsletter=False)
    known = Client().post("/accounts/password/reset/", {"email": "zoe@example.fr"})
    after_known = OutboxMessage.objects.count()
    unknown = Client().post("/accounts/password/reset/", {"email": UNKNOWN})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert known.status_code == 302
    assert after_known == 1 and OutboxMessage.objects.count() == 2
    assert smtp_server.wait_for(1, timeout=0.5) == []  # nothing left the building yet
    queued = {m.template: m for m in OutboxMessage.objects.all()}
    assert set(queued) == {"account/email/password_reset_key", "account/email/unknown_account"}
    ghost = queued["account/email/unknown_account"]
    assert (ghost.status, ghost.attempts, ghost.ephemeral) == (MessageStatus.QUEUED, 0, True)
    assert UNKNOWN not in _dump()  # queued encrypted, like every message

    _run_worker()
    mails = {m.envelope_to[0]: m for m in smtp_server.wait_for(2)}
    assert set(mails) == {"zoe@example.fr", UNKNOWN}
    # The known account's message stays (sent, encrypted); the unknown one is gone, its key destroyed.
    assert list(OutboxMessage.objects.values_list("template", "status")) == [
        ("account/email/password_reset_key", MessageStatus.SENT)
    ]
    assert data_key(ghost.subject_id, "account", create=False) is None


def test_an_unknown_address_reset_with_the_relay_down_answers_and_is_forgotten_after_the_last_retry(
    settings,
) -> None:

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _closed_port()
    # Tests run tasks at once, so the failed attempt happens during the request: it must still answer.
    response = Client().post("/accounts/password/reset/", {"email": UNKNOWN})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/done/"
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts, message.last_error) == (
        MessageStatus.QUEUED,
        1,
        "ConnectionRefusedError",
    )
    for attempt in range(2, len(services.BACKOFF) + 2):
        OutboxMessage.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
        assert outbox_retry_due.call() == 1
        if attempt <= len(services.BACKOFF):
            assert OutboxMessage.objects.get().attempts == attempt
    assert not OutboxMessage.objects.exists()  # failed for good: forgotten
    assert data_key(message.subject_id, "account", create=False) is None
    assert UNKNOWN not in _dump()


def test_after_delivery_no_trace_of_an_unknown_address_remains(smtp_server) -> None:
    Client().post("/accounts/password/reset/", {"email": UNKNOWN})
    (mail,) = smtp_server.wait_for(1)
    assert mail.envelope_to == [UNKNOWN]
    assert "personne-inconnue" not in _dump("default")
    assert not OutboxMessage.objects.exists()


# --- 2. Newsletter form: one pending confirmation per address, rate limits -----------------------------


def test_twenty_sign_ups_for_one_address_queue_one_confirmation(settings) -> None:
    settings.TASKS = DB_TASKS
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    answers = [
        client.post("/newsletter/", {"email": "cible@example.fr", "purposes": ["newsletter"]})
        for _ in range(20)
    ]
    assert OutboxMessage.objects.count() == 1 and Subscriber.objects.count() == 1
    # The first three (the address's hourly allowance) get the same neutral page, queued or not.
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert _page(answers[0]) == _page(answers[1]) == _page(answers[2])
    assert {a.status_code for a in answers[3:]} == {429}
    refusal = answers[3].content.decode()
    assert "Trop de demandes d’inscription" in refusal and answers[3]["Retry-After"] == "3600"


def test_a_pending_confirmation_is_sent_again_only_after_the_delay(settings) -> None:
    settings.TASKS = DB_TASKS
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    data = {"email": "lent@example.fr", "purposes": ["newsletter"]}
    first = client.post("/newsletter/", data)
    second = client.post("/newsletter/", data)
    assert _page(first) == _page(second) and OutboxMessage.objects.count() == 1
    Subscriber.objects.update(confirm_sent_at=timezone.now() - datetime.timedelta(minutes=11))
    assert client.post("/newsletter/", data).status_code == 200
    assert OutboxMessage.objects.count() == 2
    refused = client.post("/newsletter/", data)
    assert refused.status_code == 429 and "Too many subscription requests" in refused.content.decode()
    assert OutboxMessage.objects.count() == 2


def test_one_client_gets_at_most_ten_sign_ups_an_hour(settings) -> None:
    settings.TASKS = DB_TASKS
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    codes = [
        client.post("/newsletter/", {"email": f"v{i}@example.fr", "purposes": ["newsletter"]}).status_code
        for i in range(20)
    ]
    assert codes == [200] * 10 + [429] * 10
    assert OutboxMessage.objects.count() == 10 and Subscriber.objects.count() == 10
    other = Client(REMOTE_ADDR="192.0.2.7")  # the limit is per client, not for everyone
    assert (
        other.post("/newsletter/", {"email": "v10@example.fr", "purposes": ["newsletter"]}).status_code == 200
    )
    assert OutboxMessage.objects.count() == 11


# --- 3. Campaign templates come from a fixed list ------------------------------------------------------


def _staff_client() -> Client:
    """A staff member signed in the only way there is: password, then TOTP."""
    staff = _customer("agent@operator.example", newsletter=False, is_staff=True)
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/accounts/login/", {"login": "agent@operator.example", "password": PASSWORD})
    code = format_hotp_value(hotp_value(secret, list(yield_hotp_counters_from_time())[-1]))
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    assert client.get("/staff/mail/").status_code == 200
    return client


@pytest.mark.parametrize("template", ["nope", "../email/subscribe_confirm", ""])
def test_the_staff_mail_form_refuses_a_template_it_does_not_list(template: str) -> None:
    _customer("zoe@example.fr")
    client = _staff_client()
    response = client.post("/staff/mail/", {"template": template, "purpose": "newsletter"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Select a valid choice" in page or "This field is required" in page
    assert not Campaign.objects.exists() and not OutboxMessage.objects.exists()

    sent = client.post("/staff/mail/", {"template": "demo", "purpose": "newsletter"})
    assert sent.status_code == 200 and Campaign.objects.get().queued == 1


def test_the_newsletter_command_lists_the_valid_templates_and_queues_nothing() -> None:
    _customer("zoe@example.fr")
    with pytest.raises(CommandError, match=r"'\.\./email/subscribe_confirm'.*Valid templates: demo") as error:
        call_command("newsletter", "send", "../email/subscribe_confirm")
    assert error.value.returncode == 2
    assert not Campaign.objects.exists() and not OutboxMessage.objects.exists()


def test_the_campaign_service_refuses_an_undeclared_template() -> None:
    _customer("zoe@example.fr")
    with pytest.raises(PacteError) as error:
        services.campaign_send(template="../email/subscribe_confirm", purpose="newsletter")
    assert error.value.code == "messaging.unknown_template"
    assert not Campaign.objects.exists() and not OutboxMessage.objects.exists()


def test_every_declared_campaign_template_exists() -> None:
    for template in services.CAMPAIGN_TEMPLATES:
        subject_line, body = services._render(f"campaigns/{template}", {"unsubscribe_url": "u"}, "fr")
        assert subject_line and body.strip()
