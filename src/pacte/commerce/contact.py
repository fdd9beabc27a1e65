"""The contact form: writes and reads (one topic per module, as ``sharing/authorities.py``).

Visitors and customers write; staff answer from the admin, by mail through the outbox. A message is
kept encrypted under the policy's support purpose (``customer_support`` for PluSuite) and its retention
class, counted from the last exchange. No consent is asked: answering is the purpose. The address is
used for the answer only, never added to a mailing list (no subscriber, no consent is ever written).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from pacte.commerce import app_settings, error_codes
from pacte.commerce.models import ContactMessage
from pacte.core.errors import PacteError
from pacte.messaging.services import message_queue
from pacte.policy.selectors import policy_active
from pacte.subjects.models import SubjectKind
from pacte.subjects.registry import value_plain
from pacte.subjects.services import subject_create

NAME_MAX = 120
EMAIL_MAX = 254


def contact_purpose() -> str | None:
    """Return the purpose contact-form messages are kept under (the first declared), or None: no form."""
    purposes = policy_active().purposes
    return next((p for p in app_settings.contact_purposes() if p in purposes), None)


def _limit_consume(*, client: str, limit: int, window: int = 3600) -> bool:
    """Count one message from ``client``; return False once more than ``limit`` in ``window`` seconds.

    The same fixed window as messaging's newsletter limits: ``add`` then ``incr`` in the shared
    ``default`` cache (database or Redis), under a keyed hash of the address (no IP in the cache).
    """
    key = "pacte:commerce:contact:" + salted_hmac("pacte.commerce.contact", client).hexdigest()[:40]
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.add(key, 1, timeout=window)
        count = 1
    return count <= limit


def _invalid(message: str) -> PacteError:
    return PacteError(message, error_codes.CONTACT_INVALID)


def _clean(*, name: str, email: str, message: str) -> tuple[str, str, str]:
    name, email, message = (str(value or "").strip() for value in (name, email, message))
    if not name or len(name) > NAME_MAX:
        raise _invalid(_("Give your name (%(max)d characters at most).") % {"max": NAME_MAX})
    try:
        if len(email) > EMAIL_MAX:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise _invalid(_("Give an e-mail address we can answer, such as name@example.fr.")) from None
    if not message:
        raise _invalid(_("Write your message."))
    if len(message) > app_settings.contact_max_length():
        raise _invalid(
            _("Your message is too long: %(max)d characters at most.")
            % {"max": app_settings.contact_max_length()}
        )
    return name, email, message


# --- Writes ---------------------------------------------------------------------------------------------


def contact_send(
    *, name: str, email: str, message: str, lang: str, client: str = "", customer: Any = None
) -> ContactMessage:
    """Record a contact-form message, encrypted; return it.

    A signed-in ``customer``'s message is under their own subject; a visitor's gets a new subject (kind
    ``contact``), so export and erasure reach it. Refused, with nothing written: no support purpose in the
    policy (``commerce.contact_closed``), bad input (``commerce.contact_invalid``), more than
    ``contact_limit_per_client`` messages an hour from one client address (``commerce.contact_too_many``,
    429; a refused attempt still counts).
    """
    purpose = contact_purpose()
    if purpose is None:
        raise PacteError(
            _("This site has no contact form: write to the address given in its privacy policy."),
            error_codes.CONTACT_CLOSED,
            status=404,
        )
    name, email, message = _clean(name=name, email=email, message=message)
    if client and not _limit_consume(client=client, limit=app_settings.contact_limit_per_client()):
        raise PacteError(
            _("You have sent several messages in a short time. Please wait an hour before writing again."),
            error_codes.CONTACT_TOO_MANY,
            status=429,
        )
    return _contact_record(
        purpose=purpose, name=name, email=email, message=message, lang=lang, customer=customer
    )


@transaction.atomic
def _contact_record(
    *, purpose: str, name: str, email: str, message: str, lang: str, customer: Any
) -> ContactMessage:
    subject_id = customer.subject_id if customer is not None else subject_create(kind=SubjectKind.CONTACT).pk
    row = ContactMessage(
        subject_id=subject_id,
        purpose=purpose,
        sender_name=name,
        email=email,
        message=message,
        lang=lang if lang in ("fr", "en") else "fr",
        from_customer=customer is not None,
    )
    row.full_clean(exclude=["sender_name", "email", "message", "answer"])
    row.save(force_insert=True)
    return row


@transaction.atomic
def contact_answer(*, message: ContactMessage, answer: str, actor: str) -> ContactMessage:
    """Record staff's answer (encrypted) and mail it through the outbox, in the writer's language.

    The mail is transactional, under the message's purpose; it is queued in this transaction. The
    retention restarts from this exchange. An empty answer is refused, nothing written or sent.
    """
    text = str(answer or "").strip()
    if not text:
        raise PacteError(_("Write the answer first."), error_codes.ANSWER_EMPTY)
    locked = ContactMessage.objects.select_for_update().get(pk=message.pk)
    now = timezone.now()
    locked.answer = text
    locked.answered_at = now
    locked.answered_by = actor[:80]
    locked.last_exchange_at = now
    locked.save(update_fields=["answer", "answered_at", "answered_by", "last_exchange_at"])
    with translation.override(locked.lang):
        rendered = render_to_string(
            "commerce/email/contact_answer.txt",
            {
                "name": str(locked.sender_name),
                "answer": text,
                "question": str(locked.message),
                "site": settings.PACTE_BASE_URL,
            },
        ).strip()
    subject_line, _sep, body = rendered.partition("\n")
    message_queue(
        subject_id=locked.subject_id,
        to=str(locked.email),
        subject_line=subject_line.strip(),
        body=body.strip() + "\n",
        template="commerce/contact_answer",
        purpose=locked.purpose,
    )
    return locked


@transaction.atomic
def contact_messages_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete the messages whose retention (from the last exchange) has passed; return how many."""
    policy = policy_active()
    now = now or timezone.now()
    deleted = 0
    for purpose_id in {row for row in ContactMessage.objects.values_list("purpose", flat=True).distinct()}:
        purpose = policy.purposes.get(purpose_id)
        if purpose is None:
            continue  # a purpose the policy no longer declares: left for staff to decide, not guessed
        days = policy.retention[purpose.retention].duration.in_days
        cutoff = now - datetime.timedelta(days=days)
        gone, _rows = ContactMessage.objects.filter(purpose=purpose_id, last_exchange_at__lt=cutoff).delete()
        deleted += gone
    return deleted


# --- Rights ---------------------------------------------------------------------------------------------

CONTACT_EXPORT_FIELDS = ("created_at", "sender_name", "email", "message", "answered_at", "answer")


def contact_export(subject: Any) -> Any:
    """Yield the subject's contact-form messages and the answers (decrypted)."""
    for row in ContactMessage.objects.filter(subject=subject).order_by("created_at"):
        yield {name: value_plain(getattr(row, name)) for name in CONTACT_EXPORT_FIELDS}


def contact_erase(subject: Any) -> int:
    """Delete the subject's contact-form messages; return how many."""
    deleted, _rows = ContactMessage.objects.filter(subject=subject).delete()
    return deleted
