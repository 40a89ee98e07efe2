"""What saved views of each record type may name: fields (conditions), columns and sorts.

The compiler (``conditions.py``) knows no model; this module is where people's and companies'
standard fields are described, next to every custom field of the workspace (from the type
registry). A new record type (deals, custom objects) adds its entry to ``STANDARD``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import Exists, OuterRef, Q

from rapport.core.errors import ValidationFailed

from .conditions import Context, Field
from .selectors import fields_for


def _lower(value: Any) -> str:
    return str(value).strip().lower()


def _phone_cleaner(workspace):
    def clean(value: Any) -> str:
        from rapport.core.validation import clean_phone

        try:
            return clean_phone(str(value), field="value", region=workspace.default_region)
        except ValidationFailed:
            return str(value)

    return clean


def _domain(value: Any) -> str:
    from rapport.core.validation import clean_domain

    try:
        return clean_domain(str(value))
    except ValidationFailed:
        return str(value).lower()


def _tags_builder(object_type: str):
    def build(operator: str, value: Any, context: Context) -> Q:
        from rapport.core.models import Tag

        model = apps.get_model(object_type)
        links = model._meta.get_field("tags").remote_field.through
        column = f"{model._meta.model_name}_id"
        if operator in ("empty", "not_empty"):
            tagged = Exists(links.objects.filter(**{column: OuterRef("pk")}))
            return Q(tagged) if operator == "not_empty" else ~Q(tagged)
        names = Q()
        for name in value:
            names |= Q(name__iexact=name)
        ids = list(
            Tag.objects.filter(Q(workspace=context.workspace) & names).values_list("id", flat=True)
        )
        if not ids:
            return Q(pk__in=[])
        return Q(Exists(links.objects.filter(**{column: OuterRef("pk"), "tag_id__in": ids})))

    return build


def _search_builder(object_type: str):
    def build(operator: str, value: Any, context: Context) -> Q:
        from rapport.search.selectors import text_match_ids

        return Q(pk__in=text_match_ids(context.workspace, object_type, value))

    return build


def _lifecycle_choices() -> tuple[tuple[str, str], ...]:
    from rapport.contacts.models import LifecycleStage

    return tuple((str(v), str(label)) for v, label in LifecycleStage.choices)


def _address(kind: str = "text") -> list[Field]:
    return [
        Field("city", "City", kind, "city"),
        Field("region", "Region", kind, "region"),
        Field("postal_code", "Postal code", kind, "postal_code"),
        Field("country", "Country", kind, "country", clean=lambda v: str(v).strip().upper()),
    ]


def _standard(object_type: str, workspace) -> list[Field]:
    common_tail = [
        Field("owner", "Owner", "user", "owner_id", nullable=True),
        Field("tags", "Tags", "tags", build=_tags_builder(object_type)),
        *_address(),
        Field("external_id", "External id", "text", "external_id", unique_nonblank=True),
        Field("created_at", "Created", "date", "created_at"),
        Field("updated_at", "Updated", "date", "updated_at"),
        Field("search", "Any text", "search", build=_search_builder(object_type)),
    ]
    phone = Field("phone", "Phone", "text", "phone", clean=_phone_cleaner(workspace))
    if object_type == "contacts.person":
        return [
            Field("first_name", "First name", "text", "first_name"),
            Field("last_name", "Last name", "text", "last_name"),
            Field(
                "email", "Email", "text", "email", lower=True, unique_nonblank=True, clean=_lower
            ),
            phone,
            Field("title", "Job title", "text", "title"),
            Field("company", "Company", "reference", "company_id", nullable=True),
            Field("company_name", "Company name", "text", "company__name"),
            Field(
                "lifecycle_stage",
                "Lifecycle stage",
                "choice",
                "lifecycle_stage",
                choices=_lifecycle_choices(),
            ),
            Field("source", "Source", "text", "source"),
            *common_tail,
        ]
    if object_type == "contacts.company":
        return [
            Field("name", "Name", "text", "name"),
            Field(
                "domain",
                "Domain",
                "text",
                "domain",
                lower=True,
                unique_nonblank=True,
                clean=_domain,
            ),
            Field("industry", "Industry", "text", "industry"),
            Field("employees", "Employees", "number", "employees", nullable=True),
            Field("annual_revenue", "Annual revenue", "number", "annual_revenue", nullable=True),
            phone,
            *common_tail,
        ]
    if object_type == "sales.deal":
        return _deal_fields(object_type)
    return []


def _deal_statuses() -> tuple[tuple[str, str], ...]:
    from rapport.sales.models import DealStatus

    return tuple((str(v), str(label)) for v, label in DealStatus.choices)


def _deal_fields(object_type: str) -> list[Field]:
    """A deal's standard fields (``sales.Deal``): what deal saved views and filters may name."""
    return [
        Field("name", "Name", "text", "name"),
        Field("pipeline", "Pipeline", "reference", "pipeline_id"),
        Field("stage", "Stage", "reference", "stage_id"),
        Field("status", "Status", "choice", "status", choices=_deal_statuses()),
        Field("amount", "Amount", "number", "amount", nullable=True),
        Field("currency", "Currency", "text", "currency", clean=lambda v: str(v).strip().upper()),
        Field("close_date", "Expected close date", "date", "close_date", nullable=True),
        Field("owner", "Owner", "user", "owner_id", nullable=True),
        Field("company", "Company", "reference", "company_id", nullable=True),
        Field("company_name", "Company name", "text", "company__name"),
        Field("next_step", "Next step", "text", "next_step"),
        Field("source", "Source", "text", "source"),
        Field("tags", "Tags", "tags", build=_tags_builder(object_type)),
        Field("created_at", "Created", "date", "created_at"),
        Field("updated_at", "Updated", "date", "updated_at"),
        Field("search", "Any text", "search", build=_search_builder(object_type)),
    ]


