"""Interactions (the timeline), tasks and calendar feeds.

An interaction or a task links to any number of records through a target table
(``ActivityTarget``/``TaskTarget``: a registered target type name and the record's id, see
``core.targets``), so a meeting with three people of two companies shows on all five
timelines, and deals and tickets become targets later without a migration here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from rapport.core.models import (
    ActorStamped,
    SoftDeletable,
    Versioned,
    WorkspaceModel,
    trash_index,
)

from .querysets import ActivityQuerySet, TaskQuerySet


class ActivityType(models.TextChoices):
    NOTE = "note", "Note"
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    CHAT = "chat", "Chat"
    SOCIAL = "social", "Social message"
    SMS = "sms", "SMS"
    VISIT = "visit", "Visit"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class Activity(WorkspaceModel, ActorStamped, Versioned, SoftDeletable):  # type: ignore[django-manager-missing]
    type = models.CharField(max_length=16, choices=ActivityType.choices)
    occurred_at = models.DateTimeField()
    subject = models.CharField(max_length=300, blank=True)
    # The text as written (a note's Markdown, an email's text part) and, when there is
    # formatting, its HTML: rendered from Markdown or received, always sanitised with nh3.
    body = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    direction = models.CharField(max_length=8, choices=Direction.choices, blank=True)
    # Where it came from ("aircall", "intercom", "gmail", "ui"); with external_id, the
    # channel's own message id, it makes channel pushes idempotent.
    channel = models.CharField(max_length=50, blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Type-specific fields (duration_s, outcome, from, to, cc, starts_at, ends_at, attendees,
    # location, url, network, handle, thread, message_id, mentions ...), validated per type.
    data = models.JSONField(default=dict, blank=True)
    pinned = models.BooleanField(default=False)

    objects = models.Manager.from_queryset(ActivityQuerySet)()  # type: ignore[assignment,misc]

    class Meta:
        verbose_name_plural = "activities"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "channel", "external_id"],
                condition=~Q(external_id=""),
                name="activities_unique_channel_message",
            )
        ]
        indexes = [
            trash_index("activity_trash"),
            models.Index(
                fields=["workspace", "-occurred_at", "-id"],
                name="activity_occurred",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["workspace", "author", "-occurred_at"],
                name="activity_author",
                condition=Q(deleted_at__isnull=True),
            ),
            # Pinned notes above a timeline: few in a workspace, found without walking them all.
            models.Index(
                fields=["workspace", "-occurred_at"],
                name="activity_pinned",
                condition=Q(pinned=True, deleted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.subject or f"{self.get_type_display()} {self.occurred_at:%Y-%m-%d}"


class ActivityTarget(WorkspaceModel):
    """One record an interaction shows on. ``occurred_at`` and ``activity_type`` repeat the
    interaction's so a timeline page is one index range, newest first; a deleted interaction
    loses its link rows, so timelines and counts never look at the interaction itself.

    ``rollup`` rows put a person's interactions on their company's timeline: written when the
    interaction is logged, for the company the person belonged to then (the conversation
    happened with that company; a later move does not rewrite history)."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="targets")
    target_type = models.CharField(max_length=20)
    target_id = models.UUIDField()
    rollup = models.BooleanField(default=False)
    occurred_at = models.DateTimeField()
    activity_type = models.CharField(max_length=16, choices=ActivityType.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "target_type", "target_id"], name="activity_target_unique"
            )
        ]
        indexes = [
            models.Index(fields=["target_id", "-occurred_at", "-activity"], name="timeline"),
        ]


class TrashedActivityTarget(WorkspaceModel):
    """The links of an interaction in the trash, kept apart from ``ActivityTarget`` so that
    timelines never see a deleted interaction, and restoring it puts it back on exactly the
    timelines it was on (its company rollups as they were written, not recomputed)."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="trashed_targets")
    target_type = models.CharField(max_length=20)
    target_id = models.UUIDField()
    rollup = models.BooleanField(default=False)

    class Meta:
        # A purge looks up the links to the records it deletes.
        indexes = [models.Index(fields=["target_id"], name="trashed_activity_target")]


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Task(WorkspaceModel, ActorStamped, Versioned, SoftDeletable):  # type: ignore[django-manager-missing]
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    # Set in the same transaction that decides to send the reminder: at most once.
    reminded_at = models.DateTimeField(null=True, blank=True)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rrule = models.CharField(max_length=500, blank=True)  # RFC 5545 RRULE, without "RRULE:"
    completed_at = models.DateTimeField(null=True, blank=True)
    # The interaction it follows up ("follow up in 3 days"), and the occurrence it repeats.
    activity = models.ForeignKey(
        Activity, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_occurrence"
    )
    # Whether it links to any record (kept by the services): an unlinked task is a personal
    # to-do, and visibility asks this column instead of an anti-join over every link.
    linked = models.BooleanField(default=False)

    objects = models.Manager.from_queryset(TaskQuerySet)()  # type: ignore[assignment,misc]

    class Meta:
        indexes = [
            trash_index("task_trash"),
            # My work: a user's open tasks by due date.
            models.Index(
                fields=["workspace", "assignee", "status", "due_at", "id"],
                name="task_my_work",
                condition=Q(deleted_at__isnull=True),
            ),
            # The reminder sweep: reminders due and not sent yet.
            models.Index(
                fields=["remind_at"],
                name="task_reminder_due",
                condition=Q(reminded_at__isnull=True, deleted_at__isnull=True, status="open"),
            ),
            # My work's Completed bucket: a user's tasks done most recently.
            models.Index(
                fields=["workspace", "assignee", "status", "-completed_at", "-id"],
                name="task_completed",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["workspace", "-created_at", "-id"],
                name="task_created",
                condition=Q(deleted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class TaskTarget(WorkspaceModel):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="targets")
    target_type = models.CharField(max_length=20)
    target_id = models.UUIDField()
    created_at = models.DateTimeField()  # the task's, for the record's timeline

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["task", "target_type", "target_id"], name="task_target_unique"
            )
        ]
        indexes = [models.Index(fields=["target_id", "-created_at", "-task"], name="task_timeline")]


class CalendarFeed(WorkspaceModel):
    """A user's private ICS feed URL; the secret is stored hashed and can be revoked."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user"],
                condition=Q(revoked_at__isnull=True),
                name="calendar_feed_one_live_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"calendar feed of {self.user_id}"
