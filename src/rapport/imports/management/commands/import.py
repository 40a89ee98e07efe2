"""rapport import people|companies|leads FILE --workspace SLUG [--mapping M] [--dry-run]"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rapport.core.actors import Actor
from rapport.core.errors import ValidationFailed
from rapport.imports import mapping, services
from rapport.imports.models import ImportMapping
from rapport.tenancy.models import Workspace

KINDS = {
    "people": "person",
    "person": "person",
    "companies": "company",
    "company": "company",
    "leads": "lead",
    "lead": "lead",
}


class Command(BaseCommand):
    help = "Import people, companies or leads from a CSV, XLSX or vCard file, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("file", type=Path)
        parser.add_argument("--workspace", required=True, help="The workspace's slug")
        parser.add_argument(
            "--mapping",
            help="A saved mapping template's name, or a JSON file of {column header: field}",
        )
        parser.add_argument("--mode", default="upsert", choices=["upsert", "create", "update"])
        parser.add_argument(
            "--match",
            default=None,
            help="email, domain, external_id or name (leads: email); '' to always create",
        )
        parser.add_argument("--dry-run", action="store_true", help="Check every row, write none")
        parser.add_argument("--no-create-companies", action="store_true")
        parser.add_argument(
            "--report", type=Path, help="Write the rows not imported, with why, to this CSV file"
        )

    def handle(self, *args, kind, file, workspace, mapping, mode, match, dry_run, report, **opts):
        object_type = KINDS[kind]
        ws = Workspace.objects.filter(slug=workspace).first()
        if ws is None:
            raise CommandError(f"No workspace with the slug {workspace!r}.")
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        actor = Actor.system(ws, "cli import")
        try:
            job = self._prepare(actor, object_type, file, mapping, mode, match, opts)
            services.import_start(actor=actor, job_id=job.pk, dry_run=dry_run, enqueue=False)
        except ValidationFailed as exc:
            raise CommandError("; ".join(e.message for e in exc.errors) or exc.detail)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=None,
            disable=not self.stdout.isatty(),
        ) as progress:
            task = progress.add_task("Dry run" if dry_run else "Importing", total=job.total)
            job = services.import_run(
                job.pk, on_progress=lambda j: progress.update(task, completed=j.processed)
            )
        assert job is not None
        verb = "would be " if dry_run else ""
        self.stdout.write(
            f"{job.processed} rows: {job.created_count} {verb}created, {job.updated_count} "
            f"{verb}updated, {job.unchanged_count} unchanged, {job.skipped_count} skipped, "
            f"{job.rejected_count} rejected."
        )
        if job.error:
            raise CommandError(job.error)
        if job.rejected_count or job.skipped_count:
            self._issues(job, report)
        self.stdout.write(f"Import id: {job.pk}")

    def _issues(self, job, report: Path | None) -> None:
        if report is not None:
            from rapport.imports.report import report_lines

            with report.open("w", encoding="utf-8", newline="") as out:
                out.writelines(report_lines(job))
            self.stdout.write(f"The rows not imported, with why, are in {report}.")
            return
        for issue in job.issues.order_by("line")[:10]:
            self.stdout.write(f"  line {issue.line} ({issue.outcome}): {issue.message}")
        more = job.rejected_count + job.skipped_count - 10
        if more > 0:
            self.stdout.write(f"  ... and {more} more (write them all with --report FILE)")

    def _prepare(self, actor, object_type, file: Path, mapping_arg, mode, match, opts):
        columns = self._columns(actor, object_type, mapping_arg)
        with file.open("rb") as handle:
            job = services.import_upload(
                actor=actor,
                upload=File(handle, name=file.name),  # type: ignore[arg-type]
                object_type=object_type,
            )
        chosen = job.mapping
        if columns is not None:
            targets = mapping.targets_for(actor.workspace, object_type)
            chosen = mapping.guess(job.headers, targets, columns)
        return services.import_configure(
            actor=actor,
            job_id=job.pk,
            columns=chosen,
            mode=mode,
            match_on=job.match_on if match is None else match,
            create_companies=not opts["no_create_companies"],
        )

    def _columns(self, actor, object_type, mapping_arg) -> dict[str, str] | None:
        if not mapping_arg:
            return None
        path = Path(mapping_arg)
        if path.suffix == ".json" and path.is_file():
            try:
                data = json.loads(path.read_text())
            except ValueError as exc:
                raise CommandError(f"{path} is not JSON: {exc}")
            if not isinstance(data, dict):
                raise CommandError(f"{path} must hold an object of column header: field.")
            return {str(k): str(v) for k, v in data.items()}
        template = ImportMapping.objects.filter(
            **{"workspace": actor.workspace, "object_type": object_type, "name": mapping_arg}
        ).first()
        if template is None:
            raise CommandError(f"No mapping template named {mapping_arg!r}.")
        return template.columns
