"""Celery tasks of the contacts app: take ids, call the services that do the work."""

from __future__ import annotations

from celery import shared_task

from . import dedupe
from .models import DuplicateScan


@shared_task(name="rapport.contacts.tasks.purge_trash")
def purge_trash(workspace_id: str | None = None) -> int:
    """The daily purge: deletes for good what each workspace's retention no longer keeps
    (people, companies, the deleted deals and leads of the sales app, deleted interactions,
    tasks and files), acting as the workspace's ``system`` actor; answers how many went."""
    from rapport.activities import purging as activity_purging
    from rapport.attachments import services as attachment_services
    from rapport.core.actors import Actor
    from rapport.sales import lead_services
    from rapport.sales import services as sales_services
    from rapport.tenancy.models import Workspace

    from . import services

    workspaces = Workspace.objects.all()
    if workspace_id:
        workspaces = workspaces.filter(pk=workspace_id)
    total = 0
    for workspace in workspaces.order_by("pk"):
        actor = Actor.system(workspace, "retention")
        total += services.trash_purge(actor=actor)
        total += sales_services.deal_purge(actor=actor) + lead_services.lead_purge(actor=actor)
        total += activity_purging.purge_expired(actor=actor)
        total += attachment_services.purge_expired(actor=actor)
    return total


@shared_task(name=DuplicateScan.task_name)
def scan_duplicates(job_id: str) -> None:
    """Runs a workspace duplicate scan (``dedupe.scan_run``: claim, scan, finish)."""
    dedupe.scan_run(job_id)
