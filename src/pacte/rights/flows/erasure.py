"""The erasure journey: the person asks from the portal (password and a typed word), then it runs step by step.

Shared by the portal (``rights.views.delete_account``), ``pacte rights erase`` and the worker
(``rights.tasks.erasure_run_task``). Each step is a ``rights.step`` ledger entry recorded once
(``services.request_step``), so an erasure killed at any point finishes exactly once when it runs again.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pacte.accounts.services import account_mail_stop, account_sessions_end
from pacte.consent.services import consents_withdraw_all
from pacte.core.errors import PacteError
from pacte.ledger.services import entry_append

# ``tasks`` imports this module back; only its attributes are used here, at call time.
from pacte.rights import error_codes, selectors, services, tasks
from pacte.rights.models import Channel, IdentityCheck, Kind, RightsRequest, Status
from pacte.sharing.webhooks import webhook_notify_erasure
from pacte.subjects.models import Subject
from pacte.subjects.registry import registrations
from pacte.subjects.services import subject_mark_erased
from pacte.vault.services import keys_destroy_all_but_legal_hold

ERASURE_STEPS = (
    "sessions_ended",
    "mail_stopped",
    "consents_withdrawn",
    "confirmation_sent",
    "records_erased",
    "keys_destroyed",
    "subject_erased",
)


@transaction.atomic
def erasure_request(*, user: Any, password: str, word: str, lang: str = "fr") -> RightsRequest:
    """Check the password and the typed confirmation word, record the erasure request, and queue its run.

    The run is enqueued once the transaction commits; a wrong password or word records nothing.
    """
    if not user.check_password(password):
        raise PacteError(_("This is not your current password."), error_codes.WRONG_PASSWORD)
    if word.strip().upper() not in (_("DELETE").upper(), "DELETE", "SUPPRIMER"):
        raise PacteError(_("Type the word DELETE to confirm."), error_codes.WRONG_WORD)
    request = services.request_create(
        subject=user.subject,
        kind=Kind.ERASURE,
        channel=Channel.PORTAL,
        identity_check=IdentityCheck.SIGNED_IN,
        lang=lang,
    )
    transaction.on_commit(functools.partial(tasks.erasure_run_task.enqueue, str(request.pk)))
    return request


def erasure_of_subject(*, subject: Subject, recorded_by: str = "system") -> RightsRequest | None:
    """Erase ``subject`` now, for an operator: resume its open erasure request, or record one (by post).

    Returns the request, or None when the subject was erased already and no request is open.
    """
    request = selectors.request_unfinished(subject=subject, kind=Kind.ERASURE)
    if request is None:
        if subject.erased_at is not None:
            return None
        request = services.request_create(
            subject=subject,
            kind=Kind.ERASURE,
            channel=Channel.POST,
            identity_check=IdentityCheck.POSTAL_MATCH,
            recorded_by=recorded_by,
        )
    return erasure_run(request=request)


def erasure_run(*, request: RightsRequest) -> RightsRequest:
    """Erase a subject, step by step; each step runs once even if the process is killed and restarted."""
    subject = request.subject
    if request.status == Status.RECEIVED:
        RightsRequest.objects.filter(pk=request.pk).update(status=Status.IN_PROGRESS)

    def end_sessions() -> None:
        account_sessions_end(subject_id=subject.pk)

    def stop_mail() -> None:
        account_mail_stop(subject_id=subject.pk)

    def withdraw() -> None:
        consents_withdraw_all(
            subject_id=subject.pk,
            source="portal" if request.channel == "portal" else "staff",
            actor=services.request_actor(request),
        )

    services.request_step(request, "sessions_ended", end_sessions)
    services.request_step(request, "mail_stopped", stop_mail)
    services.request_step(request, "consents_withdrawn", withdraw)
    if "confirmation_sent" not in request.steps_done:
        services.request_notify(
            request, "erased"
        )  # sent before the keys go: afterwards nobody can read the address
        services.request_step(request, "confirmation_sent")

    def erase_records() -> None:
        for registration in registrations():
            registration.eraser(subject)

    services.request_step(request, "records_erased", erase_records)
    services.request_step(
        request,
        "keys_destroyed",
        lambda: keys_destroy_all_but_legal_hold(subject=subject, actor=services.request_actor(request)),
    )

    def mark() -> None:
        subject_mark_erased(subject=subject)
        entry_append(
            type="account.erased", subject_id=subject.pk, actor=services.request_actor(request), payload={}
        )
        webhook_notify_erasure(subject_id=subject.pk)  # art. 19: tell who received data, on commit
        request.status = Status.DONE
        request.progress = 100
        request.completed_at = timezone.now()
        request.save(update_fields=["status", "progress", "completed_at"])

    services.request_step(request, "subject_erased", mark)
    return request
