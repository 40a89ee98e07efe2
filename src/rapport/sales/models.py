"""Sales: pipelines and their stages, deals with their people and stage history, lost reasons,
exchange rates and quotas.

Money is a Decimal amount beside its ISO 4217 currency. Totals across currencies are summed per
currency in SQL and converted in Python with the workspace's dated exchange rates
(``sales.money``), so nothing is ever summed raw across currencies.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Lower

from rapport.core.custom_fields import search_text
from rapport.core.models import (
    ACTOR_KIND_CHOICES,
    ActorStamped,
    HasCustomFields,
    SoftDeletable,
    Tagged,
    Versioned,
    WorkspaceModel,
    trash_index,
)


class StageType(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class ForecastCategory(models.TextChoices):
    """Where a deal counts in a forecast: mapped from its stage, overridable per deal."""

    PIPELINE = "pipeline", "Pipeline"
    BEST_CASE = "best_case", "Best case"
    COMMIT = "commit", "Commit"
    CLOSED = "closed", "Closed"
    OMITTED = "omitted", "Omitted"


class Pipeline(WorkspaceModel, ActorStamped, Versioned):
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "workspace", name="sales_pipeline_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Stage(WorkspaceModel):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=8, choices=StageType.choices, default=StageType.OPEN)
    probability = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    position = models.PositiveIntegerField(default=0)
    # An open deal untouched this many days in the stage is "rotting" (null: never).
    rotting_days = models.PositiveIntegerField(null=True, blank=True)
    # Deal fields that must hold a value before a deal may enter this stage.
    required_fields = models.JSONField(default=list, blank=True)
    forecast_category = models.CharField(
        max_length=16, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE
    )

    class Meta:
        ordering = ["pipeline", "position"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"), "pipeline", name="sales_stage_unique_name_in_pipeline"
            ),
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="sales_stage_probability_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LostReason(WorkspaceModel):
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "workspace", name="sales_lostreason_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class DealStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


def _live(name: str, *fields: str) -> models.Index:
    return models.Index(
        fields=["workspace", *fields], name=name, condition=Q(deleted_at__isnull=True)
    )


class Deal(WorkspaceModel, ActorStamped, Versioned, SoftDeletable, Tagged, HasCustomFields):
    # Members see deals per the workspace's record access setting (core.querysets).
    OWNER_ACCESS = True

    name = models.CharField(max_length=200)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.RESTRICT, related_name="deals")
    stage = models.ForeignKey(Stage, on_delete=models.RESTRICT, related_name="deals")
    # Copied from the stage's type on every move: lists, forecasts and indexes filter on it.
    status = models.CharField(max_length=8, choices=DealStatus.choices, default=DealStatus.OPEN)
    amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    close_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    company = models.ForeignKey(
        "contacts.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    next_step = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=100, blank=True)
    lost_reason = models.ForeignKey(
        LostReason, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lost_note = models.TextField(blank=True)
    # "" follows the stage's category; a value overrides it for this deal.
    forecast_category = models.CharField(
        max_length=16, choices=ForecastCategory.choices, blank=True
    )
    stage_entered_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # The latest interaction linked to the deal: rotting and stalled deals read it.
    last_interaction_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=Q(deleted_at__isnull=True) & ~Q(external_id=""),
                name="sales_deal_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | ~Q(currency=""),
                name="sales_deal_amount_has_currency",
            ),
        ]
        indexes = [
            trash_index("deal_trash"),
            # A board column: the deals of a stage, newest in the stage first (keyset).
            _live("deal_stage_entered", "stage", "stage_entered_at", "id"),
            # Column totals per currency without touching the table.
            _live("deal_stage_totals", "stage", "currency", "amount"),
            _live("deal_created", "created_at", "id"),
            _live("deal_updated", "updated_at", "id"),
            _live("deal_close", "close_date", "id"),
            _live("deal_owner_close", "owner", "close_date"),
            _live("deal_pipeline_status", "pipeline", "status", "close_date"),
            _live("deal_company", "company", "created_at"),
            # The indexes below are read alone ("covering"), without the table. SQLite (3.40)
            # counts an index as covering only when it holds every column the query names,
            # the partial index's own ``deleted_at`` included, hence that last column.
            #
            # Deals closed in a window: the dashboard's closed-deal figures and the forecast's
            # deals won without a close date.
            _live(
                "deal_closed",
                "status",
                "closed_at",
                "pipeline",
                "owner",
                "stage",
                "currency",
                "amount",
                "created_at",
                "lost_reason",
                "close_date",
                "id",
                "deleted_at",
            ),
            # The dashboard's open and stalled counts per stage.
            _live(
                "deal_open_stage",
                "status",
                "stage",
                "last_interaction_at",
                "stage_entered_at",
                "owner",
                "deleted_at",
            ),
            # The longest silent open deals: a range of the silence (dashboard.SILENT_SINCE).
            models.Index(
                F("workspace"),
                F("status"),
                Coalesce("last_interaction_at", "stage_entered_at"),
                F("id"),
                name="deal_silent",
                condition=Q(deleted_at__isnull=True),
            ),
            # The forecast's sums per period and owner or pipeline.
            _live(
                "deal_forecast",
                "close_date",
                "status",
                "owner",
                "pipeline",
                "stage",
                "forecast_category",
                "currency",
                "amount",
                "deleted_at",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def search_document(self) -> tuple[str, str, str]:
        amount = f"{self.currency} {self.amount:,.2f}" if self.amount is not None else ""
        text = " ".join(
            filter(None, [self.next_step, self.source, self.external_id, search_text(self)])
        )
        return self.name, amount, text


class DealRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", "Decision maker"
    ECONOMIC_BUYER = "economic_buyer", "Economic buyer"
    CHAMPION = "champion", "Champion"
    INFLUENCER = "influencer", "Influencer"
    TECHNICAL_BUYER = "technical_buyer", "Technical buyer"
    USER = "user", "User"
    BLOCKER = "blocker", "Blocker"
    OTHER = "other", "Other"


class DealPerson(WorkspaceModel):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="deal_people")
    person = models.ForeignKey(
        "contacts.Person", on_delete=models.CASCADE, related_name="deal_roles"
    )
    role = models.CharField(max_length=20, choices=DealRole.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deal", "person"], name="sales_dealperson_unique")
        ]
        indexes = [models.Index(fields=["workspace", "person"], name="dealperson_person")]

    def __str__(self) -> str:
        return f"{self.person_id} on {self.deal_id} ({self.role or 'no role'})"


class StageHistory(WorkspaceModel):
    """One row per stay of a deal in a stage: when it entered, when it left, how long."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_history")
    pipeline = models.ForeignKey(Pipeline, null=True, on_delete=models.SET_NULL, related_name="+")
    # Kept (by name) when a stage is removed: its deals' history still says where they were.
    stage = models.ForeignKey(Stage, null=True, on_delete=models.SET_NULL, related_name="+")
    stage_name = models.CharField(max_length=100)
    stage_type = models.CharField(max_length=8, choices=StageType.choices)
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.BigIntegerField(null=True, blank=True)
    actor_kind = models.CharField(max_length=16, choices=ACTOR_KIND_CHOICES, default="system")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["deal", "entered_at"]
        indexes = [
            models.Index(fields=["deal", "entered_at"], name="stagehistory_deal"),
            # The dashboard's win rate per stage reads the stages a deal went through from here.
            models.Index(fields=["deal", "stage_type", "stage"], name="stagehistory_deal_stage"),
            models.Index(fields=["workspace", "stage", "entered_at"], name="stagehistory_stage"),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id} in {self.stage_name}"


class ExchangeRate(WorkspaceModel, ActorStamped):
    """1 ``currency`` = ``rate`` ``base`` from ``valid_from`` until the next dated rate."""

    base = models.CharField(max_length=3)
    currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=24, decimal_places=10)
    valid_from = models.DateField()

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "base", "currency", "valid_from"],
                name="sales_exchangerate_unique_day",
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="sales_exchangerate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} {self.base} from {self.valid_from}"


class QuotaPeriod(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"


class Quota(WorkspaceModel, ActorStamped):
    """What a member should close in a period (its first day), in the base currency."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=8, choices=QuotaPeriod.choices)
    start = models.DateField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["start", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user", "period", "start"], name="sales_quota_unique_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.period} {self.start}: {self.amount} {self.currency}"


# Leads, products and quotes live in their own modules; Django finds models through this one.
from .lead_models import *  # noqa: E402, F403
from .quote_models import *  # noqa: E402, F403
