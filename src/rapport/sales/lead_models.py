"""Leads: people not yet qualified, their scoring and assignment rules, and the public web
forms that capture them.

A lead converts (``lead_services.lead_convert``) into a person, a company and optionally a deal;
the lead row stays, marked converted, with links to what it became.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from rapport.core.custom_fields import search_text
from rapport.core.models import (
    ActorStamped,
    HasCustomFields,
    SoftDeletable,
    Tagged,
    Versioned,
    WorkspaceModel,
    trash_index,
)

__all__ = [
    "Lead",
    "LeadAssignmentRule",
    "LeadForm",
    "LeadScoringRule",
    "LeadStatus",
    "RuleKind",
    "RuleOperator",
]


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    WORKING = "working", "Working"
    NURTURING = "nurturing", "Nurturing"
    QUALIFIED = "qualified", "Qualified"
    DISQUALIFIED = "disqualified", "Disqualified"


class Lead(WorkspaceModel, ActorStamped, Versioned, SoftDeletable, Tagged, HasCustomFields):
    # Members see leads per the workspace's record access setting (core.querysets).
    OWNER_ACCESS = True

    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.CharField(max_length=254, blank=True)  # lower-case
    phone = models.CharField(max_length=32, blank=True)  # E.164
    company_name = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=150, blank=True)
    country = models.CharField(max_length=2, blank=True)  # ISO 3166-1 alpha-2
    status = models.CharField(max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW)
    disqualified_reason = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=100, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.IntegerField(default=0)
    score_reasons = models.JSONField(default=list, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    consent = models.BooleanField(default=False)
    consent_text = models.TextField(blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    form = models.ForeignKey(
        "sales.LeadForm", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    # What a web form sent beyond the lead's own fields (its extra questions), kept as text.
    form_data = models.JSONField(default=dict, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    converted_person = models.ForeignKey(
        "contacts.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_deal = models.ForeignKey(
        "sales.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [
            trash_index("lead_trash"),
            models.Index(
                fields=["workspace", "created_at", "id"],
                name="lead_created",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["workspace", "status", "created_at"],
                name="lead_status",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(
                fields=["workspace", "owner", "created_at"],
                name="lead_owner",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["workspace", "email"], name="lead_email"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or self.company_name or "Lead"

    def search_document(self) -> tuple[str, str, str]:
        """Title, subtitle and text of the lead's global search entry (``search.services``)."""
        subtitle = " · ".join(filter(None, [self.company_name, self.email]))
        text = " ".join(
            filter(
                None,
                [
                    self.first_name,
                    self.last_name,
                    self.email,
                    self.phone,
                    self.company_name,
                    self.title,
                    self.source,
                    search_text(self),
                ],
            )
        )
        return str(self), subtitle, text


class RuleKind(models.TextChoices):
    FIELD = "field", "Field value"
    INTERACTION = "interaction", "Interaction"
    DECAY = "decay", "Inactivity decay"


class RuleOperator(models.TextChoices):
    EQUALS = "equals", "equals"
    CONTAINS = "contains", "contains"
    NOT_EMPTY = "not_empty", "is not empty"


class LeadScoringRule(WorkspaceModel, ActorStamped):
    """One rule of the workspace's lead score.

    ``field``: ``points`` when the lead's ``field`` matches ``operator``/``value``.
    ``interaction``: ``points`` per interaction of type ``value`` linked to the lead.
    ``decay``: ``points`` lost per ``value`` days without activity.
    """

    kind = models.CharField(max_length=16, choices=RuleKind.choices, default=RuleKind.FIELD)
    field = models.CharField(max_length=64, blank=True)
    operator = models.CharField(max_length=16, choices=RuleOperator.choices, blank=True)
    value = models.CharField(max_length=255, blank=True)
    points = models.IntegerField()
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.field} {self.operator} {self.value}: {self.points}"


class LeadAssignmentRule(WorkspaceModel, ActorStamped):
    """Routes a new lead without an owner: the first active matching rule (by position)
    assigns it to ``user`` or, round robin, to the next member of ``team``."""

    name = models.CharField(max_length=100, blank=True)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    field = models.CharField(max_length=64, blank=True)  # "" with no countries: always matches
    operator = models.CharField(max_length=16, choices=RuleOperator.choices, blank=True)
    value = models.CharField(max_length=255, blank=True)
    countries = models.JSONField(default=list, blank=True)
    team = models.ForeignKey(
        "tenancy.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    last_index = models.IntegerField(default=-1)  # the team member assigned last (round robin)

    class Meta:
        ordering = ["position", "created_at"]

    def __str__(self) -> str:
        return self.name or f"Rule {self.position}"


class LeadForm(WorkspaceModel, ActorStamped):
    """A public web form: any website posts to ``/f/<key>/`` and a lead is created."""

    key = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    fields = models.JSONField(default=list, blank=True)  # extra field names kept in ``custom``
    consent_text = models.TextField(blank=True)
    redirect_url = models.URLField(max_length=500, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
