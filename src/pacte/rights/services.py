"""Writes of the rights app: requests and their deadlines, their steps and notices, objection, restriction.

Every step of a request is a ``rights.step`` ledger entry (payload: request id, kind, step), written in the
same transaction as the step's own changes, and remembered in ``RightsRequest.steps_done``: a step already
done is never done twice, so a task killed at any point finishes exactly once when it runs again.
The export and the erasure are journeys of several steps: ``rights.flows.export`` and ``rights.flows.erasure``;
the export file itself is ``rights.exports``.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from pacte.accounts.selectors import account_contact, subject_language
from pacte.consent.services import consent_set, consents_withdraw_all
from pacte.core.errors import PacteError
from pacte.ledger.services import entry_append
from pacte.messaging.services import message_queue
from pacte.rights import error_codes, exports
from pacte.rights.models import IdentityCheck, RightsRequest, Status
from pacte.subjects.models import Subject
from pacte.subjects.services import subject_restrict


def months_after(moment: datetime.datetime, months: int) -> datetime.datetime:
    """Return the same day ``months`` later (the last day of the month when that day does not exist)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def step_hook(step: str) -> None:
    """Call the step hook, if the settings name one (crash tests do: tests/process_settings.py)."""
    hook = getattr(settings, "PACTE_STEP_HOOK", None)
    if hook:
        import_string(hook)(step)


def request_actor(request: RightsRequest) -> str:
    """Return who acts for ``request`` in the ledger: the staff member who recorded it, or the person."""
    return request.recorded_by or f"subject:{request.subject_id}"


def request_step(request: RightsRequest, step: str, work: Callable[[], Any] | None = None) -> bool:
    """Run ``work`` and record ``step`` once, in one transaction; return False when it was done already."""
    with transaction.atomic():
        current = RightsRequest.objects.select_for_update().get(pk=request.pk)
        if step in current.steps_done:
            request.steps_done = current.steps_done
            return False
        if work is not None:
            work()
        entry_append(
            type="rights.step",
            subject_id=current.subject_id,
            actor=request_actor(current),
            payload={"request_id": str(current.pk), "kind": current.kind, "step": step},
        )
        current.steps_done = [*current.steps_done, step]
        current.save(update_fields=["steps_done"])
        request.steps_done = current.steps_done
    step_hook(step)
    return True


@transaction.atomic
def request_create(
    *,
    subject: Subject,
    kind: str,
    channel: str,
    identity_check: str,
    details: str = "",
    recorded_by: str = "",
    received_at: datetime.datetime | None = None,
    lang: str = "fr",
) -> RightsRequest:
    """Record a request; it is due one month after it was received."""
    received = received_at or timezone.now()
    request = RightsRequest(
        subject=subject,
        kind=kind,
        channel=channel,
        identity_check=identity_check,
        details=details,
        received_at=received,
        due_at=months_after(received, 1),
        recorded_by=recorded_by,
        lang=lang,
    )
    request.full_clean()
    request.save()
    request_step(request, "received")
    if identity_check != IdentityCheck.NOT_VERIFIED:
        request_step(request, "identity_verified")
    return request


@transaction.atomic
def request_extend(*, request: RightsRequest, months: int, reason: str) -> RightsRequest:
    """Extend the deadline by one or two months, before the first month ends, telling the person why."""
    if months not in (1, 2):
        raise PacteError(
            _("A request can be extended by one or two months only."), error_codes.EXTENSION_TOO_LONG
        )
    if timezone.now() >= request.due_at or request.extended_to is not None:
        raise PacteError(
            _("An extension must be decided, once, before the first month ends."),
            error_codes.EXTENSION_TOO_LATE,
        )
    if not reason.strip():
        raise PacteError(_("Give the reason the person will be told."), error_codes.EXTENSION_TOO_LONG)
    request.extended_to = months_after(request.due_at, months)
    request.extension_reason = reason.strip()[:300]
    request.save(update_fields=["extended_to", "extension_reason"])
    request_step(request, "extended")
    request_notify(request, "extended")
    return request


def request_complete(*, request: RightsRequest, status: str = Status.DONE) -> RightsRequest:
    """Close a request as done (or refused)."""

    def work() -> None:
        request.status = status
        request.completed_at = timezone.now()
        request.progress = 100
        request.save(update_fields=["status", "completed_at", "progress"])

    request_step(request, "done" if status == Status.DONE else "refused", work)
    return request


# --- Notifications (to the real address, in the person's language) ---------------------------------