CUSTOM_KINDS = {
    "text": "text",
    "long_text": "text",
    "url": "text",
    "email": "text",
    "phone": "text",
    "number": "number",
    "decimal": "number",
    "currency": "number",
    "date": "date",
    "datetime": "date",
    "select": "choice",
    "multi_select": "choice",
    "boolean": "boolean",
    "user": "user",
}
CUSTOM_OPERATORS = {
    "long_text": ("contains", "starts_with", "empty", "not_empty"),
    "datetime": ("is", "gt", "gte", "lt", "lte", "between", "in_last_days", "empty", "not_empty"),
}


def catalogue(workspace, object_type: str) -> dict[str, Field]:
    """Every field a condition on ``object_type`` may name: standard, then ``custom.<key>``."""
    fields = {f.key: f for f in _standard(object_type, workspace)}
    for definition in fields_for(workspace, object_type):
        fields[definition.param] = Field(
            definition.param,
            definition.label,
            CUSTOM_KINDS.get(definition.type, "text"),
            choices=tuple((o["value"], o["label"]) for o in definition.options or []),
            spec=definition,
            operators=CUSTOM_OPERATORS.get(definition.type, ()),
        )
    return fields


# --- columns and sorts ------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnDef:
    key: str
    label: str
    sort: str = ""
    css: str = ""
    descending_first: bool = False


STANDARD_COLUMNS: dict[str, tuple[ColumnDef, ...]] = {
    "contacts.person": (
        ColumnDef("name", "Name", sort="last_name"),
        ColumnDef("email", "Email", sort="email"),
        ColumnDef("phone", "Phone"),
        ColumnDef("company", "Company"),
        ColumnDef("owner", "Owner"),
        ColumnDef("lifecycle_stage", "Stage"),
        ColumnDef("tags", "Tags"),
        ColumnDef("updated_at", "Updated", sort="updated_at", descending_first=True),
        ColumnDef("title", "Job title"),
        ColumnDef("source", "Source"),
        ColumnDef("city", "City"),
        ColumnDef("country", "Country"),
        ColumnDef("external_id", "External id"),
        ColumnDef("created_at", "Created", sort="created_at", descending_first=True),
    ),
    "contacts.company": (
        ColumnDef("name", "Name", sort="name"),
        ColumnDef("domain", "Domain", sort="domain"),
        ColumnDef("industry", "Industry"),
        ColumnDef("employees", "Employees", css="num"),
        ColumnDef("owner", "Owner"),
        ColumnDef("tags", "Tags"),
        ColumnDef("updated_at", "Updated", sort="updated_at", descending_first=True),
        ColumnDef("annual_revenue", "Annual revenue", css="num"),
        ColumnDef("phone", "Phone"),
        ColumnDef("city", "City"),
        ColumnDef("country", "Country"),
        ColumnDef("external_id", "External id"),
        ColumnDef("created_at", "Created", sort="created_at", descending_first=True),
    ),
    "sales.deal": (
        ColumnDef("name", "Name", sort="name"),
        ColumnDef("stage", "Stage"),
        ColumnDef("amount", "Amount", sort="amount", css="num", descending_first=True),
        ColumnDef("close_date", "Close date", sort="close_date"),
        ColumnDef("owner", "Owner"),
        ColumnDef("company", "Company"),
        ColumnDef("tags", "Tags"),
        ColumnDef("updated_at", "Updated", sort="updated_at", descending_first=True),
        ColumnDef("created_at", "Created", sort="created_at", descending_first=True),
    ),
}
DEFAULT_COLUMNS = {
    "contacts.person": (
        "name",
        "email",
        "phone",
        "company",
        "owner",
        "lifecycle_stage",
        "tags",
        "updated_at",
    ),
    "contacts.company": ("name", "domain", "industry", "employees", "owner", "tags", "updated_at"),
    "sales.deal": ("name", "stage", "amount", "close_date", "owner", "company"),
}
MAX_COLUMNS = 40


