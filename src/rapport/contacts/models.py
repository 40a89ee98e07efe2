from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from rapport.core.custom_fields import search_text
from rapport.core.models import (
    ActorStamped,
    BackgroundJob,
    HasCustomFields,
    SoftDeletable,
    Tagged,
    Versioned,
    WorkspaceModel,
    trash_index,
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


def kept_text(obj) -> str:
    """The emails, phones and domains a record kept from merged ones (``OtherIdentifier``),
    for its search document. Read from the prefetch cache only, never with a query of its own
    (a bulk write must not cost a query per row): the single-record services and the merge
    fill the cache (``dedupe.flag_record``); a batch that updates records prefetches
    ``other_identifiers`` to keep them in the index."""
    cache = getattr(obj, "_prefetched_objects_cache", {})
    if "other_identifiers" not in cache:
        return ""
    return " ".join(i.value for i in cache["other_identifiers"])


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
            trash_index("company_trash"),
            trash_index("company_trash_by", "deleted_by"),  # "deleted by me"
            # Imports and duplicate checks match company names case-insensitively.
            models.Index(
                F("workspace"),
                Lower("name"),
                name="company_lower_name",
                condition=Q(deleted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def search_document(self) -> tuple[str, str, str]:
        text = " ".join(
            filter(
                None,
                [
                    self.name,
                    self.domain,
                    self.phone,
                    self.industry,
                    self.city,
                    search_text(self),
                    kept_text(self),  # domains and phones kept from merged companies
                ],
            )
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
            # A company's people by name (its page, a person's colleagues).
            _live_index("person_company_name", "company", "last_name", "first_name", "id"),
            _live_index("person_owner", "owner", "created_at"),
            _live_index("person_phone", "phone"),
            trash_index("person_trash"),
            trash_index("person_trash_by", "deleted_by"),  # "deleted by me"
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.email or "—"

    def search_document(self) -> tuple[str, str, str]:
        text = " ".join(
            filter(
                None,
                [
                    self.first_name,
                    self.last_name,
                    self.email,
                    self.phone,
                    self.title,
                    search_text(self),  # the textual custom field values
                    kept_text(self),  # emails and phones kept from merged people
                ],
            )
        )
        return self.full_name, self.email or self.title, text


# --- dedupe and merge (contacts/dedupe.py, contacts/merging.py) -----------------------------


class IdentifierKind(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    DOMAIN = "domain", "Domain"


class OtherIdentifier(WorkspaceModel):
    """An email, phone or domain a record keeps besides its own: what merged records brought.

    Rows, not a JSON list on the record, so that duplicate detection and the unique-email check
    find them with an index on both databases; exactly one of ``person``/``company`` is set.
    """

    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="other_identifiers"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="other_identifiers"
    )
    kind = models.CharField(max_length=8, choices=IdentifierKind.choices)
    value = models.CharField(max_length=254)  # stored like the record's own (lower-case, E.164)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(person__isnull=True) & Q(company__isnull=False))
                | (Q(person__isnull=False) & Q(company__isnull=True)),
                name="contacts_otheridentifier_one_record",
            ),
            models.UniqueConstraint(
                fields=["person", "kind", "value"], name="contacts_otheridentifier_unique_person"
            ),
            models.UniqueConstraint(
                fields=["company", "kind", "value"], name="contacts_otheridentifier_unique_company"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "kind", "value"], name="otherid_lookup")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"


class DuplicateStatus(models.TextChoices):
    OPEN = "open", "Open"
    DISMISSED = "dismissed", "Dismissed"


class DuplicatePair(WorkspaceModel):
    """Two records that look like the same person or company, with a score and its reasons.

    The pair is ordered (``a`` has the smaller id) so it is stored once. Foreign keys, not bare
    ids: a merged (hard-deleted) record takes its pairs with it, and a list page loads both
    records in the same query.
    """

    PERSON = "person"
    COMPANY = "company"
    TYPES = ((PERSON, "Person"), (COMPANY, "Company"))

    object_type = models.CharField(max_length=8, choices=TYPES)
    person_a = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    person_b = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company_a = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company_b = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    score = models.PositiveSmallIntegerField()  # 0-100
    reasons = models.JSONField(default=list)  # ["same email", "similar name at the same company"]
    status = models.CharField(
        max_length=16, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person_a", "person_b"], name="duplicate_unique_people"
            ),
            models.UniqueConstraint(
                fields=["company_a", "company_b"], name="duplicate_unique_companies"
            ),
        ]
        indexes = [
            models.Index(
                fields=["workspace", "object_type", "status", "score", "id"], name="duplicate_list"
            ),
            models.Index(fields=["person_b"], name="duplicate_person_b"),
            models.Index(fields=["company_b"], name="duplicate_company_b"),
        ]

    def __str__(self) -> str:
        return f"{self.a} ≈ {self.b} ({self.score})"

    @property
    def a(self):
        return self.person_a if self.object_type == self.PERSON else self.company_a

    @property
    def b(self):
        return self.person_b if self.object_type == self.PERSON else self.company_b

    @property
    def a_id(self):
        return self.person_a_id if self.object_type == self.PERSON else self.company_a_id

    @property
    def b_id(self):
        return self.person_b_id if self.object_type == self.PERSON else self.company_b_id


class MergeRedirect(WorkspaceModel):
    """A merged record's id answers with the survivor's (API 308, pages redirect)."""

    object_type = models.CharField(max_length=8, choices=DuplicatePair.TYPES)
    old_id = models.UUIDField(unique=True)
    new_id = models.UUIDField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.object_type} {self.old_id} -> {self.new_id}"


class DuplicateScan(BackgroundJob):
    """A workspace-wide duplicate scan run by a worker (``contacts.tasks.scan_duplicates``)."""

    task_name = "rapport.contacts.tasks.scan_duplicates"

    phase = models.CharField(max_length=32, blank=True)  # the blocking pass now running
    phases_done = models.JSONField(default=list)  # checkpoint: passes already complete
    comparisons = models.PositiveBigIntegerField(default=0)
    pairs_found = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"duplicate scan {self.pk} ({self.status})"
