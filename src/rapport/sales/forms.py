"""The deal form (new, edit, and the few fields a stage asks for when a deal moves).

Like the contacts forms it renders inputs and turns the POST into the API-shaped ``data`` that
``sales.services`` takes; the service judges the input and its field errors are put back on
the inputs (``people.3.id`` on the fourth person row, ``amount.currency`` on the currency).
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.urls import reverse

from rapport.contacts.forms import (
    ServiceForm,
    autocomplete,
    choice,
    company_from,
    join_tags,
    owner_choices,
    split_tags,
    text,
)
from rapport.contacts.models import Person
from rapport.core.errors import DomainError, ValidationFailed
from rapport.search.selectors import search

from .models import DealRole, ForecastCategory, LostReason, Stage, StageType
from .services import DEAL_MODEL_LABEL, MAX_DEAL_PEOPLE

BLANK_PEOPLE_ROWS = 2  # empty person rows offered below the deal's people (JS adds more)
ROLE_CHOICES = [("", "— Role —"), *DealRole.choices]

# The service's field names → the form's, for the fields that differ.
ERROR_FIELDS = {
    "pipeline": "stage",
    "amount": "amount",
    "amount.amount": "amount",
    "amount.currency": "currency",
    "company": "company_name",
    "owner_id": "owner",
}
# A stage's required field → the inputs that fill it (used to build the move form).
REQUIRED_INPUTS = {
    "amount": ["amount", "currency"],
    "close_date": ["close_date"],
    "owner": ["owner"],
    "company": ["company_name", "company"],
    "next_step": ["next_step"],
    "source": ["source"],
    "lost_reason": ["lost_reason"],
    "lost_note": ["lost_note"],
}


def stage_choices(workspace) -> list:
    """Stages grouped by pipeline (``<optgroup>`` per pipeline), one query."""
    groups: dict[Any, tuple[str, list[tuple[str, str]]]] = {}
    stages = (
        Stage.objects.in_workspace(workspace)
        .select_related("pipeline")
        .order_by("pipeline__position", "pipeline__name", "position")
    )
    for stage in stages:
        label = stage.name
        if stage.type != StageType.OPEN:
            label += f" ({stage.get_type_display().lower()})"
        else:
            label += f" ({stage.probability}%)"
        groups.setdefault(stage.pipeline_id, (stage.pipeline.name, []))[1].append(
            (str(stage.pk), label)
        )
    return [("", "— Stage —"), *groups.values()]


def lost_reason_choices(workspace, current_id=None) -> list[tuple[str, str]]:
    reasons = LostReason.objects.in_workspace(workspace).order_by("position", "name")
    return [("", "—")] + [
        (str(r.pk), r.name) for r in reasons if r.active or (current_id and r.pk == current_id)
    ]


def resolve_person(actor, name: str) -> tuple[str, str]:
    """The id of the one person called ``name`` (any case), or an error to show."""
    hits = search(actor=actor, q=name, limit=10, types=["contacts.person"])
    exact = [hit for hit in hits if hit.title.strip().lower() == name.strip().lower()]
    if len(exact) == 1:
        return str(exact[0].object_id), ""
    if exact:
        return "", f"Several people are called “{name}”: pick one from the suggestions."
    return "", f"There is no one called “{name}”: pick a person from the suggestions."


class DealForm(ServiceForm):
    name = text("Name", max_length=200, required=True, placeholder="e.g. Acme — 50 seats")
    stage = forms.CharField(label="Stage", required=False, widget=forms.Select())
    amount = text("Amount", inputmode="decimal", placeholder="12500.00")
    currency = text("Currency", max_length=3, autocomplete="off")
    close_date = forms.CharField(
        label="Expected close date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    owner = choice("Owner", [])
    company = forms.CharField(required=False, widget=forms.HiddenInput)
    company_name = text("Company", autocomplete="off", placeholder="Start typing a company name")
    next_step = text("Next step", max_length=255, placeholder="e.g. Send the proposal by Friday")
    source = text("Source", max_length=100, placeholder="e.g. website, referral, event")
    lost_reason = choice("Lost reason", [])
    lost_note = forms.CharField(
        label="Lost note", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    forecast_category = choice("Forecast category", [])
    tags = text("Tags", help_text="Separate tags with commas, e.g. enterprise, renewal")
    people_rows = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=0)
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    field_order = [
        "name",
        "stage",
        "amount",
        "currency",
        "close_date",
        "owner",
        "company_name",
        "company",
        "next_step",
        "source",
        "forecast_category",
        "lost_reason",
        "lost_note",
        "tags",
    ]
    error_fields = ERROR_FIELDS
    log_fields = {"owner_id": "owner", "company_id": "company_name"}
    detail_url_name = "sales:deal_detail"

    def __init__(self, *args, only: set[str] | None = None, **kwargs):
        from rapport.customization.forms import add_record_fields

        super().__init__(*args, **kwargs)
        ws = self.actor.workspace
        self.only = only
        self.fields["stage"].widget.choices = stage_choices(ws)
        self.fields["owner"].widget.choices = owner_choices(self.actor)
        self.fields["currency"].widget.attrs["placeholder"] = ws.default_currency
        self.fields["lost_reason"].widget.choices = lost_reason_choices(
            ws, self.initial.get("lost_reason")
        )
        self.fields["forecast_category"].widget.choices = [
            ("", "Follow the stage"),
            *ForecastCategory.choices,
        ]
        autocomplete(self, "company_name", "company", reverse("contacts:company_autocomplete"))
        self.custom_values: dict[str, Any] | None = None
        add_record_fields(self, DEAL_MODEL_LABEL)
        self._add_people_rows()
        if only is not None:
            self._restrict(only)

    # --- people rows ---------------------------------------------------------------------

    def _row_count(self) -> int:
        if self.is_bound:
            try:
                n = int(self.data.get("people_rows") or 0)
            except (TypeError, ValueError):
                n = 0
        else:
            n = len(self.initial.get("people") or []) + BLANK_PEOPLE_ROWS
            self.initial["people_rows"] = n
        return max(0, min(n, MAX_DEAL_PEOPLE + BLANK_PEOPLE_ROWS))

    def _add_people_rows(self) -> None:
        url = reverse("sales:deal_person_autocomplete")
        initial = self.initial.get("people") or []
        self.people_count = self._row_count()
        for i in range(self.people_count):
            self.fields[f"person_{i}"] = forms.CharField(required=False, widget=forms.HiddenInput)
            self.fields[f"person_{i}_name"] = text(
                "Person", autocomplete="off", placeholder="Start typing a name"
            )
            self.fields[f"role_{i}"] = choice("Role", ROLE_CHOICES)
            autocomplete(self, f"person_{i}_name", f"person_{i}", url)
            if i < len(initial):
                pid, pname, role = initial[i]
                self.initial[f"person_{i}"] = pid
                self.initial[f"person_{i}_name"] = pname
                self.initial[f"role_{i}"] = role

    @property
    def people_bound_rows(self) -> list[dict[str, Any]]:
        rows = []
        for i in range(self.people_count):
            if f"person_{i}_name" not in self.fields:
                continue
            rows.append(
                {
                    "index": i,
                    "id": self[f"person_{i}"],
                    "name": self[f"person_{i}_name"],
                    "role": self[f"role_{i}"],
                    "errors": self._row_errors.get(i, []),
                }
            )
        return rows

    _row_errors: dict[int, list[str]] = {}

    def _clean_people(self, cd: dict[str, Any]) -> list[dict[str, str]]:
        self._row_errors = {}
        rows: list[tuple[int, str, str, str]] = []
        for i in range(self.people_count):
            name = (cd.get(f"person_{i}_name") or "").strip()
            if not name:
                continue
            rows.append((i, (cd.get(f"person_{i}") or "").strip(), name, cd.get(f"role_{i}") or ""))
        ids = []
        for _, pid, _, _ in rows:
            try:
                ids.append(str(uuid.UUID(pid)))
            except ValueError:
                continue
        known = {
            str(p.pk): p.full_name
            for p in Person.objects.visible_to(self.actor)
            .filter(pk__in=ids)
            .only("id", "first_name", "last_name", "email")
        }
        people: list[dict[str, str]] = []
        for i, pid, name, role in rows:
            try:
                pid = str(uuid.UUID(pid)) if pid else ""
            except ValueError:
                pid = ""
            if not pid or known.get(pid, "").strip().lower() != name.lower():
                pid, error = resolve_person(self.actor, name)
                if error:
                    self._row_errors.setdefault(i, []).append(error)
                    self.add_error(f"person_{i}_name", error)
                    continue
            people.append({"id": pid, "role": role})
        return people

    # --- the move form: only what a stage asks for ------------------------------------------

    def _restrict(self, wanted: set[str]) -> None:
        keep = {"version", "people_rows"}
        for name in wanted:
            if name.startswith("custom."):
                keep.add(name)
            elif name == "people":
                keep.update(n for n in self.fields if n.startswith(("person_", "role_")))
            else:
                keep.update(REQUIRED_INPUTS.get(name, []))
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        fields: list = getattr(self, "custom_fields", [])
        self.custom_fields = [f for f in fields if f.param in keep]

    # --- input → service data -------------------------------------------------------------

    @property
    def custom_bound_fields(self) -> list:
        from rapport.customization.forms import bound_fields

        return bound_fields(self)

    @classmethod
    def initial_for(cls, deal, people: list[tuple[str, str, str]]) -> dict[str, Any]:
        return {
            "name": deal.name,
            "stage": str(deal.stage_id),
            "amount": "" if deal.amount is None else f"{deal.amount:.2f}",
            "currency": deal.currency,
            "close_date": deal.close_date.isoformat() if deal.close_date else "",
            "owner": str(deal.owner_id) if deal.owner_id else "",
            "company": str(deal.company_id) if deal.company_id else "",
            "company_name": deal.company.name if deal.company_id and deal.company else "",
            "next_step": deal.next_step,
            "source": deal.source,
            "lost_reason": deal.lost_reason_id,
            "lost_note": deal.lost_note,
            "forecast_category": deal.forecast_category,
            "tags": join_tags(deal),
            "version": deal.version,
            "custom": dict(deal.custom or {}),
            "people": people,
        }

    def has(self, name: str) -> bool:
        return name in self.fields

    def changed(self, name: str) -> bool:
        if name == "company":
            return super().changed("company") or super().changed("company_name")
        return super().changed(name)

    def clean(self):
        from rapport.customization.forms import custom_data

        cd = super().clean()
        if self.custom_fields:
            self.custom_values = custom_data(self)
        if self.has("company_name") and (
            not self.partial or {"company", "company_name"} & set(self.changed_data)
        ):
            company_id, error = company_from(self.actor, cd.get("company"), cd.get("company_name"))
            if error:
                self.add_error("company_name", error)
            cd["company"] = company_id
        self.people_data: list[dict[str, str]] | None = None
        if self.people_count and self.has("person_0_name"):
            people = self._clean_people(cd)
            before = [
                {"id": pid, "role": role} for pid, _, role in self.initial.get("people") or []
            ]
            if not self.partial or people != before:
                self.people_data = people
        return cd

    def to_data(self) -> dict[str, Any]:
        cd = self.cleaned_data
        values: dict[str, Any] = {
            "name": cd.get("name"),
            "stage": cd.get("stage") or None,
            "close_date": cd.get("close_date") or None,
            "owner": cd.get("owner") or None,
            "company": cd.get("company") or None,
            "next_step": cd.get("next_step"),
            "source": cd.get("source"),
            "lost_reason": cd.get("lost_reason") or None,
            "lost_note": cd.get("lost_note"),
            "forecast_category": cd.get("forecast_category") or "",
            "tags": split_tags(cd.get("tags") or ""),
        }
        data = {
            name: value
            for name, value in values.items()
            if self.has("company_name" if name == "company" else name) and self.changed(name)
        }
        if not self.partial and not data.get("stage"):
            data.pop("stage", None)  # the service picks the first open stage
        if self.has("amount") and (self.changed("amount") or self.changed("currency")):
            amount = (cd.get("amount") or "").strip()
            data["amount"] = (
                {"amount": amount, "currency": (cd.get("currency") or "").strip().upper()}
                if amount
                else None
            )
        if self.people_data is not None:
            data["people"] = self.people_data
        if self.custom_values:
            data["custom"] = self.custom_values
        return data

    # --- service errors → inputs ----------------------------------------------------------

    def form_field_for(self, service_field: str) -> str | None:
        if service_field.startswith("people"):
            parts = service_field.split(".")
            if len(parts) > 1 and parts[1].isdigit():
                # the n-th person *sent*: find its row
                filled = [
                    i
                    for i in range(self.people_count)
                    if (self.cleaned_data.get(f"person_{i}_name") or "").strip()
                ]
                n = int(parts[1])
                if n < len(filled):
                    return f"{'role' if parts[-1] == 'role' else 'person'}_{filled[n]}" + (
                        "" if parts[-1] == "role" else "_name"
                    )
            return "people_rows" if "people_rows" in self.fields else None
        if service_field == "stage" and "stage" not in self.fields:
            return None
        name = super().form_field_for(service_field)
        return name if name in self.fields else None

    def add_domain_error(self, exc: DomainError) -> None:
        super().add_domain_error(exc)
        if isinstance(exc, ValidationFailed) and any(
            e.message.startswith("Required to enter the stage") for e in exc.errors
        ):
            # "Fill in Amount, Company before moving the deal to 'Proposal'."
            self.add_error(None, exc.detail)
            self.required_refusal = exc.detail

    required_refusal = ""

    @property
    def people_errors(self) -> list[str]:
        if "people_rows" not in self.fields:
            return []
        return [str(e) for e in self.errors.get("people_rows") or []]
