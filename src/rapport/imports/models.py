"""Import and export jobs: the file, the user's choices, progress and the outcome per row."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.contacts.batch import ImportMode
from rapport.core.ids import new_id
from rapport.core.models import BackgroundJob, JobStatus, WorkspaceModel


class ObjectType(models.TextChoices):
    PERSON = "person", "People"
    COMPANY = "company", "Companies"
    LEAD = "lead", "Leads"


class ContactType(models.TextChoices):
    """What exports and bulk changes handle: leads are imported, not (yet) exported."""

    PERSON = "person", "People"
    COMPANY = "company", "Companies"


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"
    VCARD = "vcard", "vCard"


def _import_path(job: ImportJob, filename: str) -> str:
    return f"imports/{job.workspace_id}/{job.pk}/source"


def _export_path(job: ExportJob, filename: str) -> str:
    return f"exports/{job.workspace_id}/{job.pk}/{filename}"


class ImportJob(BackgroundJob):
    task_name = "rapport.imports.tasks.run_import"

    object_type = models.CharField(max_length=16, choices=ObjectType.choices)
    file = models.FileField(upload_to=_import_path, max_length=300)
    file_name = models.CharField(max_length=255)  # as the user named it; shown, never a path
    file_size = models.BigIntegerField(default=0)
    file_format = models.CharField(max_length=8, choices=ImportFormat.choices)
    encoding = models.CharField(max_length=40, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    headers = models.JSONField(default=list)
    sample = models.JSONField(default=list)  # the first rows, for the mapping step
    # {column index as text: target field}; unmapped columns are absent
    mapping = models.JSONField(default=dict)
    mode = models.CharField(max_length=8, choices=ImportMode.choices, default=ImportMode.UPSERT)
    match_on = models.CharField(max_length=16, blank=True)
    create_companies = models.BooleanField(default=True)
    dry_run = models.BooleanField(default=False)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="import_job_recent")]

    def __str__(self) -> str:
        return f"Import of {self.file_name}"

    @property
    def source(self) -> str:
        """What audit entries of this import name as their source."""
        return f"import:{self.pk}"

    @property
    def can_start(self) -> bool:
        return self.status == JobStatus.DRAFT and bool(self.mapping)


class ImportUndo(BackgroundJob):
    """Undoing one import, in a worker: created records to the trash, changed fields put back.

    It walks the import's ``ImportedRecord`` rows in id order and checkpoints the last one done
    (``cursor``) in the transaction that undid its chunk, so a resumed job neither skips nor
    reverts a record twice. One per import (the one-to-one is what refuses a second undo)."""

    task_name = "rapport.imports.tasks.run_import_undo"

    import_job = models.OneToOneField(ImportJob, on_delete=models.CASCADE, related_name="undo")
    cursor = models.BigIntegerField(default=0)  # the last ImportedRecord id undone
    trashed_count = models.PositiveIntegerField(default=0)
    reverted_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)  # left alone: gone, denied, invalid

    def __str__(self) -> str:
        return f"Undo of import {self.import_job_id}"


class RowOutcome(models.TextChoices):
    REJECTED = "rejected", "Rejected"
    SKIPPED = "skipped", "Skipped"


class ImportIssue(models.Model):
    """A row the import did not write, with why: the report users download."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)  # keyset pages
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    line = models.PositiveIntegerField()
    outcome = models.CharField(max_length=8, choices=RowOutcome.choices)
    message = models.TextField()
    errors = models.JSONField(default=list)  # [{"field", "column", "message"}]
    values = models.JSONField(default=list)  # the row's cells (truncated), for the report

    class Meta:
        ordering = ["line"]
        indexes = [models.Index(fields=["job", "line"], name="import_issue_line")]

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportedRecord(models.Model):
    """A record an import created or changed: what undoing the import walks through."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records")
    object_id = models.UUIDField()
    created = models.BooleanField()

    class Meta:
        indexes = [models.Index(fields=["job", "object_id"], name="imported_record_job")]

    def __str__(self) -> str:
        return str(self.object_id)


class ImportMapping(WorkspaceModel):
    """A saved column mapping (a template), applied by header name to later files."""

    name = models.CharField(max_length=100)
    object_type = models.CharField(max_length=16, choices=ObjectType.choices)
    columns = models.JSONField(default=dict)  # {header as written: target field}
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "object_type", "name"], name="import_mapping_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"
    VCARD = "vcard", "vCard (people)"


class ExportJob(BackgroundJob):
    task_name = "rapport.imports.tasks.run_export"

    object_type = models.CharField(max_length=16, choices=ContactType.choices)
    file_format = models.CharField(max_length=8, choices=ExportFormat.choices)
    filters = models.JSONField(default=dict)  # the list's query string, as a dict of lists
    sort = models.CharField(max_length=64, blank=True)
    file = models.FileField(upload_to=_export_path, max_length=300, blank=True)
    file_name = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="export_job_recent")]

    def __str__(self) -> str:
        return f"Export of {self.get_object_type_display().lower()}"


class BulkAction(models.TextChoices):
    UPDATE = "update", "Edit fields"
    ADD_TAGS = "add_tags", "Add tags"
    REMOVE_TAGS = "remove_tags", "Remove tags"
    DELETE = "delete", "Delete (to the trash)"
    UNDO = "undo", "Undo a bulk change"


class BulkJob(BackgroundJob):  # type: ignore[django-manager-missing]
    """One change applied to many records (chosen by id or by a list's filters) in a worker."""

    task_name = "rapport.imports.tasks.run_bulk"

    object_type = models.CharField(max_length=16, choices=ContactType.choices)
    action = models.CharField(max_length=16, choices=BulkAction.choices)
    params = models.JSONField(default=dict)  # {"data": {...}} or {"tags": [...]}
    ids = models.JSONField(null=True, blank=True)  # the chosen records, or null: the filters
    filters = models.JSONField(default=dict)
    cursor = models.CharField(max_length=64, blank=True)  # the last record done (by id)
    changed_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=list)  # the first failures: [{"id", "message"}]
    # For an undo: the bulk change it puts back (its records are that job's ``records``).
    undoes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="undos"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="bulk_job_recent")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} on {self.get_object_type_display().lower()}"

    @property
    def source(self) -> str:
        return f"bulk:{self.pk}"


class BulkRecord(models.Model):
    """A record a bulk change changed (or moved to the trash): what undoing it walks through,
    in id order (the undo's cursor is the last id done)."""

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="records")
    object_id = models.UUIDField()

    def __str__(self) -> str:
        return str(self.object_id)
