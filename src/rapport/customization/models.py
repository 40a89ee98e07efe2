"""Custom field definitions (DESIGN rule 8): what the ``custom`` JSON column of a record may hold.

A definition belongs to one workspace and one object type. Values live in the records' ``custom``
column keyed by the definition's ``key``, which never changes: renaming the label touches no data.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from rapport.core.models import ActorStamped, SoftDeletable, Versioned, WorkspaceModel


class ObjectType(models.TextChoices):
    PERSON = "contacts.person", "People"
    COMPANY = "contacts.company", "Companies"
    DEAL = "sales.deal", "Deals"
    LEAD = "sales.lead", "Leads"


# The record types whose lists can be saved as views (leads have custom fields, not views).
VIEW_TYPES = ("contacts.person", "contacts.company", "sales.deal")


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    LONG_TEXT = "long_text", "Long text"
    NUMBER = "number", "Number (whole)"
    DECIMAL = "decimal", "Decimal"
    CURRENCY = "currency", "Currency"
    DATE = "date", "Date"
    DATETIME = "datetime", "Date and time"
    BOOLEAN = "boolean", "Yes / no"
    SELECT = "select", "Single select"
    MULTI_SELECT = "multi_select", "Multi select"
    URL = "url", "URL"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    USER = "user", "User"


class CustomField(WorkspaceModel, ActorStamped, Versioned, SoftDeletable):
    object_type = models.CharField(max_length=40, choices=ObjectType.choices)
    key = models.CharField(max_length=50)  # immutable: the records' values are keyed by it
    label = models.CharField(max_length=100)
    help_text = models.CharField(max_length=300, blank=True)
    type = models.CharField(max_length=20, choices=FieldType.choices)  # immutable too
    required = models.BooleanField(default=False)
    default = models.JSONField(null=True, blank=True)
    options = models.JSONField(default=list, blank=True)  # [{"value", "label"}] for selects
    minimum = models.JSONField(null=True, blank=True)  # number, decimal string, date or length
    maximum = models.JSONField(null=True, blank=True)
    regex = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    show_in_list = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "object_type", "key"],
                condition=Q(deleted_at__isnull=True),
                name="customization_field_unique_key",
            ),
        ]
        indexes = [
            models.Index(
                fields=["workspace", "object_type", "position", "id"],
                name="customfield_position",
                condition=Q(deleted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def kind(self):
        """The field type's behaviour (``customization.types``)."""
        from .types import get_type

        return get_type(self.type)

    @property
    def param(self) -> str:
        """The name of the field in the API, query parameters and errors: ``custom.<key>``."""
        return f"custom.{self.key}"

    def option_label(self, value) -> str:
        for option in self.options or []:
            if option.get("value") == value:
                return str(option.get("label") or value)
        return str(value)


class SavedView(WorkspaceModel, ActorStamped, Versioned):
    """A list saved with its conditions, sort, columns and page size (``customization.views``).

    Private views are their owner's; shared ones the workspace's. ``conditions`` is a tree
    ``{"op": "and"|"or", "items": [condition | group]}`` checked by ``customization.conditions``.
    """

    object_type = models.CharField(max_length=40, choices=ObjectType.choices)
    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        "users.User", on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    shared = models.BooleanField(default=False)
    pinned = models.BooleanField(default=False)
    conditions = models.JSONField(default=dict, blank=True)
    sort = models.CharField(max_length=80, blank=True)
    columns = models.JSONField(default=list, blank=True)
    page_size = models.PositiveSmallIntegerField(default=50)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "object_type", "name", "id"], name="savedview_name"),
            models.Index(fields=["workspace", "owner"], name="savedview_owner"),
        ]

    def __str__(self) -> str:
        return self.name
