"""Rights tasks, run by the worker: build an export, run an erasure (both resumable), look after exports."""

from __future__ import annotations

from django_tasks import task


@task()
def export_build_task(request_id: str) -> str:
    from pacte.rights.models import RightsRequest
    from pacte.rights.services import export_build

    request = export_build(request=RightsRequest.objects.get(pk=request_id))
    return request.status


@task()
def erasure_run_task(request_id: str) -> str:
    from pacte.rights.models import RightsRequest
    from pacte.rights.services import erasure_run

    request = erasure_run(request=RightsRequest.objects.get(pk=request_id))
    return request.status


@task()
def exports_purge_task() -> int:
    """Delete the export files whose download has expired."""
    from pacte.rights.services import exports_purge

    return exports_purge()


@task()
def exports_reclaim_task() -> dict[str, int]:
    """Restart (or fail) the export builds whose process died, and delete orphan export files."""
    from pacte.rights.services import exports_reclaim

    return exports_reclaim()
