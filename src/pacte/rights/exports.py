"""The export file: the ZIP of everything held about a subject, and its encrypted copy on disk.

``export_write`` writes the ZIP (data.json, a CSV per kind, the ledger, consent receipts and a readable
index.html; the format is docs/export-format.md). The portal's copy is stored under
``$PACTE_HOME/exports``, encrypted under the subject's key of ``EXPORT_RETENTION_CLASS``; it is read
back by ``export_open`` and deleted by ``exports_purge`` / ``exports_sweep``. Building that copy (with a
lease, resumable) is the export flow: ``rights.flows.export``.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import itertools
import json
import os
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from pacte.consent.selectors import consent_list
from pacte.consent.services import consent_receipts
from pacte.core.errors import PacteError
from pacte.ledger.selectors import entry_count, entry_rows
from pacte.policy.selectors import policy_active
from pacte.rights import app_settings, error_codes
from pacte.rights.models import RightsRequest
from pacte.sharing.authority_selectors import disclosures_withheld
from pacte.subjects.models import Subject
from pacte.subjects.registry import registrations
from pacte.vault.errors import VaultError
from pacte.vault.stream import EncryptingWriter, decrypt_chunks, plaintext_size, subject_chunks

# The export gathers the account's data: it is encrypted under the subject's key of the class that the
# erasure destroys (never a legal-hold class), so the erasure makes every copy unreadable.
EXPORT_RETENTION_CLASS = "account"
EXPORT_SUFFIX = ".zip.enc"
# The kinds whose rows the readable page shows in full (a few rows each); the rest are counted and linked.
READABLE_KINDS = ("account", "organisations", "email_addresses", "orders", "plan_subscriptions")
READABLE_LIMIT = 200
LEDGER_FIELDS = ("seq", "time", "type", "actor", "payload")
# How much of each CSV waits in memory while data.json is written; beyond, an encrypted temporary file.
SPOOL_MEMORY = 256 * 1024
SPOOL_CONTEXT = "rights.export.spool"


def export_dir() -> Path:
    """Return the folder of the stored exports (made, private, when missing)."""
    folder = Path(settings.PACTE_HOME) / "exports"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def export_write(
    *, subject: Subject, out: Any, lang: str = "en", progress: Callable[[int], None] | None = None
) -> dict:
    """Write the export ZIP of ``subject`` to the binary file ``out``; return its table of contents.

    Reads every registered model's rows once, with bounded memory: each row goes to data.json and to its
    kind's CSV, which waits in a ``_Spool`` (memory, then an encrypted temporary file) until data.json is
    complete, since a ZIP is written one member at a time. The format is docs/export-format.md.
    """
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
    kinds = registrations()
    with (
        contextlib.ExitStack() as spools,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        csvs: list[tuple[str, _Spool]] = []

        def csv_spool(name: str, fields: tuple[str, ...]) -> _CsvWriter:
            spool = spools.enter_context(_Spool())
            csvs.append((name, spool))
            return _CsvWriter(spool, fields)

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
            for index, registration in enumerate(kinds):
                text.write(("," if index else "") + json.dumps(registration.kind) + ": [")
                table = csv_spool(f"{registration.kind}.csv", registration.fields)
                count = 0
                keep = details.get(registration.kind)
                for row in registration.exporter(subject):
                    text.write(("," if count else "") + "\n" + _json_row(row))
                    table.write(row)
                    if keep is not None and len(keep) < READABLE_LIMIT:
                        keep.append(row)
                    count += 1
                    tick()
                table.close()
                counts[registration.kind] = count
                text.write("]")
            text.write('}, "consents": ')
            consents = consent_list(subject_id=subject.pk, lang=lang)
            text.write(json.dumps([view.as_dict() for view in consents], ensure_ascii=False))
            text.write(', "ledger": [')
            ledger = csv_spool("ledger.csv", LEDGER_FIELDS)
            shared = csv_spool("disclosures.csv", LEDGER_FIELDS)
            count = 0
            withheld = disclosures_withheld(subject_id=subject.pk)  # an authority forbade telling
            for row in entry_rows(subject_id=subject.pk):
                if row["seq"] in withheld:
                    continue
                text.write(("," if count else "") + "\n" + _json_row(row))
                line = {**row, "payload": json.dumps(row["payload"], sort_keys=True)}
                ledger.write(line)
                if row["type"] == "disclosure":
                    shared.write(line)
                    if len(disclosures) < READABLE_LIMIT:
                        disclosures.append(row)
                count += 1
                tick()
            ledger.close()
            shared.close()
            counts["ledger"] = count
            text.write("]}\n")
            text.flush()
            text.detach()
        for name, spool in csvs:
            with archive.open(name, "w", force_zip64=True) as raw:
                for chunk in spool.chunks():
                    raw.write(chunk)
            spool.close()
        with archive.open("consent-receipts.json", "w") as raw:
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
                labels={registration.kind: registration.label for registration in kinds},
            ),
        )
    return counts


# One encoder for every data.json row (``json.dumps`` with options builds a new one per call).
_json_row = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


class _Spool(io.RawIOBase):
    """Bytes kept for later, read back once: in memory up to ``SPOOL_MEMORY``, then in a temporary file.

    The file has no name (``TemporaryFile``) and is encrypted (``vault.stream``) under a random key that
    only this object holds, so an export's content never lies on disk in clear, and whatever a killed
    build leaves behind can never be read. ``chunks()`` finishes the spool and yields its bytes.
    """

    def __init__(self) -> None:
        super().__init__()
        self._memory = bytearray()
        self._file: Any = None
        self._writer: EncryptingWriter | None = None
        self._key = b""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        if self._writer is not None:
            self._writer.write(data)
            return size
        self._memory += data
        if len(self._memory) > SPOOL_MEMORY:
            self._file = tempfile.TemporaryFile(dir=export_dir())  # noqa: SIM115 - closed by close()
            self._key = os.urandom(32)
            self._writer = EncryptingWriter(self._file, key=self._key, context=SPOOL_CONTEXT)
            self._writer.write(self._memory)
            self._memory = bytearray()
        return size

    def chunks(self) -> Iterator[bytes]:
        if self._writer is None:
            yield bytes(self._memory)
            return
        self._writer.finish()
        self._file.seek(0)
        yield from decrypt_chunks(self._file, key=self._key, context=SPOOL_CONTEXT)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._memory = bytearray()
        super().close()


class _CsvWriter:
    """One CSV of the export: its header always (an empty kind is a header alone), then a line per row.

    Nested values (dicts, lists) are written as JSON text; a field a row lacks is an empty cell.
    """

    def __init__(self, spool: _Spool, fields: tuple[str, ...]) -> None:
        self._text = io.TextIOWrapper(spool, encoding="utf-8", newline="")  # type: ignore[type-var]
        self._writer = csv.writer(self._text)
        self._fields = fields
        self._writer.writerow(fields)

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow(
            [json.dumps(v) if isinstance(v, dict | list) else v for v in map(row.get, self._fields, _BLANKS)]
        )

    def close(self) -> None:
        self._text.flush()
        self._text.detach()


_BLANKS = itertools.repeat("")


def _when(value: Any) -> Any:
    """An ISO timestamp or date of the export as a datetime/date (shown in the reader's language)."""
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
                "orders": [
                    {
                        **row,
                        "created_at": _when(row.get("created_at")),
                        "gross": Decimal(row["gross_cents"]) / 100,
                    }
                    for row in details.get("orders", [])
                ],
                "plan_subscriptions": [
                    {**row, "period_end": _when(row.get("period_end"))}
                    for row in details.get("plan_subscriptions", [])
                ],
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


def export_purpose(request_id: Any) -> str:
    """Return the AEAD purpose that binds a stored export to its request."""
    return f"rights.export|{request_id}"


def export_size(subject: Subject) -> int:
    """Return how many records the export of ``subject`` holds (the build's progress is counted in them)."""
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
            purpose=export_purpose(request.pk),
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


def exports_purge(*, subject_id: Any = None) -> int:
    """Delete export files that have expired (or every export of one subject); return how many.

    The file is encrypted under the person's key, and still lives only as long as its download link.
    """
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