def columns(workspace, object_type: str) -> dict[str, ColumnDef]:
    """Every column a view of ``object_type`` may show, standard then custom fields."""
    found = {c.key: c for c in STANDARD_COLUMNS.get(object_type, ())}
    for definition in fields_for(workspace, object_type):
        kind = definition.kind
        found[definition.param] = ColumnDef(
            definition.param,
            definition.label,
            sort=definition.param if kind.sortable else "",
            css="num" if kind.name in ("number", "decimal", "currency") else "",
        )
    return found


def sorts(object_type: str) -> tuple[str, ...]:
    from rapport.contacts.filters import COMPANY_SORTS, PERSON_SORTS
    from rapport.sales.filters import DEAL_SORTS

    return {
        "contacts.person": PERSON_SORTS,
        "contacts.company": COMPANY_SORTS,
        "sales.deal": DEAL_SORTS,
    }.get(object_type, ())


# --- ad-hoc filters (a list's query string) as conditions -----------------------------------------

_SIMPLE = (
    "first_name",
    "last_name",
    "email",
    "title",
    "source",
    "phone",
    "city",
    "region",
    "postal_code",
    "country",
    "name",
    "domain",
    "industry",
    "lifecycle_stage",
    "company",
    "pipeline",
    "stage",
    "status",
    "currency",
)
_RANGES = {
    "created_after": ("created_at", "gte"),
    "created_before": ("created_at", "lt"),
    "updated_after": ("updated_at", "gte"),
    "updated_before": ("updated_at", "lt"),
    "employees_min": ("employees", "gte"),
    "employees_max": ("employees", "lte"),
    "close_after": ("close_date", "gte"),
    "close_before": ("close_date", "lte"),
    "amount_min": ("amount", "gte"),
    "amount_max": ("amount", "lte"),
}
_CUSTOM_OPS = {
    "eq": "is",
    "contains": "contains",
    "gt": "gt",
    "gte": "gte",
    "lt": "lt",
    "lte": "lte",
}


def conditions_from_query(query, object_type: str, workspace) -> list[dict]:
    """The filters of a list's query string as conditions (for "Save as view")."""
    from .filters import _PARAM

    known = {f.key: f for f in _standard(object_type, workspace)}
    items: list[dict] = []
    for name, raw in query.items():
        value = str(raw).strip()
        if not value or name in ("view", "sort", "cursor"):
            continue
        if name == "q":
            items.append({"field": "search", "operator": "contains", "value": value})
        elif name == "owner":
            if value == "me":
                items.append({"field": "owner", "operator": "is_me"})
            elif value == "none":
                items.append({"field": "owner", "operator": "empty"})
            else:
                items.append({"field": "owner", "operator": "is", "value": value})
        elif name == "tag":
            items.append({"field": "tags", "operator": "any_of", "value": [value]})
        elif name in _RANGES and _RANGES[name][0] in known:
            field, op = _RANGES[name]
            items.append({"field": field, "operator": op, "value": value})
        elif name in _SIMPLE and name in known:
            items.append({"field": name, "operator": "is", "value": value})
        elif name.startswith("custom."):
            match = _PARAM.match(name)
            if not match:
                continue
            key, op = f"custom.{match.group(1)}", match.group(2) or "eq"
            if op == "in":
                items.append({"field": key, "operator": "any_of", "value": value.split(",")})
            elif op == "isnull":
                empty = value.lower() in ("true", "yes", "1")
                items.append({"field": key, "operator": "empty" if empty else "not_empty"})
            elif op in _CUSTOM_OPS:
                items.append({"field": key, "operator": _CUSTOM_OPS[op], "value": value})
    return items
