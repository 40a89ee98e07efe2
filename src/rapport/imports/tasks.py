"""Celery tasks: take a job id, call the service (which claims the job and checkpoints)."""

from celery import shared_task

from . import services


@shared_task(name="rapport.imports.tasks.run_import")
def run_import(job_id: str) -> None:
    services.import_run(job_id)


@shared_task(name="rapport.imports.tasks.run_export")
def run_export(job_id: str) -> None:
    from . import exports

    exports.export_run(job_id)


@shared_task(name="rapport.imports.tasks.run_bulk")
def run_bulk(job_id: str) -> None:
    from . import bulk

    bulk.bulk_run(job_id)


@shared_task(name="rapport.imports.tasks.run_import_undo")
def run_import_undo(undo_id: str) -> None:
    services.import_undo_run(undo_id)
