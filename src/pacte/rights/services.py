"""Writes of the rights app: requests and their deadlines, the export ZIP, the erasure, objection, restriction.

Every step of a request is a ``rights.step`` ledger entry (payload: request id, kind, step), written in the
same transaction as the step's own changes, and remembered in ``RightsRequest.steps_done``: a step already
done is never done twice, so a task killed at any point finishes exactly once when it runs again.
"""

from __future__ import annotations

import calendar
import csv
import datetime
import functools
import io
import json
import logging
import os
import secrets
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from pacte.accounts.selectors import account_contact, subject_language
from pacte.accounts.services import account_mail_stop, account_sessions_end
from pacte.core.errors import PacteError
from pacte.ledger.selectors import entry_count, entry_rows
from pacte.ledger.services import entry_append
from pacte.rights import app_settings, error_codes
from pacte.rights import models as rights_models
from pacte.rights.models import Channel, IdentityCheck, Kind, RightsRequest, Status
from pacte.subjects.models import Subject

logger = logging.getLogger(__name__)

EXPORT_DAYS = 7
EXPORT_KINDS = (Kind.ACCESS, Kind.PORTABILITY)
# The export gathers the account's data: it is encrypted under the subject's key of the class that the
# erasure destroys (never a legal-hold class), so the erasure makes every copy unreadable.
EXPORT_RETENTION_CLASS = "account"
EXPORT_SUFFIX = ".zip.enc"
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
    """Call the step hook, if the settings name one (crash tests do: tests/process_settings.py)."""
    hook = getattr(settings, "PACTE_STEP_HOOK", None)
    if hook:
        import_string(hook)(step)


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


def _notify(request: RightsRequest, what: str, address: str | None = None) -> bool:
    """Tell the person, through the outbox; the erasure's last message is sent at once instead, because
    the address is destroyed right after it."""
    from django.core.mail import send_mail

    from pacte.messaging.services import message_queue

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


# --- Export ------------------------------------------------------------------------------------------


def export_dir() -> Path:
    folder = Path(settings.PACTE_HOME) / "exports"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _ledger_rows(subject_id: Any) -> Any:
    return entry_rows(subject_id=subject_id)


