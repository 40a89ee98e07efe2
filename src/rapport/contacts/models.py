from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from rapport.core.models import (
    ActorStamped,
    HasCustomFields,
    SoftDeletable,
    Tagged,
    Versioned,
    WorkspaceModel,
)


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    MARKETING_QUALIFIED = "marketing_qualified", "Marketing qualified"
    SALES_QUALIFIED = "sales_qualified", "Sales qualified"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    EVANGELIST = "evangelist", "Evangelist"
    OTHER = "other", "Other"


class Address(models.Model):
    street = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=120, blank=True)
    region = models.CharField(max_length=120, blank=True)
    postal_code = models.CharField(max_length=32, blank=True)
    country = models.CharField(max_length=2, blank=True)  # ISO 3166-1 alpha-2

    class Meta:
        abstract = True

    ADDRESS_FIELDS = ("street", "city", "region", "postal_code", "country")

    @property
    def address(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in self.ADDRESS_FIELDS}


class Record(
    WorkspaceModel, ActorStamped, Versioned, SoftDeletable, Tagged, HasCustomFields, Address
):
    """What people and companies share: owner, phone, address, tags, custom fields."""

    phone = models.CharField(max_length=32, blank=True)  # E.164
    # The record's id in the system it was imported from: imports upsert on it.
    external_id = models.CharField(max_length=255, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True


def _live_index(name: str, *fields: str) -> models.Index:
    # Partial on live rows: lists never show the trash, so the index skips it.
    return models.Index(
        fields=["workspace", *fields], name=name, condition=Q(deleted_at__isnull=True)
    )


class Company(Record):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True)  # lower-case host name, no scheme
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    annual_revenue_currency = models.CharField(max_length=3, blank=True)

    class Meta:
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "domain"],
                condition=Q(deleted_at__isnull=True) & ~Q(domain=""),
                name="contacts_company_unique_domain",
            ),
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=Q(deleted_at__isnull=True) & ~Q(external_id=""),
                name="contacts_company_unique_external_id",
            ),
        ]
        indexes = [
            _live_index("company_created", "created_at", "id"),
            _live_index("company_updated", "updated_at", "id"),
            _live_index("company_name", "name", "id"),
            _live_index("company_owner", "owner", "created_at"),
        ]

    def __str__(self) -> str:
        return self.name

    def search_document(self) -> tuple[str, str, str]:
        text = " ".join(
            filter(None, [self.name, self.domain, self.phone, self.industry, self.city])
        )
        return self.name, self.domain or self.industry, text


class Person(Record):
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.CharField(max_length=254, blank=True)  # stored lower-case: matched as such
    title = models.CharField(max_length=150, blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="people"
    )
    lifecycle_stage = models.CharField(
        max_length=32, choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    source = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name_plural = "people"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=Q(deleted_at__isnull=True) & ~Q(email=""),
                name="contacts_person_unique_email",
            ),
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=Q(deleted_at__isnull=True) & ~Q(external_id=""),
                name="contacts_person_unique_external_id",
            ),
        ]
        indexes = [
            _live_index("person_created", "created_at", "id"),
            _live_index("person_updated", "updated_at", "id"),
            _live_index("person_last_name", "last_name", "id"),
            _live_index("person_first_name", "first_name", "id"),
            _live_index("person_company", "company", "created_at"),
            _live_index("person_owner", "owner", "created_at"),
            _live_index("person_phone", "phone"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.email or "—"

    def search_document(self) -> tuple[str, str, str]:
        text = " ".join(
            filter(None, [self.first_name, self.last_name, self.email, self.phone, self.title])
        )
        return self.full_name, self.email or self.title, text
