from celery import shared_task

from . import jobs


@shared_task(name="rapport.core.tasks.resume_stalled_jobs")
def resume_stalled_jobs() -> int:
    return jobs.resume_stalled()
