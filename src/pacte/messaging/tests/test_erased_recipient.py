"""A message whose recipient was erased before sending is dropped, never retried against the relay."""

from __future__ import annotations

import pytest

from pacte.accounts.services import user_create
from pacte.messaging import services
from pacte.messaging.models import MessageStatus, OutboxMessage
from pacte.vault.fields import ERASED
from pacte.vault.services import keys_destroy

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)


def test_a_mail_to_an_erased_person_is_skipped_without_touching_the_relay(settings) -> None:
    # The relay is down: any attempt to send would fail and be retried, which is what the bug did.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # discard port: connection refused
    user = user_create(
        email="zoe@example.fr", password="correct horse battery 42", name="Zoé", birth_date=None
    )
    message = services.message_queue(
        subject_id=user.subject_id, to="zoe@example.fr", subject_line="Hello", body="Hi", template="test"
    )
    before = OutboxMessage.objects.get(pk=message.pk).attempts
    keys_destroy(subject=user.subject)
    stored = OutboxMessage.objects.get(pk=message.pk)
    # What the worker reads after erasure: the vault's sentinel, which prints as a word ("erased"/"effacé").
    assert stored.to is ERASED and str(stored.to) != "ERASED"
    services.message_deliver(message_id=str(message.pk))
    stored = OutboxMessage.objects.get(pk=message.pk)
    assert stored.status == MessageStatus.SKIPPED
    assert stored.attempts == before  # no new attempt against the relay