def export_write(
    *, subject: Subject, out: Any, lang: str = "en", progress: Callable[[int], None] | None = None
) -> dict:
    """Write the export ZIP of ``subject`` to the binary file ``out``; return its table of contents.

    Streams every registered model's rows (twice: data.json, then one CSV per kind) with bounded memory.
    The format is documented in docs/export-format.md.
    """
    from pacte.consent.selectors import consent_list
    from pacte.subjects.registry import registrations

    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None and done % 1000 == 0:
            progress(done)

    counts: dict[str, int] = {}
    now = timezone.now()
    generated = now.isoformat()
    # What the readable page shows beside the files: the person's details, consents and disclosures.
    details: dict[str, list[dict[str, Any]]] = {kind: [] for kind in READABLE_KINDS}
    disclosures: list[dict[str, Any]] = []
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
                keep = details.get(registration.kind)
                for row in registration.exporter(subject):
                    text.write(
                        ("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False, sort_keys=True)
                    )
                    if keep is not None and len(keep) < READABLE_LIMIT:
                        keep.append(row)
                    count += 1
                    tick()
                counts[registration.kind] = count
                text.write("]")
            text.write('}, "consents": ')
            consents = consent_list(subject_id=subject.pk, lang=lang)
            text.write(json.dumps([view.as_dict() for view in consents], ensure_ascii=False))
            text.write(', "ledger": [')
            count = 0
            for row in _ledger_rows(subject.pk):
                text.write(
                    ("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False, sort_keys=True)
                )
                if row["type"] == "disclosure" and len(disclosures) < READABLE_LIMIT:
                    disclosures.append(row)
                count += 1
                tick()
            counts["ledger"] = count
            text.write("]}\n")
            text.flush()
            text.detach()
        for registration in registrations():
            _csv_write(
                archive, f"{registration.kind}.csv", registration.exporter(subject), registration.fields
            )
        _csv_write(
            archive,
            "ledger.csv",
            (
                {**row, "payload": json.dumps(row["payload"], sort_keys=True)}
                for row in _ledger_rows(subject.pk)
            ),
            LEDGER_FIELDS,
        )
        _csv_write(
            archive,
            "disclosures.csv",
            (
                {**row, "payload": json.dumps(row["payload"], sort_keys=True)}
                for row in _ledger_rows(subject.pk)
                if row["type"] == "disclosure"
            ),
            LEDGER_FIELDS,
        )
        with archive.open("consent-receipts.json", "w") as raw:
            from pacte.consent.services import consent_receipts

            raw.write(json.dumps(consent_receipts(subject_id=subject.pk), indent=1).encode())
        archive.writestr(
            "index.html",
            _index_html(
                counts,
                lang=lang,
                generated=now,
                details=details,
                consents=consents,
                disclosures=disclosures,
                labels={registration.kind: registration.label for registration in registrations()},
            ),
        )
    return counts


# The kinds whose rows the readable page shows in full (a few rows each); the rest are counted and linked.
READABLE_KINDS = ("account", "organisations", "email_addresses")
READABLE_LIMIT = 200
LEDGER_FIELDS = ("seq", "time", "type", "actor", "payload")


def _csv_write(archive: zipfile.ZipFile, name: str, rows: Any, fields: tuple[str, ...]) -> None:
    """Write one CSV: its header always (an empty kind is a header alone), then a line per row."""
    with archive.open(name, "w", force_zip64=True) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.DictWriter(text, fieldnames=list(fields), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()})
        text.flush()
        text.detach()


def _when(value: Any) -> Any:
    """An ISO timestamp or date of the export as a datetime/date (shown in the reader's language)."""
    from django.utils.dateparse import parse_date, parse_datetime

    if not isinstance(value, str) or not value:
        return value
    return parse_datetime(value) or parse_date(value) or value


def _index_html(
    counts: dict[str, int],
    *,
    lang: str,
    generated: datetime.datetime,
    details: dict[str, list[dict[str, Any]]],
    consents: list[Any],
    disclosures: list[dict[str, Any]],
    labels: dict[str, Any],
) -> str:
    """The export's index.html: a page a person reads (their details, consents, who received what)."""
    from django.template.loader import render_to_string
    from django.utils import translation

    from pacte.policy.selectors import policy_active

    policy = policy_active()
    recipients = policy.recipients
    purposes = policy.purposes
    categories = policy.categories
    with translation.override(lang):
        account = [
            {**row, **{key: _when(row.get(key)) for key in ("birth_date", "date_joined", "last_login")}}
            for row in details.get("account", [])
        ]
        shared = []
        for row in disclosures:
            payload = row["payload"]
            recipient = recipients.get(payload.get("recipient", ""))
            purpose = purposes.get(payload.get("purpose", ""))
            shared.append(
                {
                    "when": _when(row["time"]),
                    "recipient": recipient.name if recipient else payload.get("recipient", ""),
                    "purpose": purpose.label.get(lang) if purpose else payload.get("purpose", ""),
                    "categories": [
                        categories[c].label.get(lang) if c in categories else c
                        for c in payload.get("categories", [])
                    ],
                }
            )
        return render_to_string(
            "rights/export_index.html",
            {
                "operator": policy.operator,
                "generated": generated,
                "lang": lang,
                "account": account,
                "organisations": details.get("organisations", []),
                "email_addresses": details.get("email_addresses", []),
                "consents": [{"view": view, "changed_at": view.changed_at} for view in consents],
                "shared": shared,
                "records": [
                    {"kind": kind, "label": labels.get(kind, kind), "count": count}
                    for kind, count in counts.items()
                    if kind != "ledger"
                ],
                "ledger_count": counts.get("ledger", 0),
            },
        )


def _now() -> datetime.datetime:
    return rights_models.now()  # looked up on each call: tests travel in time by replacing it


def _export_purpose(request_id: Any) -> str:
    return f"rights.export|{request_id}"


class _LeaseLost(Exception):
    """This build was taken for dead and its export handed to another build: stop, keep nothing."""


def _lease_end() -> datetime.datetime:
    return _now() + datetime.timedelta(seconds=app_settings.export_lease_seconds())


def _export_claim(request: RightsRequest) -> str | None:
    """Start a build attempt: record its file and lease; None when the export needs no build now."""
    with transaction.atomic():
        current = RightsRequest.objects.select_for_update().get(pk=request.pk)
        if "export_built" in current.steps_done or current.status not in (
            Status.RECEIVED,
            Status.IN_PROGRESS,
        ):
            return None
        if current.lease_until is not None and current.lease_until > _now():
            return None  # another build is alive; if it dies, the reclaim starts this one again
        if current.build_file:  # left by a dead build
            (export_dir() / current.build_file).unlink(missing_ok=True)
        current.build_file = f"{current.pk}-{secrets.token_hex(8)}{EXPORT_SUFFIX}"
        current.lease_until = _lease_end()
        current.build_attempts += 1
        current.status = Status.IN_PROGRESS
        current.progress = 0
        current.save(update_fields=["build_file", "lease_until", "build_attempts", "status", "progress"])
    for field in ("build_file", "lease_until", "build_attempts", "status", "progress"):
        setattr(request, field, getattr(current, field))
    return current.build_file


def _export_heartbeat(request: RightsRequest, name: str, *, progress: int | None = None) -> None:
    """Push the build's lease on (and record its progress); raise _LeaseLost if it was taken over."""
    fields: dict[str, Any] = {"lease_until": _lease_end()}
    if progress is not None:
        fields["progress"] = progress
    if not RightsRequest.objects.filter(pk=request.pk, build_file=name).update(**fields):
        raise _LeaseLost
    _crash_point("export_heartbeat")


def export_build(*, request: RightsRequest) -> RightsRequest:
    """Build the ZIP of an access or portability request, encrypted at rest, then tell the person.

    The ZIP is written through ``vault.stream`` under the subject's data key of ``EXPORT_RETENTION_CLASS``:
    destroying the subject's keys destroys every copy of it, partial ones included. The build holds a
    lease that each progress renews; a build killed on the way is started again (or marked failed) by
    ``exports_reclaim`` once its lease has passed, and finishes exactly once.
    """
    from pacte.vault.stream import subject_writer

    if "export_built" not in request.steps_done:
        name = _export_claim(request)
        if name is None:
            request.refresh_from_db()
            if "export_built" not in request.steps_done:
                return request
        else:
            path = export_dir() / name
            total = _export_size(request.subject)
            every = max(1.0, app_settings.export_lease_seconds() / 5)
            last = time.monotonic()

            def progress(done: int) -> None:
                nonlocal last
                last = time.monotonic()
                _export_heartbeat(request, name, progress=min(99, int(done * 100 / max(total, 1))))

            def on_chunk(chunks: int) -> None:
                nonlocal last
                if time.monotonic() - last >= every:  # long stretches without record ticks (the CSVs)
                    last = time.monotonic()
                    _export_heartbeat(request, name)

            try:
                with open(path, "xb") as raw:
                    os.chmod(path, 0o600)
                    out = subject_writer(
                        raw,
                        subject_id=request.subject_id,
                        retention_class=EXPORT_RETENTION_CLASS,
                        purpose=_export_purpose(request.pk),
                        on_chunk=on_chunk,
                    )
                    export_write(subject=request.subject, out=out, lang=request.lang, progress=progress)
                    out.finish()
                    os.fsync(raw.fileno())

                def work() -> None:
                    finished = timezone.now()
                    fields = {
                        "export_file": name,
                        "export_expires_at": finished + datetime.timedelta(days=EXPORT_DAYS),
                        "build_file": "",
                        "progress": 100,
                        "status": Status.DONE,
                        "completed_at": finished,
                    }
                    # The lease stays until the person is told, so a kill before that is reclaimed too.
                    if not RightsRequest.objects.filter(pk=request.pk, build_file=name).update(**fields):
                        raise _LeaseLost
                    for field, value in fields.items():
                        setattr(request, field, value)

                if not _step(request, "export_built", work):
                    raise _LeaseLost  # another build finished first: its file is the export
            except _LeaseLost:
                path.unlink(missing_ok=True)
                request.refresh_from_db()
                return request
            except BaseException:
                # An error (not a kill): drop the partial file and end the lease now, so the next
                # reclaim retries the build (or gives up after the last attempt) without waiting.
                path.unlink(missing_ok=True)
                RightsRequest.objects.filter(pk=request.pk, build_file=name).update(
                    build_file="", lease_until=_now()
                )
                raise

    def tell() -> None:
        _notify(request, "export_ready")
        RightsRequest.objects.filter(pk=request.pk).update(lease_until=None)
        request.lease_until = None

    _step(request, "notified", tell)
    return request


def _export_size(subject: Subject) -> int:
    from pacte.subjects.registry import registrations

    total = entry_count(subject_id=subject.pk)
    for registration in registrations():
        if hasattr(registration.model, "subject"):
            total += registration.model._default_manager.filter(subject=subject).count()
    return total


def export_path(*, request: RightsRequest) -> Path:
    """Return the encrypted file of a finished export, refusing one that is not ready or has expired."""
    if not request.export_file:
        raise PacteError(_("Your file is not ready yet."), error_codes.NOT_READY, status=404)
    if request.export_expires_at is None or timezone.now() > request.export_expires_at:
        raise PacteError(_("This download has expired: ask for a new one."), error_codes.EXPIRED, status=410)
    return export_dir() / request.export_file


def export_open(*, request: RightsRequest) -> tuple[int, Iterator[bytes]]:
    """Return the size of a finished export's ZIP and an iterator of its decrypted bytes.

    The key, the header and the first chunk are checked before this returns, so a file that cannot be
    read is refused before any byte is sent; a fault found further on (a file altered in place) stops
    the iteration with ``VaultIntegrityError`` and the download ends short of its announced size.
    The iterator closes the file when it is exhausted or closed.
    """
    from pacte.vault.errors import VaultError
    from pacte.vault.stream import plaintext_size, subject_chunks

    path = export_path(request=request)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the iterator below
    except FileNotFoundError:
        raise PacteError(
            _("This download has expired: ask for a new one."), error_codes.EXPIRED, status=410
        ) from None
    try:
        size = plaintext_size(handle, os.fstat(handle.fileno()).st_size)
        handle.seek(0)
        chunks = subject_chunks(
            handle,
            subject_id=request.subject_id,
            retention_class=EXPORT_RETENTION_CLASS,
            purpose=_export_purpose(request.pk),
        )
        first = next(chunks)
    except VaultError as error:
        handle.close()
        raise PacteError(
            _("Your file can no longer be read: ask for a new one."), error_codes.UNREADABLE, status=410
        ) from error
    except BaseException:
        handle.close()
        raise

    def body() -> Iterator[bytes]:
        try:
            yield first
            yield from chunks
        finally:
            handle.close()

    return size, body()


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
    from pacte.consent.services import consents_withdraw_all
    from pacte.subjects.registry import registrations
    from pacte.subjects.services import subject_mark_erased
    from pacte.vault.services import keys_destroy_all_but_legal_hold

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

    The file is encrypted under the person's key, and still lives only as long as its download link.
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
    if subject_id is not None:  # and the partial file of a build under way (unreadable without the keys)
        for name in (
            RightsRequest.objects.filter(subject_id=subject_id)
            .exclude(build_file="")
            .values_list("build_file", flat=True)
        ):
            (export_dir() / name).unlink(missing_ok=True)
    return removed


def exports_reclaim() -> dict[str, int]:
    """Take over the export builds whose lease has passed (their process died), then sweep orphan files.

    A dead build's partial file is deleted; the build is queued again, or after
    ``PACTE_EXPORT_MAX_ATTEMPTS`` dead builds the request is marked failed and the person told (staff
    then answer it by hand: it stays in `pacte rights list`). A build that died after its file was
    recorded only has its notification left to send, which is done here. Safe to run anywhere, any time.
    Returns the counts of requeued, failed and finished requests and of orphan files deleted.
    """
    from django.db.models import Q

    counts = {"requeued": 0, "failed": 0, "finished": 0, "orphans": 0}
    current_time = _now()
    stale = RightsRequest.objects.filter(kind__in=EXPORT_KINDS).filter(
        Q(lease_until__lt=current_time) | Q(status=Status.IN_PROGRESS, lease_until__isnull=True)
    )
    for request_id in list(stale.values_list("pk", flat=True)):
        try:
            outcome = _export_reclaim_one(request_id, current_time)
        except Exception:  # one broken request must not keep the others (and the sweep) from running
            logger.exception("Reclaiming export request %s failed; the next run tries again.", request_id)
            continue
        if outcome:
            counts[outcome] += 1
    counts["orphans"] = exports_sweep()
    return counts


def _export_reclaim_one(request_id: Any, current_time: datetime.datetime) -> str | None:
    """Take over one export whose lease passed; return what was done ("requeued", "failed", "finished")."""
    from pacte.rights.tasks import export_build_task

    with transaction.atomic():
        request = RightsRequest.objects.select_for_update().get(pk=request_id)
        if request.lease_until is not None and request.lease_until >= current_time:
            return None  # renewed meanwhile: alive
        if "export_built" in request.steps_done:
            export_build(request=request)  # only the notification is left
            return "finished"
        if request.status not in (Status.RECEIVED, Status.IN_PROGRESS):
            RightsRequest.objects.filter(pk=request.pk).update(lease_until=None)
            return None
        if request.build_file:
            (export_dir() / request.build_file).unlink(missing_ok=True)
        if request.build_attempts >= app_settings.export_max_attempts():

            def fail() -> None:
                request.status = Status.FAILED
                request.build_file = ""
                request.lease_until = None
                request.save(update_fields=["status", "build_file", "lease_until"])
                _notify(request, "export_failed")

            _step(request, "export_failed", fail)
            return "failed"
        request.status = Status.RECEIVED
        request.build_file = ""
        request.lease_until = None
        request.save(update_fields=["status", "build_file", "lease_until"])
        transaction.on_commit(functools.partial(export_build_task.enqueue, str(request.pk)))
        return "requeued"


def exports_sweep() -> int:
    """Delete the files in the exports folder that no request points at; return how many.

    Such files come from a database restored from a backup older than them, or from builds of a version
    without leases; none of them can be downloaded. Files younger than one lease are spared, as a margin.
    """
    folder = export_dir()
    names = [path.name for path in folder.iterdir()]  # listed before reading the requests (no race)
    live = set(RightsRequest.objects.exclude(export_file="").values_list("export_file", flat=True))
    live |= set(RightsRequest.objects.exclude(build_file="").values_list("build_file", flat=True))
    cutoff = time.time() - app_settings.export_lease_seconds()
    removed = 0
    for name in names:
        path = folder / name
        if name in live or not path.is_file():
            continue
        try:
            if path.stat().st_mtime > cutoff:
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed


def rights_request_erase(subject: Any) -> int:
    """The registry's eraser for rights requests: keep the requests (proof of the answers), delete the
    export files; their details become unreadable with the keys."""
    return exports_purge(subject_id=subject.pk)
