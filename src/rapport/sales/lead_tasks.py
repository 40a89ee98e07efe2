"""Daily lead work: scores decay with inactivity, so every open lead is rescored once a day.

Beat entry (config/celery.py or settings): ``"leads-rescore": {"task":
"rapport.sales.lead_tasks.rescore_leads", "schedule": crontab(hour=3, minute=30)}``.
"""

from __future__ import annotations

from celery import shared_task

from .lead_models import Lead
from .lead_scoring import rescore_workspace


@shared_task(name="rapport.sales.lead_tasks.rescore_leads")
def rescore_leads(workspace_id: str | None = None) -> int:
    """Every workspace's open leads, or one workspace's (Settings → Lead scoring: "Rescore all
    leads now")."""
    if workspace_id:
        return rescore_workspace(workspace_id)
    workspaces = (
        Lead.objects.filter(deleted_at__isnull=True, converted_at__isnull=True)
        .values_list("workspace_id", flat=True)
        .distinct()
    )
    return sum(rescore_workspace(ws) for ws in list(workspaces))
