"""The export journey: ask for a copy of one's data, build it (resumable, under a lease), reclaim dead builds.

Shared by the portal (``rights.views.my_data``), the worker (``rights.tasks``) and the periodic reclaim.
The build's file is written by ``rights.exports``; each step is a ``rights.step`` ledger entry recorded
once (``services.request_step``), so a build killed at any point finishes exactly once.
"""

from __future__ import annotations

import datetime
import functools
import logging
import os
import secrets
import time
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

# ``tasks`` imports this module back; only module attributes are used here (looked up at call time, which
# is also what lets tests replace ``exports.export_write``, ``services.request_notify`` or a task).
from pacte.rights import app_settings, exports, services, tasks
from pacte.rights import models as rights_models
from pacte.rights.models import Channel, IdentityCheck, Kind, RightsRequest, Status
from pacte.subjects.models import Subject
from pacte.vault.stream import subject_writer

logger = logging.getLogger(__name__)

EXPORT_DAYS = 7  # how long the download link works
EXPORT_KINDS = (Kind.ACCESS, Kind.PORTABILITY)


@transaction.atomic
def export_request(
    *,
    subject: Subject,
    lang: str = "fr",
    kind: str = Kind.ACCESS,
    channel: str = Channel.PORTAL,
    identity_check: str = IdentityCheck.SIGNED_IN,
    recorded_by: str = "",
) -> RightsRequest:
    """Record an access (or portability) request and queue its build once the transaction commits."""
    request = services.request_create(
        subject=subject,
        kind=kind,
        channel=channel,
        identity_check=identity_check,
        recorded_by=recorded_by,
        lang=lang,
    )
    transaction.on_commit(functools.partial(tasks.export_build_task.enqueue, str(request.pk)))
    return request


def _now() -> datetime.datetime:
    """Return the time leases are read against."""
    return rights_models.now()  # looked up on each call: tests travel in time by replacing it


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
            (exports.export_dir() / current.build_file).unlink(missing_ok=True)
        current.build_file = f"{current.pk}-{secrets.token_hex(8)}{exports.EXPORT_SUFFIX}"
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
    services.step_hook("export_heartbeat")


def export_build(*, request: RightsRequest) -> RightsRequest:
    """Build the ZIP of an access or portability request, encrypted at rest, then tell the person.

    The ZIP is written through ``vault.stream`` under the subject's data key of ``EXPORT_RETENTION_CLASS``:
    destroying the subject's keys destroys every copy of it, partial ones included. The build holds a
    lease that each progress renews; a build killed on the way is started again (or marked failed) by
    ``exports_reclaim`` once its lease has passed, and finishes exactly once.
    """
    if "export_built" not in request.steps_done:
        name = _export_claim(request)
        if name is None:
            request.refresh_from_db()
            if "export_built" not in request.steps_done:
                return request
        else:
            path = exports.export_dir() / name
            total = exports.export_size(request.subject)
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
                        retention_class=exports.EXPORT_RETENTION_CLASS,
                        purpose=exports.export_purpose(request.pk),
                        on_chunk=on_chunk,
                    )
                    exports.export_write(
                        subject=request.subject, out=out, lang=request.lang, progress=progress
                    )
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

                if not services.request_step(request, "export_built", work):
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
        services.request_notify(request, "export_ready")
        RightsRequest.objects.filter(pk=request.pk).update(lease_until=None)
        request.lease_until = None

    services.request_step(request, "notified", tell)
    return request


def exports_reclaim() -> dict[str, int]:
    """Take over the export builds whose lease has passed (their process died), then sweep orphan files.

    A dead build's partial file is deleted; the build is queued again, or after
    ``PACTE_EXPORT_MAX_ATTEMPTS`` dead builds the request is marked failed and the person told (staff
    then answer it by hand: it stays in `pacte rights list`). A build that died after its file was
    recorded only has its notification left to send, which is done here. Safe to run anywhere, any time.
    Returns the counts of requeued, failed and finished requests and of orphan files deleted.
    """
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
    counts["orphans"] = exports.exports_sweep()
    return counts


def _export_reclaim_one(request_id: Any, current_time: datetime.datetime) -> str | None:
    """Take over one export whose lease passed; return what was done ("requeued", "failed", "finished")."""
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
            (exports.export_dir() / request.build_file).unlink(missing_ok=True)
        if request.build_attempts >= app_settings.export_max_attempts():

            def fail() -> None:
                request.status = Status.FAILED
                request.build_file = ""
                request.lease_until = None
                request.save(update_fields=["status", "build_file", "lease_until"])
                services.request_notify(request, "export_failed")

            services.request_step(request, "export_failed", fail)
            return "failed"
        request.status = Status.RECEIVED
        request.build_file = ""
        request.lease_until = None
        request.save(update_fields=["status", "build_file", "lease_until"])
        transaction.on_commit(functools.partial(tasks.export_build_task.enqueue, str(request.pk)))
        return "requeued"
