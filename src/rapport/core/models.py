"""Base model and feature mixins every domain model is built from (DESIGN rule 7).

A model's capabilities are the mixins it inherits; ``core.registry`` reads them so that
shared code (audit, search, trash, custom fields) can ask what a model supports.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from .actors import Actor, ActorKind
from .ids import new_id
from .querysets import WorkspaceQuerySet

WorkspaceManager = models.Manager.from_queryset(WorkspaceQuerySet)


class WorkspaceModel(models.Model):
    """A row that belongs to exactly one workspace; ``objects.visible_to(actor)`` scopes it."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    workspace = models.ForeignKey(
        "tenancy.Workspace", on_delete=models.CASCADE, related_name="+", editable=False
    )

    objects = WorkspaceManager()

    class Meta:
        abstract = True


ACTOR_KIND_CHOICES = [(k.value, k.value) for k in ActorKind]


class ActorStamped(models.Model):
    """created/updated time and actor: an actor is a kind plus, when there is one, a user."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True, db_index=False)
    created_by_kind = models.CharField(max_length=16, choices=ACTOR_KIND_CHOICES, default="system")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by_kind = models.CharField(max_length=16, choices=ACTOR_KIND_CHOICES, default="system")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True

    def stamp(self, actor: Actor, *, created: bool = False) -> None:
        if created:
            self.created_by_kind = actor.kind.value
            self.created_by = actor.user
        self.updated_by_kind = actor.kind.value
        self.updated_by = actor.user


class Versioned(models.Model):
    """Optimistic concurrency: API updates send If-Match with the version they read."""

    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True


class SoftDeletable(models.Model):
    """Deletes are soft: the row stays (for the trash) and selectors hide it."""

    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


def trash_index(name: str, *fields: str) -> models.Index:
    """The trash's list, newest deletion first (keyset on ``(deleted_at, id)``), after the
    equality filters ``fields``: partial on deleted rows, so it costs live writes nothing and a
    bulk delete of 500,000 records still pages in milliseconds instead of sorting them all."""
    return models.Index(
        fields=["workspace", *fields, "-deleted_at", "-id"],
        name=name,
        condition=Q(deleted_at__isnull=False),
    )


class Tag(WorkspaceModel):
    name = models.CharField(max_length=50)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("name"), "workspace", name="core_tag_unique_name"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tagged(models.Model):
    tags = models.ManyToManyField(Tag, related_name="+", blank=True)

    class Meta:
        abstract = True


class HasCustomFields(models.Model):
    """Custom field values in one JSON column, validated against the workspace's definitions."""

    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an Idempotency-Key, replayed on retries."""

    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.BinaryField()
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user", "key"], name="core_idempotency_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class JobStatus(models.TextChoices):
    DRAFT = "draft", "Not started"  # being set up by the user (an import's mapping step)
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Finished"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class BackgroundJob(WorkspaceModel):
    """Long work run by a Celery worker: its progress, heartbeat and outcome (``core.jobs``).

    The job row, not the broker message, is the truth: a worker claims the job, checkpoints its
    progress in the same transaction as the work it did, and reports a heartbeat; a job whose
    worker died is queued again by ``resume_stalled_jobs`` and continues from its checkpoint.
    """

    task_name: str = ""  # the Celery task that runs this kind of job, given the job's id

    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    total = models.PositiveIntegerField(null=True, blank=True)  # null while unknown
    processed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_kind = models.CharField(max_length=16, choices=ACTOR_KIND_CHOICES, default="user")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)

    @property
    def percent(self) -> int:
        if self.status == JobStatus.SUCCEEDED:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.processed * 100 / self.total))
