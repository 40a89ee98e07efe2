"""Running ``BackgroundJob`` rows on Celery: enqueue after commit, claim, heartbeat, resume.

A job is enqueued only once the transaction that created it commits (DESIGN: side effects after
commit). A worker *claims* it before working: the claim is a row lock plus a status check, so a
redelivered message for a job another live worker is running, or one already finished, is a
no-op. Work is checkpointed by the job's own code in the same transaction as the rows it wrote,
which is what makes a resumed job continue without repeating anything.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TypeVar

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import BackgroundJob, JobStatus

log = logging.getLogger(__name__)


def enqueue(job: BackgroundJob) -> None:
    """Sends the job's task once the current transaction commits (at once outside one)."""
    name, pk = job.task_name, str(job.pk)
    transaction.on_commit(lambda: _send(name, pk))


def queue_for(job: BackgroundJob, actor, *, send: bool = True) -> None:
    """Saves ``job`` (new, or failed and asked again) as queued for ``actor``, whom the worker
    then acts as, and (unless ``send`` is off) sends it once the transaction commits: a failed
    job continues from its checkpoint."""
    job.status = JobStatus.QUEUED
    job.error = ""
    job.finished_at = None
    job.created_by = actor.user
    job.created_by_kind = actor.kind.value
    job.save()
    if send:
        enqueue(job)


def _send(task_name: str, job_id: str) -> None:
    import importlib

    from celery import current_app

    # Task names are "<module>.<function>": import the module so the task is registered here
    # too (Celery autodiscovers tasks only in worker processes).
    importlib.import_module(task_name.rsplit(".", 1)[0])
    task = current_app.tasks.get(task_name)
    if task is not None:
        task.delay(job_id)  # honours CELERY_TASK_ALWAYS_EAGER (tests, `rapport` one-offs)
    else:
        current_app.send_task(task_name, args=[job_id])


J = TypeVar("J", bound=BackgroundJob)


def claim(model: type[J], job_id) -> J | None:
    """Marks the job running for this worker; None when it is finished or alive elsewhere."""
    stall = timezone.now() - dt.timedelta(seconds=settings.JOB_STALL_SECONDS)
    with transaction.atomic():
        job = model.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished or job.status == JobStatus.DRAFT:
            return None
        if job.status == JobStatus.RUNNING and job.heartbeat_at and job.heartbeat_at > stall:
            return None  # another worker is on it
        now = timezone.now()
        job.status = JobStatus.RUNNING
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.attempts += 1
        job.save(update_fields=["status", "started_at", "heartbeat_at", "attempts"])
        return job


def checkpoint(job: BackgroundJob, **fields) -> None:
    """Saves progress and the heartbeat; call inside the transaction that did the work."""
    job.heartbeat_at = timezone.now()
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=["heartbeat_at", *fields])


def finish(job: BackgroundJob, status: str = JobStatus.SUCCEEDED, error: str = "") -> None:
    job.status = status
    job.error = error
    job.finished_at = timezone.now()
    job.heartbeat_at = job.finished_at
    job.save(update_fields=["status", "error", "finished_at", "heartbeat_at"])


def job_models() -> list[type[BackgroundJob]]:
    return [m for m in apps.get_models() if issubclass(m, BackgroundJob)]


def resume_stalled() -> int:
    """Queues again every job whose worker stopped reporting; answers how many."""
    stall = timezone.now() - dt.timedelta(seconds=settings.JOB_STALL_SECONDS)
    resumed = 0
    for model in job_models():
        # (keyword dicts: mypy's Django plugin cannot see fields declared on an abstract base)
        stalled = model.objects.filter(**{"status": JobStatus.RUNNING, "heartbeat_at__lt": stall})
        lost = model.objects.filter(**{"status": JobStatus.QUEUED, "created_at__lt": stall})
        for pk in [*stalled.values_list("pk", flat=True), *lost.values_list("pk", flat=True)]:
            log.warning("resuming stalled %s %s", model._meta.label, pk)
            _send(model.task_name, str(pk))
            resumed += 1
    return resumed
