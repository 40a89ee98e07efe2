"""Drives a real Rapport install in its own database for the real-worker tests.

Run as ``python -m rapport.imports.tests.worker_harness setup ROWS`` (prints the job id),
``resume`` (queues stalled jobs again) or ``report JOB`` (prints the outcome as JSON). The
environment names the database, broker, queue and media folder, as a deployment's would.
"""

from __future__ import annotations

import json
import os
import sys


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.config.settings")
    import django

    django.setup()


def setup(rows: int) -> None:
    import csv
    import tempfile

    from django.core.files import File
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from rapport.core.actors import Actor
    from rapport.imports import services
    from rapport.tenancy.models import Workspace

    workspace = Workspace.objects.create(name="Worker test", slug="worker-test")
    actor = Actor.system(workspace, "worker test")
    with tempfile.NamedTemporaryFile("w+", suffix=".csv", newline="", delete=False) as out:
        writer = csv.writer(out)
        writer.writerow(["First Name", "Last Name", "Email", "Company Name", "Tags"])
        for i in range(rows):
            email = f"person{i}@example.com" if i % 1000 != 999 else "not-an-email"
            writer.writerow([f"P{i}", "Worker", email, f"Company {i % 50}", "imported;w"])
        path = out.name
    with open(path, "rb") as handle:
        job = services.import_upload(
            actor=actor, upload=File(handle, name="people.csv"), object_type="person"
        )
    services.import_start(actor=actor, job_id=job.pk)
    print(job.pk)


def resume() -> None:
    from rapport.core.jobs import resume_stalled

    print(resume_stalled())


def report(job_id: str) -> None:
    from django.db.models import Count

    from rapport.audit.models import AuditEntry
    from rapport.contacts.models import Person
    from rapport.imports.models import ImportJob

    job = ImportJob.objects.get(pk=job_id)
    people = Person.objects.filter(workspace=job.workspace)
    repeated = (
        people.values("email").annotate(n=Count("id")).filter(n__gt=1).values_list("email", "n")
    )
    print(
        json.dumps(
            {
                "status": job.status,
                "error": job.error,
                "attempts": job.attempts,
                "processed": job.processed,
                "created": job.created_count,
                "rejected": job.rejected_count,
                "people": people.count(),
                "repeated_emails": list(repeated),
                "imported_records": job.records.count(),
                "issues": job.issues.count(),
                "audited": AuditEntry.objects.filter(
                    action="contact.created", source=job.source
                ).count(),
            }
        )
    )


if __name__ == "__main__":
    _django()
    command, *args = sys.argv[1:]
    {"setup": lambda: setup(int(args[0])), "resume": resume, "report": lambda: report(args[0])}[
        command
    ]()
