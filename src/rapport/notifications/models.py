"""In-app notifications and each member's email preference.

A notification is one event for one recipient (someone mentioned you, assigned you a task, a
task is due). ``key`` names the event: the same key for the same recipient in the same
workspace is refused by a unique constraint, so however often a caller, a retried task or a
racing worker announces an event, it notifies once.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone

from rapport.core.models import WorkspaceModel

TITLE_MAX = 200
BODY_MAX = 1000
URL_MAX = 500
KEY_MAX = 255


class Notification(WorkspaceModel):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    # A registered kind (notifications.kinds); no choices, so a new kind needs no migration.
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=TITLE_MAX)
    body = models.CharField(max_length=BODY_MAX, blank=True)
    url = models.CharField(max_length=URL_MAX, blank=True)  # relative: "/people/<id>/"
    # The record it is about (a core.targets type name and id); hidden when the recipient
    # cannot see that record.
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.UUIDField(null=True, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)
    key = models.CharField(max_length=KEY_MAX)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set when an email carried it (alone or in a digest); set *before* sending: at most once.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "recipient", "key"], name="notifications_unique_key"
            )
        ]
        indexes = [
            # The unread list, the unread count and the digest's sweep.
            models.Index(
                fields=["recipient", "workspace", "read_at", "created_at"],
                name="notif_recipient_unread",
            ),
            # The whole list, newest first (keyset on created_at, id).
            models.Index(
                fields=["recipient", "workspace", "created_at", "id"], name="notif_recipient_all"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class EmailMode(models.TextChoices):
    IMMEDIATE = "immediate", "Email me at once"
    DIGEST = "digest", "One daily digest"
    OFF = "off", "No emails"


class NotificationPreference(WorkspaceModel):
    """How one member of one workspace wants to be emailed. No row means the defaults."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email_mode = models.CharField(
        max_length=16, choices=EmailMode.choices, default=EmailMode.IMMEDIATE
    )
    # The hour of the day, in the user's own time zone (User.time_zone), the digest goes out.
    digest_hour = models.PositiveSmallIntegerField(default=8, validators=[MaxValueValidator(23)])
    # The user's local date of the last digest: one digest per day, whatever the beat does.
    last_digest_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user"], name="notifications_preference_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(digest_hour__lte=23), name="notifications_digest_hour_range"
            ),
        ]
        indexes = [models.Index(fields=["email_mode", "last_digest_on"], name="notif_pref_due")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.workspace_id}: {self.email_mode}"
