"""Testimonials: writes and reads (one topic per module, as ``sharing/authorities.py``).

A customer writes a testimonial, signed with their name or not. Staff choose to publish it. The public
page shows a signed testimonial only while its author consents to the ``testimonials`` purpose (so
withdrawing that consent takes it down at the next page load), and an unsigned one without any name.
Under a policy without a ``testimonials`` purpose the feature is off: nothing is written, the pages are
not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from pacte.commerce import app_settings, error_codes
from pacte.commerce.models import TESTIMONIAL_PURPOSE, Testimonial
from pacte.consent.selectors import consent_check, consent_subject_ids
from pacte.consent.services import consent_set
from pacte.core.errors import PacteError
from pacte.policy.selectors import policy_active
from pacte.subjects.registry import value_plain
from pacte.subjects.selectors import subject_is_restricted

NAME_MAX = 120


def testimonials_enabled() -> bool:
    """Tell whether the policy declares the ``testimonials`` purpose (else the feature is off)."""
    return TESTIMONIAL_PURPOSE in policy_active().purposes


def _enabled_or_refuse() -> None:
    if not testimonials_enabled():
        raise PacteError(
            _("This site does not publish testimonials."), error_codes.TESTIMONIALS_OFF, status=404
        )


# --- Writes ---------------------------------------------------------------------------------------------


@transaction.atomic
def testimonial_write(*, customer: Any, text: str, signed: bool, name: str, lang: str) -> Testimonial:
    """Record a signed-in customer's testimonial, encrypted under their ``testimonial`` key.

    ``signed``: the customer asks to be named, which is their consent to the ``testimonials`` purpose
    (granted here, in the ledger, source "portal"); the name shown is ``name`` or, when empty, their
    account name. Unsigned, nothing about consent changes and no name is kept. Refused, with nothing
    written: an empty or too long text or name, a restricted account, a policy without the purpose.
    """
    _enabled_or_refuse()
    subject_id = customer.subject_id
    text = str(text or "").strip()
    name = str(name or "").strip() or str(customer.name or "").strip()
    if not text:
        raise PacteError(_("Write your testimonial first."), error_codes.TESTIMONIAL_INVALID)
    if len(text) > app_settings.testimonial_max_length():
        raise PacteError(
            _("Your testimonial is too long: %(max)d characters at most.")
            % {"max": app_settings.testimonial_max_length()},
            error_codes.TESTIMONIAL_INVALID,
        )
    if signed and (not name or len(name) > NAME_MAX):
        raise PacteError(
            _("Give the name to show (%(max)d characters at most), or do not sign.") % {"max": NAME_MAX},
            error_codes.TESTIMONIAL_INVALID,
        )
    if subject_is_restricted(subject_id=subject_id):
        raise PacteError(
            _("The processing of your data is restricted: no testimonial can be recorded meanwhile."),
            error_codes.TESTIMONIAL_INVALID,
            status=403,
        )
    testimonial = Testimonial(
        subject_id=subject_id,
        text=text,
        author_name=name if signed else "",
        signed=bool(signed),
        lang=lang if lang in ("fr", "en") else "fr",
    )
    testimonial.full_clean(exclude=["text", "author_name"])
    testimonial.save(force_insert=True)
    if signed:
        consent_set(subject_id=subject_id, purpose=TESTIMONIAL_PURPOSE, granted=True, source="portal")
    return testimonial


@transaction.atomic
def testimonial_remove(*, subject_id: Any, testimonial_id: Any) -> None:
    """Delete one of the customer's testimonials at their request (off the public page at once)."""
    deleted, _rows = Testimonial.objects.filter(subject_id=subject_id, pk=testimonial_id).delete()
    if not deleted:
        raise PacteError(
            _("There is no such testimonial in your account."), error_codes.TESTIMONIAL_UNKNOWN, status=404
        )


@transaction.atomic
def testimonial_publish(*, testimonial: Testimonial, publish: bool = True) -> Testimonial:
    """Publish a testimonial (staff's choice), or take it off the public page (``publish=False``)."""
    locked = Testimonial.objects.select_for_update().get(pk=testimonial.pk)
    if publish and locked.published_at is None:
        locked.published_at = timezone.now()
    elif not publish:
        locked.published_at = None
    locked.save(update_fields=["published_at"])
    return locked


# --- Reads ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicTestimonial:
    text: str
    name: str  # "" when shown anonymously
    published_at: Any


def testimonial_list_public(*, limit: int = 50) -> list[PublicTestimonial]:
    """Return what the public page shows, newest first: published, author not restricted, and signed ones
    only while their author consents to ``testimonials`` (the name then shown; unsigned ones never named).
    """
    if not testimonials_enabled():
        return []
    rows = (
        Testimonial.objects.filter(published_at__isnull=False, subject__restricted_at__isnull=True)
        .filter(Q(signed=False) | Q(subject_id__in=consent_subject_ids(purpose=TESTIMONIAL_PURPOSE)))
        .order_by("-published_at")[:limit]
    )
    return [
        PublicTestimonial(
            text=str(row.text), name=str(row.author_name) if row.signed else "", published_at=row.published_at
        )
        for row in rows
    ]


def testimonial_list_mine(*, subject_id: Any) -> QuerySet[Testimonial]:
    """Return the customer's own testimonials, newest first."""
    return Testimonial.objects.filter(subject_id=subject_id).order_by("-created_at")


def testimonial_shown(*, testimonial: Testimonial) -> bool:
    """Tell whether the public page shows ``testimonial`` now (same rule as ``testimonial_list_public``)."""
    if testimonial.published_at is None or subject_is_restricted(subject_id=testimonial.subject_id):
        return False
    return not testimonial.signed or consent_check(
        subject_id=testimonial.subject_id, purpose=TESTIMONIAL_PURPOSE
    )


# --- Rights ---------------------------------------------------------------------------------------------

TESTIMONIAL_EXPORT_FIELDS = ("text", "author_name", "signed", "lang", "created_at", "published_at")


def testimonial_export(subject: Any) -> Any:
    """Yield the subject's testimonials (text and name decrypted)."""
    for row in Testimonial.objects.filter(subject=subject).order_by("created_at"):
        yield {name: value_plain(getattr(row, name)) for name in TESTIMONIAL_EXPORT_FIELDS}


def testimonial_erase(subject: Any) -> int:
    """Delete the subject's testimonials; return how many."""
    deleted, _rows = Testimonial.objects.filter(subject=subject).delete()
    return deleted
