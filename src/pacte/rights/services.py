"""Writes of the rights app: requests and their deadlines, the export ZIP, the erasure, objection, restriction.

Every step of a request is a ``rights.step`` ledger entry (payload: request id, kind, step), written in the
same transaction as the step's own changes, and remembered in ``RightsRequest.steps_done``: a step already
done is never done twice, so a task killed at any point finishes exactly once when it runs again.
"""

from __future__ import annotations

import calendar
import csv
import datetime
import io
import json
import os
import secrets
import signal
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pacte.core.errors import PacteError
from pacte.ledger.services import entry_append
from pacte.rights import error_codes
from pacte.rights.models import Channel, IdentityCheck, Kind, RightsRequest, Status
from pacte.subjects.models import Subject

EXPORT_DAYS = 7
ERASURE_STEPS = (
    "sessions_ended",
    "mail_stopped",
    "consents_withdrawn",
    "confirmation_sent",
    "records_erased",
    "keys_destroyed",
    "subject_erased",
)


def months_after(moment: datetime.datetime, months: int) -> datetime.datetime:
    """Return the same day ``months`` later (the last day of the month when that day does not exist)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _crash_point(step: str) -> None:
    """Tests kill the process right after a step commits (PACTE_RIGHTS_CRASH_AFTER=step)."""
    if os.environ.get("PACTE_RIGHTS_CRASH_AFTER") == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _actor(request: RightsRequest) -> str:
    return request.recorded_by or f"subject:{request.subject_id}"


def _step(request: RightsRequest, step: str, work: Callable[[], Any] | None = None) -> bool:
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
            actor=_actor(current),
            payload={"request_id": str(current.pk), "kind": current.kind, "step": step},
        )
        current.steps_done = [*current.steps_done, step]
        current.save(update_fields=["steps_done"])
        request.steps_done = current.steps_done
    _crash_point(step)
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
    _step(request, "received")
    if identity_check != IdentityCheck.NOT_VERIFIED:
        _step(request, "identity_verified")
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
    _step(request, "extended")
    _notify(request, "extended")
    return request


def request_complete(*, request: RightsRequest, status: str = Status.DONE) -> RightsRequest:
    """Close a request as done (or refused)."""

    def work() -> None:
        request.status = status
        request.completed_at = timezone.now()
        request.progress = 100
        request.save(update_fields=["status", "completed_at", "progress"])

    _step(request, "done" if status == Status.DONE else "refused", work)
    return request


# --- Notifications (to the real address, in the person's language) ---------------------------------

SUBJECTS = {
    "export_ready": ("Your data is ready to download", "Vos données sont prêtes à être téléchargées"),
    "extended": (
        "We need more time to answer your request",
        "Nous avons besoin de plus de temps pour votre demande",
    ),
    "erased": ("Your account has been deleted", "Votre compte a été supprimé"),
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
    from pacte.accounts.models import User
    from pacte.accounts.selectors import user_email

    user = User.objects.filter(subject_id=subject_id).first()
    return user_email(user=user) if user else None


def _notify(request: RightsRequest, what: str, address: str | None = None) -> bool:
    """Tell the person, through the outbox; the erasure's last message is sent at once instead, because
    the address is destroyed right after it."""
    from django.core.mail import send_mail

    from pacte.messaging.services import message_queue

    address = address or _address_of(request.subject_id)
    if not address:
        return False
    french = request.lang == "fr"
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


# --- Export ------------------------------------------------------------------------------------------


def export_dir() -> Path:
    folder = Path(settings.PACTE_HOME) / "exports"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _ledger_rows(subject_id: Any) -> Any:
    from pacte.ledger.models import Entry

    for entry in Entry.objects.filter(subject_id=subject_id).order_by("seq").iterator(chunk_size=2000):
        yield {
            "seq": entry.seq,
            "time": entry.time.isoformat(),
            "type": entry.type,
            "actor": entry.actor,
            "payload": entry.payload,
        }


def export_write(
    *, subject: Subject, out: Any, lang: str = "en", progress: Callable[[int], None] | None = None
) -> dict:
    """Write the export ZIP of ``subject`` to the binary file ``out``; return its table of contents.

    Streams every registered model's rows (twice: data.json, then one CSV per kind) with bounded memory.
    The format is documented in docs/export-format.md.
    """
    from pacte.consent.selectors import consent_list
    from pacte.rights.registry import registrations

    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None and done % 1000 == 0:
            progress(done)

    counts: dict[str, int] = {}
    generated = timezone.now().isoformat()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("data.json", "w", force_zip64=True) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8")
            header = {
                "format": "pacte-export-v1",
                "generated_at": generated,
                "subject_id": str(subject.pk),
                "subject_kind": subject.kind,
            }
            text.write(json.dumps(header, ensure_ascii=False)[:-1])
            text.write(', "records": {')
            for index, registration in enumerate(registrations()):
                text.write(("," if index else "") + json.dumps(registration.kind) + ": [")
                count = 0
                for row in registration.exporter(subject):
                    text.write(
                        ("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False, sort_keys=True)
                    )
                    count += 1
                    tick()
                counts[registration.kind] = count
                text.write("]")
            text.write('}, "consents": ')
            consents = consent_list(subject_id=subject.pk, lang=lang)
            text.write(json.dumps(consents, ensure_ascii=False, default=str))
            text.write(', "ledger": [')
            count = 0
            for row in _ledger_rows(subject.pk):
                text.write(
                    ("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False, sort_keys=True)
                )
                count += 1
                tick()
            counts["ledger"] = count
            text.write("]}\n")
            text.flush()
            text.detach()
        for registration in registrations():
            _csv_write(archive, f"{registration.kind}.csv", registration.exporter(subject))
        _csv_write(
            archive,
            "ledger.csv",
            (
                {**row, "payload": json.dumps(row["payload"], sort_keys=True)}
                for row in _ledger_rows(subject.pk)
            ),
        )
        _csv_write(
            archive,
            "disclosures.csv",
            (
                {**row, "payload": json.dumps(row["payload"], sort_keys=True)}
                for row in _ledger_rows(subject.pk)
                if row["type"] == "disclosure"
            ),
        )
        with archive.open("consent-receipts.json", "w") as raw:
            from pacte.consent.services import consent_receipts

            raw.write(json.dumps(consent_receipts(subject_id=subject.pk), indent=1).encode())
        archive.writestr("index.html", _index_html(counts, lang=lang, generated=generated))
    return counts


def _csv_write(archive: zipfile.ZipFile, name: str, rows: Any) -> None:
    with archive.open(name, "w", force_zip64=True) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer: csv.DictWriter | None = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(text, fieldnames=list(row))
                writer.writeheader()
            writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()})
        text.flush()
        text.detach()


def _index_html(counts: dict[str, int], *, lang: str, generated: str) -> str:
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override(lang):
        return render_to_string(
            "rights/export_index.html",
            {"counts": sorted(counts.items()), "generated": generated, "lang": lang},
        )


def export_build(*, request: RightsRequest) -> RightsRequest:
    """Build the ZIP of an access or portability request, then tell the person it is ready."""
    if "export_built" in request.steps_done:
        return request
    request.status = Status.IN_PROGRESS
    request.save(update_fields=["status"])
    name = f"{request.pk}-{secrets.token_hex(8)}.zip"
    path = export_dir() / name
    total = _export_size(request.subject)

    def progress(done: int) -> None:
        RightsRequest.objects.filter(pk=request.pk).update(progress=min(99, int(done * 100 / max(total, 1))))

    with open(path, "wb") as out:
        os.chmod(path, 0o600)
        export_write(subject=request.subject, out=out, lang=request.lang, progress=progress)

    def work() -> None:
        request.export_file = name
        request.export_expires_at = timezone.now() + datetime.timedelta(days=EXPORT_DAYS)
        request.progress = 100
        request.status = Status.DONE
        request.completed_at = timezone.now()
        request.save(update_fields=["export_file", "export_expires_at", "progress", "status", "completed_at"])

    _step(request, "export_built", work)
    if _step(request, "notified"):
        _notify(request, "export_ready")
    return request


def _export_size(subject: Subject) -> int:
    from pacte.ledger.models import Entry
    from pacte.rights.registry import registrations

    total = Entry.objects.filter(subject_id=subject.pk).count()
    for registration in registrations():
        if hasattr(registration.model, "subject"):
            total += registration.model._default_manager.filter(subject=subject).count()
    return total


def export_path(*, request: RightsRequest) -> Path:
    """Return the ZIP of a finished export, refusing one that is not ready or has expired."""
    if not request.export_file:
        raise PacteError(_("Your file is not ready yet."), error_codes.NOT_READY, status=404)
    if request.export_expires_at is None or timezone.now() > request.export_expires_at:
        raise PacteError(_("This download has expired: ask for a new one."), error_codes.EXPIRED, status=410)
    return export_dir() / request.export_file


# --- Erasure -----------------------------------------------------------------------------------------


def erasure_request(*, user: Any, password: str, word: str, lang: str = "fr") -> RightsRequest:
    """Check the password and the typed confirmation word, then record the erasure request."""
    if not user.check_password(password):
        raise PacteError(_("This is not your current password."), error_codes.WRONG_PASSWORD)
    if word.strip().upper() not in (_("DELETE").upper(), "DELETE", "SUPPRIMER"):
        raise PacteError(_("Type the word DELETE to confirm."), error_codes.WRONG_WORD)
    return request_create(
        subject=user.subject,
        kind=Kind.ERASURE,
        channel=Channel.PORTAL,
        identity_check=IdentityCheck.SIGNED_IN,
        lang=lang,
    )


def erasure_run(*, request: RightsRequest) -> RightsRequest:
    """Erase a subject, step by step; each step runs once even if the process is killed and restarted."""
    from pacte.accounts.models import User
    from pacte.consent.services import consents_withdraw_all
    from pacte.rights.registry import registrations
    from pacte.subjects.services import subject_mark_erased
    from pacte.vault.services import keys_destroy_all_but_legal_hold

    subject = request.subject
    user = User.objects.filter(subject=subject).first()
    if request.status == Status.RECEIVED:
        RightsRequest.objects.filter(pk=request.pk).update(status=Status.IN_PROGRESS)

    def end_sessions() -> None:
        if user is not None:
            from allauth.usersessions.models import UserSession

            for session in UserSession.objects.filter(user=user):
                session.end()
            User.objects.filter(pk=user.pk).update(session_generation=user.session_generation + 1)

    def stop_mail() -> None:
        if user is not None:
            User.objects.filter(pk=user.pk).update(mail_stopped=True, is_active=False)

    def withdraw() -> None:
        consents_withdraw_all(
            subject_id=subject.pk,
            source="portal" if request.channel == "portal" else "staff",
            actor=_actor(request),
        )

    _step(request, "sessions_ended", end_sessions)
    _step(request, "mail_stopped", stop_mail)
    _step(request, "consents_withdrawn", withdraw)
    if "confirmation_sent" not in request.steps_done:
        _notify(request, "erased")  # sent before the keys go: afterwards nobody can read the address
        _step(request, "confirmation_sent")

    def erase_records() -> None:
        for registration in registrations():
            registration.eraser(subject)

    _step(request, "records_erased", erase_records)
    _step(
        request,
        "keys_destroyed",
        lambda: keys_destroy_all_but_legal_hold(subject=subject, actor=_actor(request)),
    )

    def mark() -> None:
        subject_mark_erased(subject=subject)
        entry_append(type="account.erased", subject_id=subject.pk, actor=_actor(request), payload={})
        request.status = Status.DONE
        request.progress = 100
        request.completed_at = timezone.now()
        request.save(update_fields=["status", "progress", "completed_at"])

    _step(request, "subject_erased", mark)
    return request


# --- Objection and restriction ------------------------------------------------------------------------


def objection_apply(*, request: RightsRequest, purposes: list[str] | None = None) -> RightsRequest:
    """Objection: withdraw the named consent purposes (all of them when none is named)."""
    from pacte.consent.services import consent_set, consents_withdraw_all

    def work() -> None:
        source = "portal" if request.channel == "portal" else "staff"
        if purposes:
            for purpose in purposes:
                consent_set(
                    subject_id=request.subject_id,
                    purpose=purpose,
                    granted=False,
                    source=source,
                    actor=_actor(request),
                )
        else:
            consents_withdraw_all(subject_id=request.subject_id, source=source, actor=_actor(request))

    _step(request, "objection_applied", work)
    return request_complete(request=request)


def restriction_apply(*, request: RightsRequest, lift: bool = False) -> RightsRequest:
    """Restriction: freeze (or unfreeze) processing of the subject; other services check the flag."""

    def work() -> None:
        Subject.objects.filter(pk=request.subject_id).update(restricted_at=None if lift else timezone.now())

    _step(request, "restriction_lifted" if lift else "restriction_applied", work)
    return request


def exports_purge(*, subject_id: Any = None) -> int:
    """Delete export files that have expired (or every export of one subject); return how many.

    The ZIP holds the person's data in clear, so it lives only as long as its download link.
    """
    from django.db.models import Q

    rows = RightsRequest.objects.exclude(export_file="")
    if subject_id is not None:
        rows = rows.filter(subject_id=subject_id)
    else:
        rows = rows.filter(Q(export_expires_at__lt=timezone.now()) | Q(export_expires_at__isnull=True))
    removed = 0
    for request in rows:
        path = export_dir() / request.export_file
        if path.exists():
            path.unlink()
            removed += 1
        RightsRequest.objects.filter(pk=request.pk).update(export_file="")
    return removed


def rights_request_erase(subject: Any) -> int:
    """The registry's eraser for rights requests: keep the requests (proof of the answers), delete the
    export files; their details become unreadable with the keys."""
    return exports_purge(subject_id=subject.pk)
