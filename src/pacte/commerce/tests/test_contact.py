"""Contact form: visitors and customers, no consent needed, encrypted under customer_support, a visitor's
own subject, rate-limited per client, staff's answer mailed in the writer's language, never a mailing
list; no form under a policy without a support purpose."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client

from pacte.commerce import contact
from pacte.commerce.models import ContactMessage
from pacte.commerce.tests.helpers import DBS, customer_make, staff_client
from pacte.consent.models import ConsentState
from pacte.consent.selectors import consent_subject_ids
from pacte.messaging.models import OutboxMessage, Subscriber
from pacte.messaging.services import campaign_send
from pacte.subjects.models import Subject

pytestmark = pytest.mark.django_db(databases=DBS)
POLICIES = Path(__file__).resolve().parents[4] / "policies"
FORM = {"name": "Jeanne Visiteuse", "email": "jeanne@example.fr", "message": "Proposez-vous des audits ?"}


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


def test_a_visitor_sends_a_message_without_any_consent_under_its_own_subject() -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/contact/", FORM)
    assert response.status_code == 200 and "your message is sent" in response.content.decode()
    row = ContactMessage.objects.get()
    assert row.purpose == "customer_support" and not row.from_customer and row.lang == "en"
    assert (str(row.sender_name), str(row.email), str(row.message)) == (
        FORM["name"],
        FORM["email"],
        FORM["message"],
    )
    assert Subject.objects.get(pk=row.subject_id).kind == "contact"
    with connection.cursor() as cursor:
        cursor.execute("SELECT sender_name, email, message FROM commerce_contactmessage")
        stored = cursor.fetchone()
    assert all(value.startswith("v1:") for value in stored) and "jeanne" not in "".join(stored)
    # Nothing else: no consent, no subscriber, no mail.
    assert not ConsentState.objects.exists() and not Subscriber.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_a_signed_in_customers_message_is_under_their_own_subject() -> None:
    user = customer_make()
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(user)
    assert client.post("/contact/", FORM).status_code == 200
    row = ContactMessage.objects.get()
    assert row.subject_id == user.subject_id and row.from_customer and row.lang == "fr"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Give your name (120 characters at most)."),
        ("email", "pas-une-adresse", "Give an e-mail address we can answer"),
        ("email", "a" * 250 + "@example.fr", "Give an e-mail address we can answer"),
        ("message", "  ", "Write your message."),
        ("message", "x" * 5001, "Your message is too long: 5000 characters at most."),
    ],
)
def test_bad_input_is_explained_and_nothing_is_written(field, value, message) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/contact/", {**FORM, field: value})
    assert response.status_code == 400 and message in response.content.decode()
    assert not ContactMessage.objects.exists() and not Subject.objects.exists()


def test_more_than_five_messages_an_hour_from_one_client_are_refused(settings) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="203.0.113.9")
    for _ in range(5):
        assert client.post("/contact/", FORM).status_code == 200
    refused = client.post("/contact/", FORM)
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    assert "Please wait an hour" in refused.content.decode()
    assert ContactMessage.objects.count() == 5
    # Another client is not held back by the first one.
    other = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="203.0.113.10")
    assert other.post("/contact/", FORM).status_code == 200


def test_staff_answer_is_encrypted_and_mailed_in_the_writers_language(
    django_capture_on_commit_callbacks,
) -> None:
    Client(HTTP_ACCEPT_LANGUAGE="fr").post("/contact/", FORM)
    row = ContactMessage.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        contact.contact_answer(message=row, answer="Oui, volontiers.", actor="staff:1")
    row.refresh_from_db()
    assert str(row.answer) == "Oui, volontiers." and row.answered_at is not None
    assert row.last_exchange_at == row.answered_at
    (sent,) = mail.outbox
    assert sent.to == ["jeanne@example.fr"] and sent.subject == "Réponse à votre message"
    assert "Oui, volontiers." in sent.body and "Proposez-vous des audits ?" in sent.body
    message = OutboxMessage.objects.get()
    assert message.purpose == "customer_support" and message.kind == "transactional"


def test_an_empty_answer_is_refused_and_nothing_is_sent() -> None:
    Client().post("/contact/", FORM)
    row = ContactMessage.objects.get()
    with pytest.raises(contact.PacteError) as refused:
        contact.contact_answer(message=row, answer="  ", actor="staff:1")
    assert refused.value.code == "commerce.answer_empty"
    row.refresh_from_db()
    assert row.answered_at is None and not OutboxMessage.objects.exists()


def test_the_address_never_joins_a_mailing_list() -> None:

    Client().post("/contact/", FORM)
    row = ContactMessage.objects.get()
    contact.contact_answer(message=row, answer="Merci.", actor="staff:1")
    for purpose in ("newsletter", "promotions"):
        assert row.subject_id not in set(consent_subject_ids(purpose=purpose))
    sent_before = OutboxMessage.objects.count()
    campaign_send(template="demo", purpose="newsletter", started_by="staff:1")
    assert OutboxMessage.objects.count() == sent_before  # the campaign reaches nobody
    assert not Subscriber.objects.exists()


def test_retention_runs_from_the_last_exchange() -> None:
    import datetime

    from django.utils import timezone

    Client().post("/contact/", FORM)
    row = ContactMessage.objects.get()
    now = timezone.now()
    assert contact.contact_messages_purge(now=now + datetime.timedelta(days=3 * 365)) == 0
    assert contact.contact_messages_purge(now=now + datetime.timedelta(days=3 * 366)) == 1
    assert not ContactMessage.objects.filter(pk=row.pk).exists()


def test_under_a_policy_without_a_support_purpose_there_is_no_form(settings) -> None:
    settings.PACTE_POLICY_FILE = str(POLICIES / "aplusc.toml")
    assert Client().get("/contact/").status_code == 404
    assert Client().post("/contact/", FORM).status_code == 404
    assert not ContactMessage.objects.exists()


def test_staff_answer_from_the_admin_reaches_the_sender(django_capture_on_commit_callbacks) -> None:

    Client(HTTP_ACCEPT_LANGUAGE="en").post("/contact/", FORM)
    row = ContactMessage.objects.get()
    staff = staff_client()
    url = f"/admin/commerce/contactmessage/{row.pk}/change/"
    page = staff.get(url).content.decode()
    assert "Proposez-vous des audits ?" in page and "jeanne@example.fr" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(url, {"reply": "Yes, we do.", "_save": "Save"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert str(row.answer) == "Yes, we do." and row.answered_by.startswith("staff:")
    sent = [m for m in mail.outbox if m.to == ["jeanne@example.fr"]]
    assert len(sent) == 1 and sent[0].subject == "Answer to your message" and "Yes, we do." in sent[0].body
