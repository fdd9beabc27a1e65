"""The embedded default's mail spool (plaintext files) is purged after a short time and with erasure."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from django.core.mail import get_connection, send_mail

from pacte.accounts.services import user_create
from pacte.messaging import services
from pacte.messaging.models import OutboxMessage
from pacte.messaging.spool import spool_purge
from pacte.subjects.registry import registrations

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)


@pytest.fixture
def spool(settings, tmp_path: Path) -> Path:
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "sent-mail")
    return tmp_path / "sent-mail"


def _files(spool: Path) -> dict[str, str]:
    return {file.name: file.read_text() for file in spool.iterdir()}


def test_spooled_mail_older_than_the_setting_is_deleted(spool: Path, settings) -> None:
    settings.PACTE_MAIL_SPOOL_HOURS = 24
    # The file backend names a file by the second and id() of its connection: keeping the first connection
    # alive makes the second one a different file (a reused id() would append both mails to one file).
    first = get_connection()
    send_mail("Old", "A reset link", "shop@example.org", ["old@example.org"], connection=first)
    send_mail("New", "Another link", "shop@example.org", ["new@example.org"])
    (old,) = [name for name, text in _files(spool).items() if "old@example.org" in text]
    a_day_ago = time.time() - 25 * 3600
    os.utime(spool / old, (a_day_ago, a_day_ago))
    assert spool_purge() == 1
    assert [text for text in _files(spool).values() if "old@example.org" in text] == []
    assert len(_files(spool)) == 1


def test_erasure_deletes_every_spooled_mail_sent_to_the_person(spool: Path) -> None:
    zoe = user_create(
        email="Zoe@Example.fr", password="correct horse battery 42", name="Zoé", birth_date=None
    )
    services.message_queue(
        subject_id=zoe.subject_id, to="zoe@example.fr", subject_line="Hi", body="x", template="t"
    )
    for message in OutboxMessage.objects.filter(subject=zoe.subject):
        services.message_deliver(message_id=str(message.pk))
    send_mail("Other", "Someone else's mail", "shop@example.org", ["yann@example.fr"])
    assert any("zoe@example.fr" in text.lower() for text in _files(spool).values())
    (eraser,) = [r.eraser for r in registrations() if r.model is OutboxMessage]
    assert eraser(zoe.subject) >= 1
    remaining = _files(spool)
    assert not any("zoe@example.fr" in text.lower() for text in remaining.values())
    assert any("yann@example.fr" in text for text in remaining.values())
    assert not OutboxMessage.objects.filter(subject=zoe.subject).exists()
