"""Reads of imports and exports, always scoped through ``visible_to(actor)``."""

from __future__ import annotations

from rapport.core.actors import Actor
from rapport.core.errors import NotFound
from rapport.core.pagination import Page, Sort, keyset_page

from .models import ExportJob, ImportIssue, ImportJob, ImportMapping

NEWEST_FIRST = Sort(field="created_at", descending=True)
BY_LINE = Sort(field="line", descending=False)


def import_list(*, actor: Actor, cursor: str | None = None, limit: int = 50) -> Page:
    qs = ImportJob.objects.visible_to(actor).select_related("created_by", "undo")
    return keyset_page(qs, sort=NEWEST_FIRST, cursor=cursor, limit=limit)


def import_get(*, actor: Actor, job_id) -> ImportJob:
    job = (
        ImportJob.objects.visible_to(actor)
        .select_related("created_by", "undo")
        .filter(pk=job_id)
        .first()
    )
    if job is None:
        raise NotFound("No such import.")
    return job


def import_issues(*, actor: Actor, job: ImportJob, cursor: str | None = None, limit: int = 50):
    """The rows an import did not write; ``job`` comes from ``import_get`` (already scoped)."""
    return keyset_page(
        ImportIssue.objects.filter(job=job), sort=BY_LINE, cursor=cursor, limit=limit
    )


def mapping_templates(*, actor: Actor, object_type: str | None = None) -> list[ImportMapping]:
    qs = ImportMapping.objects.visible_to(actor)
    if object_type:
        qs = qs.filter(object_type=object_type)
    return list(qs.order_by("name")[:200])


def export_list(*, actor: Actor, cursor: str | None = None, limit: int = 50) -> Page:
    qs = ExportJob.objects.visible_to(actor).select_related("created_by")
    return keyset_page(qs, sort=NEWEST_FIRST, cursor=cursor, limit=limit)
