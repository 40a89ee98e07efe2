from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.core.ids import new_id
from rapport.core.models import ACTOR_KIND_CHOICES


class AuditEntryQuerySet(models.QuerySet):
    def for_object(self, obj) -> AuditEntryQuerySet:
        return self.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))


class AuditEntry(models.Model):
    """One immutable line of the change log: who did what to which record, field by field."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    workspace = models.ForeignKey(
        "tenancy.Workspace", null=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=64)  # a registered event type name
    actor_kind = models.CharField(max_length=16, choices=ACTOR_KIND_CHOICES)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_token = models.ForeignKey(
        "users.ApiToken", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=255)  # kept when the user or token is gone
    object_type = models.CharField(max_length=64)  # "contacts.person"
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=255)
    # {"field": {"before": ..., "after": ...}}: JSON-safe values only
    changes = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=64, blank=True)  # "api", "ui", "import:<id>", ...

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "object_type", "object_id", "-created_at"]),
            models.Index(fields=["workspace", "-created_at", "-id"]),
            models.Index(fields=["workspace", "actor_user", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        # The log is append-only: an existing entry is never rewritten.
        if not self._state.adding:
            raise RuntimeError("audit entries are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit entries are immutable")
