"""Forms of Settings → Pipelines, Lost reasons and Currencies.

The pipeline editor is a list of stage rows posted as ``row`` (one per stage, in page order)
and ``stage-<row>-<field>``: ``parse_stage_rows`` turns them into the service's stage dicts and
back into what the template shows, so reordering, adding and removing rows needs no JavaScript
(the page's script only does the same thing without a round trip).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pycountry
from django import forms
from django.utils import timezone

from rapport.users.forms import NoColon

from .models import ForecastCategory, StageType
from .services import MAX_STAGES, REQUIRABLE_FIELDS

MAX_CSV_BYTES = 2 * 1024 * 1024


@lru_cache(maxsize=1)
def currency_choices() -> list[tuple[str, str]]:
    """ISO 4217 currencies in use (pycountry), as ``("EUR", "EUR · Euro")``."""
    from moneyed import get_currency

    choices = []
    for c in pycountry.currencies:
        try:
            get_currency(c.alpha_3)
        except Exception:  # noqa: S112 - a code py-moneyed does not know is refused on save
            continue
        choices.append((c.alpha_3, f"{c.alpha_3} · {c.name}"))
    return sorted(choices)


class PipelineCreateForm(NoColon, forms.Form):
    name = forms.CharField(
        label="Name of the new pipeline",
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Renewals", "autocomplete": "off"}),
    )


class LostReasonForm(NoColon, forms.Form):
    name = forms.CharField(
        label="Reason",
        max_length=100,
        widget=forms.TextInput(
            attrs={"placeholder": "e.g. Missing feature", "autocomplete": "off"}
        ),
    )


class BaseCurrencyForm(NoColon, forms.Form):
    default_currency = forms.ChoiceField(label="Base currency")

    def __init__(self, *args, editable: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_currency"].choices = currency_choices()  # type: ignore[attr-defined]
        if not editable:
            self.fields["default_currency"].disabled = True


class ExchangeRateForm(NoColon, forms.Form):
    currency = forms.ChoiceField(label="Currency")
    rate = forms.CharField(
        label="Rate",
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "1.08"}),
    )
    valid_from = forms.DateField(
        label="Valid from", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, base: str, **kwargs):
        kwargs.setdefault("initial", {"valid_from": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [  # type: ignore[attr-defined]
            ("", "Choose…"),
            *[c for c in currency_choices() if c[0] != base],
        ]
        self.fields["rate"].help_text = f"How many {base} one unit of the currency is worth."


class RatesImportForm(NoColon, forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns currency, rate and date (YYYY-MM-DD) with a header row; "
        "one rate a line, e.g. EUR,1.08,2026-01-01.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > MAX_CSV_BYTES:
            raise forms.ValidationError("The file is larger than 2 MB: split it.")
        raw = f.read()
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("Save the file as UTF-8 text (CSV).")


# --- the pipeline editor ----------------------------------------------------------------------

STAGE_TYPES = StageType.choices
FORECAST_CATEGORIES = ForecastCategory.choices


@dataclass
class StageRow:
    """One stage row of the editor: the values shown and the errors next to them."""

    key: str  # the row's index in the posted form (stable while the page is open)
    id: str = ""
    name: str = ""
    type: str = StageType.OPEN
    probability: str = ""
    rotting_days: str = ""
    required_fields: list[str] = field(default_factory=list)
    forecast_category: str = ""
    deals: int = 0
    errors: dict[str, list[str]] = field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "probability": self.probability,
            "rotting_days": self.rotting_days,
            "required_fields": self.required_fields,
            "forecast_category": self.forecast_category,
        }
        if self.id:
            data["id"] = self.id
        return data

    @property
    def all_errors(self) -> list[str]:
        return [m for messages in self.errors.values() for m in messages]


def rows_from_stages(stages, deal_counts: dict) -> list[StageRow]:
    return [
        StageRow(
            key=str(i),
            id=str(s.pk),
            name=s.name,
            type=s.type,
            probability=str(s.probability),
            rotting_days="" if s.rotting_days is None else str(s.rotting_days),
            required_fields=list(s.required_fields or []),
            forecast_category=s.forecast_category,
            deals=deal_counts.get(s.pk, 0),
        )
        for i, s in enumerate(stages)
    ]


def parse_stage_rows(post, deal_counts: dict, known_ids: set[str]) -> list[StageRow]:
    """The rows as posted, in page order (``row`` values come in document order)."""
    rows = []
    seen = set()
    for key in post.getlist("row")[: MAX_STAGES * 2]:
        key = key.strip()[:6]
        if not key.isdigit() or key in seen:
            continue
        seen.add(key)
        p = f"stage-{key}-"
        stage_id = post.get(p + "id", "").strip()
        rows.append(
            StageRow(
                key=key,
                id=stage_id if stage_id in known_ids else "",
                name=post.get(p + "name", "").strip()[:100],
                type=post.get(p + "type", StageType.OPEN),
                probability=post.get(p + "probability", "").strip()[:5],
                rotting_days=post.get(p + "rotting_days", "").strip()[:6],
                required_fields=[v for v in post.getlist(p + "required_fields") if v][:50],
                forecast_category=post.get(p + "forecast_category", ""),
                deals=next((n for pk, n in deal_counts.items() if str(pk) == stage_id), 0),
            )
        )
    return rows


def next_row_key(rows: list[StageRow]) -> str:
    return str(max((int(r.key) for r in rows), default=-1) + 1)


def requirable_choices(custom_fields) -> list[tuple[str, str]]:
    """What a stage may require: the standard deal fields, then the deals' custom fields."""
    return [
        *REQUIRABLE_FIELDS.items(),
        *[(f"custom.{f.key}", f.label) for f in custom_fields],
    ]


def parse_version(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def today() -> dt.date:
    return timezone.localdate()