SUBJECTS = {
    "export_ready": ("Your data is ready to download", "Vos données sont prêtes à être téléchargées"),
    "extended": (
        "We need more time to answer your request",
        "Nous avons besoin de plus de temps pour votre demande",
    ),
    "erased": ("Your account has been deleted", "Votre compte a été supprimé"),
    "export_failed": (
        "We could not prepare your data file",
        "Nous n’avons pas pu préparer le fichier de vos données",
    ),
}
BODIES = {
    "export_ready": (
        "Hello,\n\nThe file with all the data we hold about you is ready. Sign in to your account to download it"
        " (My account > Download my data); the link works for 7 days.\n",
        "Bonjour,\n\nLe fichier contenant toutes les données que nous détenons sur vous est prêt. Connectez-vous"
        " à votre compte pour le télécharger (Mon compte > Télécharger mes données) ; le lien fonctionne 7 jours.\n",
    ),
    "extended": (
        "Hello,\n\nWe need more time to answer your request: we will answer by {deadline}. The reason: {reason}\n",
        "Bonjour,\n\nNous avons besoin de plus de temps pour répondre à votre demande : nous répondrons d’ici le"
        " {deadline}. La raison : {reason}\n",
    ),
    "export_failed": (
        "Hello,\n\nWe could not prepare the file with the data we hold about you. Our team has been told and"
        " will answer your request by {deadline}. You can also ask for a new file from your account"
        " (My account > Download my data).\n",
        "Bonjour,\n\nNous n’avons pas pu préparer le fichier contenant les données que nous détenons sur vous."
        " Notre équipe a été prévenue et répondra à votre demande d’ici le {deadline}. Vous pouvez aussi demander"
        " un nouveau fichier depuis votre compte (Mon compte > Télécharger mes données).\n",
    ),
    "erased": (
        "Hello,\n\nAs you asked, we are deleting your account and your personal data. This is the last message you"
        " will receive from us. We keep only what the law obliges us to keep (invoices), readable only by authorised"
        " staff, until its legal term.\n",
        "Bonjour,\n\nComme vous l’avez demandé, nous supprimons votre compte et vos données personnelles. Ce message"
        " est le dernier que vous recevrez de notre part. Nous ne gardons que ce que la loi nous oblige à garder"
        " (factures), lisible seulement par le personnel autorisé, jusqu’à son terme légal.\n",
    ),
}


def _address_of(subject_id: Any) -> str | None:
    account = account_contact(subject_id=subject_id)
    return account.address if account else None


def request_notify(request: RightsRequest, what: str, address: str | None = None) -> bool:
    """Tell the person, through the outbox; the erasure's last message is sent at once instead, because
    the address is destroyed right after it."""
    address = address or _address_of(request.subject_id)
    if not address:
        return False
    french = (subject_language(subject_id=request.subject_id) or request.lang) == "fr"
    subject = SUBJECTS[what][1 if french else 0]
    deadline = request.deadline.date().isoformat()
    body = BODIES[what][1 if french else 0].format(deadline=deadline, reason=request.extension_reason)
    if what == "erased":
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
    else:
        message_queue(
            subject_id=request.subject_id,
            to=address,
            subject_line=subject,
            body=body,
            template=f"rights/{what}",
        )
    return True


# --- Objection and restriction ------------------------------------------------------------------------


def objection_apply(*, request: RightsRequest, purposes: list[str] | None = None) -> RightsRequest:
    """Objection: withdraw the named consent purposes (all of them when none is named)."""

    def work() -> None:
        source = "portal" if request.channel == "portal" else "staff"
        if purposes:
            for purpose in purposes:
                consent_set(
                    subject_id=request.subject_id,
                    purpose=purpose,
                    granted=False,
                    source=source,
                    actor=request_actor(request),
                )
        else:
            consents_withdraw_all(subject_id=request.subject_id, source=source, actor=request_actor(request))

    request_step(request, "objection_applied", work)
    return request_complete(request=request)


def restriction_apply(*, request: RightsRequest, lift: bool = False) -> RightsRequest:
    """Restriction: freeze (or unfreeze) processing of the subject; other services check the flag."""

    def work() -> None:
        subject_restrict(subject_id=request.subject_id, restricted=not lift)

    request_step(request, "restriction_lifted" if lift else "restriction_applied", work)
    return request


def rights_request_erase(subject: Any) -> int:
    """The registry's eraser for rights requests: keep the requests (proof of the answers), delete the
    export files; their details become unreadable with the keys."""
    return exports.exports_purge(subject_id=subject.pk)
