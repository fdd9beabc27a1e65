"""Rights tasks, run by the worker: build an export, run an erasure (both resumable), look after exports."""

from __future__ import annotations

from django_tasks import task

# The flows enqueue these tasks and import this module back: both sides use module attributes only.
from pacte.rights import exports
from pacte.rights.flows import erasure, export
from pacte.rights.models import RightsRequest


@task()
def export_build_task(request_id: str) -> str:
    """Build (or finish) the export of one access or portability request."""
    request = export.export_build(request=RightsRequest.objects.get(pk=request_id))
    return request.status


@task()
def erasure_run_task(request_id: str) -> str:
    """Run (or resume) one erasure request."""
    request = erasure.erasure_run(request=RightsRequest.objects.get(pk=request_id))
    return request.status


@task()
def exports_purge_task() -> int:
    """Delete the export files whose download has expired."""
    return exports.exports_purge()


@task()
def exports_reclaim_task() -> dict[str, int]:
    """Restart (or fail) the export builds whose process died, and delete orphan export files."""
    return export.exports_reclaim()
