"""Forms of the people and company pages.

They render inputs, carry CSRF and turn the POST into the API-shaped ``data`` a service takes.
They do not judge the input: the service does (one set of rules for UI, API and imports), and
its field errors are put back on the fields by ``add_domain_error``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pycountry
from django import forms
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from rapport.core.errors import DomainError, Duplicate, VersionConflict
from rapport.search.selectors import search
from rapport.tenancy.selectors import member_choices

from .models import LifecycleStage
from .selectors import company_choices

ADDRESS_FIELDS = ("street", "city", "region", "postal_code", "country")


def country_choices() -> list[tuple[str, str]]:
    countries = sorted(pycountry.countries, key=lambda c: getattr(c, "common_name", None) or c.name)
    return [("", "—")] + [
        (c.alpha_2, f"{getattr(c, 'common_name', None) or c.name} ({c.alpha_2})") for c in countries
    ]


def owner_choices(actor, *, blank: str = "— No owner —") -> list[tuple[str, str]]:
    return [("", blank), *member_choices(workspace=actor.workspace)]


def text(label: str, *, max_length: int | None = None, **attrs) -> forms.CharField:
    """An optional text input; ``max_length`` only sizes the input (the service checks it)."""
    if max_length:
        attrs.setdefault("maxlength", max_length)
    return forms.CharField(label=label, required=False, widget=forms.TextInput(attrs=attrs))


def autocomplete(form: forms.Form, text_name: str, value_name: str, url: str) -> None:
    """Wires a text input to fetch suggestions from ``url`` (htmx) into its options list and
    a hidden input to receive the picked id (app.js; see ui/partials/autocomplete.html)."""
    options_id = f"id_{text_name}_options"
    form.fields[text_name].widget.attrs.update(
        {
            "hx-get": url,
            "hx-trigger": "input changed delay:200ms",
            "hx-target": f"#{options_id}",
            # Explicit, so nothing is inherited from an htmx form around the picker.
            "hx-swap": "innerHTML",
            "hx-push-url": "false",
            "hx-sync": "this:replace",
            "data-autocomplete-input": "",
            "role": "combobox",
            "aria-autocomplete": "list",
            "aria-expanded": "false",
            "aria-controls": options_id,
            "autocomplete": "off",
        }
    )
    form.fields[value_name].widget.attrs["data-autocomplete-value"] = ""


def choice(label: str, choices, **attrs) -> forms.CharField:
    """A <select> whose value the service validates (a stale option gets the service's error)."""
    return forms.CharField(
        label=label, required=False, widget=forms.Select(choices=choices, attrs=attrs)
    )


class ServiceForm(forms.Form):
    """Base of a form whose input a service validates.

    Subclasses define ``to_data()`` (the service's ``data``) and, when their field names differ
    from the service's, ``error_fields`` mapping service field → form field.
    """

    error_fields: dict[str, str] = {}
    log_fields: dict[str, str] = {}  # change-log field → form field, e.g. owner_id → owner
    detail_url_name = ""  # where a Duplicate's existing record lives

    def __init__(self, *args, actor, partial: bool = False, **kwargs):
        self.actor = actor
        self.partial = partial  # an edit: send only the fields the user changed
        self.duplicate_url = ""  # set when the service found a duplicate
        self.conflict = False  # set when someone else saved the record meanwhile
        super().__init__(*args, **kwargs)

    def to_data(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def history_labels(cls) -> dict[str, str]:
        """Labels for the change log's field names (``owner_id``, ``address.city``), in the
        order the form shows the fields: the History tab lists changes in that order."""
        order = list(cls.field_order or [])
        order += [name for name in cls.base_fields if name not in order]
        aliases: dict[str, list[str]] = {}
        for service_name, form_name in {**cls.error_fields, **cls.log_fields}.items():
            if "." not in service_name:
                aliases.setdefault(form_name, []).append(service_name)
        labels: dict[str, str] = {}
        for name in order:
            label = cls.base_fields[name].label
            if not label:
                continue
            labels[f"address.{name}" if name in ADDRESS_FIELDS else name] = str(label)
            for alias in aliases.get(name, []):
                labels[alias] = str(label)
        return labels

    def form_field_for(self, service_field: str) -> str | None:
        if service_field in self.error_fields:
            return self.error_fields[service_field]
        name = service_field.removeprefix("address.")
        return name if name in self.fields else None

    def add_domain_error(self, exc: DomainError) -> None:
        if isinstance(exc, VersionConflict):
            self.conflict = True
            self.add_error(
                None,
                "Someone else changed this record while you were editing it. "
                "Reload the page to see their changes, then make yours again.",
            )
            return
        if isinstance(exc, Duplicate) and self.detail_url_name:
            self.duplicate_url = reverse(self.detail_url_name, args=[exc.existing_id])
        for err in exc.errors:
            name = self.form_field_for(err.field)
            if name is None:
                self.add_error(None, f"{err.field}: {err.message}")
            else:
                self.add_error(name, err.message)
        if not exc.errors:
            self.add_error(None, exc.detail)

    # Edits send only what the user changed: an untouched field is never rewritten.
    def changed(self, name: str) -> bool:
        return not self.partial or name in self.changed_data

    def pick(self, data: dict[str, Any], *names: str) -> dict[str, Any]:
        return {name: data[name] for name in names if name in data and self.changed(name)}

    def address(self) -> dict[str, str] | None:
        parts = {k: self.cleaned_data[k] for k in ADDRESS_FIELDS if self.changed(k)}
        return parts or None

    @property
    def expected_version(self) -> int | None:
        try:
            return int(self.data.get("version", ""))
        except (TypeError, ValueError):
            return None


def company_from(actor, company_id: str, name: str, *, known: dict | None = None):
    """What the user means by a company picker: ``(id, error)``.

    With JavaScript the autocomplete fills the hidden id when a suggestion is picked and
    clears it when the user types. Without JavaScript the hidden id stays as it was, so the
    typed name wins whenever it is not the name of the company the id points to.
    """
    name = (name or "").strip()
    if not name:
        return "", ""
    company_id = (company_id or "").strip()
    if company_id:
        try:
            company_id = str(uuid.UUID(company_id))
        except ValueError:
            company_id = ""
    if company_id:
        names = known if known is not None else company_choices(actor=actor, ids=[company_id])
        if names.get(company_id, "").strip().lower() == name.lower():
            return company_id, ""
    return resolve_company(actor, name)


def resolve_company(actor, name: str) -> tuple[str, str]:
    """The id of the one company called ``name`` (any case), or an error to show."""
    hits = search(actor=actor, q=name, limit=10, types=["contacts.company"])
    exact = [hit for hit in hits if hit.title.strip().lower() == name.strip().lower()]
    if len(exact) == 1:
        return str(exact[0].object_id), ""
    if exact:
        return "", f"Several companies are called “{name}”: pick one from the suggestions."
    return "", (
        f"There is no company called “{name}”: pick one from the suggestions, "
        "or add the company first."
    )


def split_tags(value: str) -> list[str]:
    return [t.strip() for t in (value or "").split(",") if t.strip()]


def join_tags(obj) -> str:
    return ", ".join(t.name for t in obj.tags.all())


class _AddressOwnerTags(ServiceForm):
    """Fields people and companies share: phone, owner, tags, address."""

    phone = text("Phone", max_length=40, type="tel", autocomplete="tel")
    owner = choice("Owner", [])
    tags = text("Tags", help_text="Separate tags with commas, e.g. vip, newsletter")
    street = text("Street", max_length=255, autocomplete="street-address")
    city = text("City", max_length=120, autocomplete="address-level2")
    region = text("Region / state", max_length=120, autocomplete="address-level1")
    postal_code = text("Postal code", max_length=32, autocomplete="postal-code")
    country = choice("Country", [], autocomplete="country")
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    log_fields = {"owner_id": "owner"}
    object_type = ""  # whose custom fields the form shows

    def __init__(self, *args, **kwargs):
        from rapport.customization.forms import add_record_fields

        super().__init__(*args, **kwargs)
        self.fields["owner"].widget.choices = owner_choices(self.actor)
        self.fields["country"].widget.choices = country_choices()
        self.custom_values: dict[str, Any] | None = None
        add_record_fields(self, self.object_type)  # inputs named custom.<key>

    @property
    def custom_bound_fields(self) -> list:
        from rapport.customization.forms import bound_fields

        return bound_fields(self)

    def clean(self):
        from rapport.customization.forms import custom_data

        cd = super().clean()
        self.custom_values = custom_data(self)  # typed by the field types; errors on the inputs
        return cd

    @classmethod
    def initial_for(cls, obj) -> dict[str, Any]:
        return {
            "phone": obj.phone,
            "owner": str(obj.owner_id) if obj.owner_id else "",
            "tags": join_tags(obj),
            **{k: getattr(obj, k) for k in ADDRESS_FIELDS},
            "version": obj.version,
            "custom": dict(obj.custom or {}),
        }

    def common_data(self) -> dict[str, Any]:
        cd = self.cleaned_data
        data = self.pick(
            {"phone": cd["phone"], "owner": cd["owner"] or None, "tags": split_tags(cd["tags"])},
            "phone",
            "owner",
            "tags",
        )
        address = self.address()
        if address is not None:
            data["address"] = address
        if self.custom_values is not None:
            data["custom"] = self.custom_values
        return data


class PersonForm(_AddressOwnerTags):
    first_name = text("First name", max_length=150, autocomplete="given-name")
    last_name = text("Last name", max_length=150, autocomplete="family-name")
    email = forms.CharField(
        label="Email",
        required=False,
        widget=forms.EmailInput(attrs={"maxlength": 254, "autocomplete": "email"}),
    )
    title = text("Job title", max_length=150, autocomplete="organization-title")
    company = forms.CharField(required=False, widget=forms.HiddenInput)
    company_name = text(
        "Company",
        autocomplete="off",
        placeholder="Start typing a company name",
    )
    lifecycle_stage = forms.CharField(
        label="Lifecycle stage",
        required=False,
        initial=LifecycleStage.LEAD,
        widget=forms.Select(choices=LifecycleStage.choices),
    )
    source = text("Source", max_length=100, placeholder="e.g. website, referral, event")

    field_order = [
        "first_name",
        "last_name",
        "email",
        "phone",
        "title",
        "company_name",
        "company",
        "owner",
        "lifecycle_stage",
        "source",
        "tags",
    ]
    error_fields = {"company": "company_name"}
    log_fields = {"owner_id": "owner", "company_id": "company_name"}
    detail_url_name = "contacts:person_detail"
    object_type = "contacts.person"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        autocomplete(self, "company_name", "company", reverse("contacts:company_autocomplete"))

    @classmethod
    def initial_for(cls, obj) -> dict[str, Any]:
        return {
            **super().initial_for(obj),
            "first_name": obj.first_name,
            "last_name": obj.last_name,
            "email": obj.email,
            "title": obj.title,
            "company": str(obj.company_id) if obj.company_id else "",
            "company_name": obj.company.name if obj.company_id else "",
            "lifecycle_stage": obj.lifecycle_stage,
            "source": obj.source,
        }

    def clean(self):
        cd = super().clean()
        if self.partial and not {"company", "company_name"} & set(self.changed_data):
            return cd  # untouched: not sent, even if the linked company was deleted since
        company_id, error = company_from(self.actor, cd.get("company"), cd.get("company_name"))
        if error:
            self.add_error("company_name", error)
        cd["company"] = company_id
        return cd

    def changed(self, name: str) -> bool:
        if name == "company":
            return super().changed("company") or super().changed("company_name")
        return super().changed(name)

    def to_data(self) -> dict[str, Any]:
        cd = self.cleaned_data
        data = self.pick(
            {
                "first_name": cd["first_name"],
                "last_name": cd["last_name"],
                "email": cd["email"],
                "title": cd["title"],
                "company": cd["company"] or None,
                "lifecycle_stage": cd["lifecycle_stage"],
                "source": cd["source"],
            },
            "first_name",
            "last_name",
            "email",
            "title",
            "company",
            "lifecycle_stage",
            "source",
        )
        return {**data, **self.common_data()}


class CompanyForm(_AddressOwnerTags):
    name = text("Name", max_length=200, autocomplete="organization", required=True)
    domain = text("Domain", max_length=253, placeholder="example.com", inputmode="url")
    industry = text("Industry", max_length=100)
    employees = text("Employees", inputmode="numeric")
    annual_revenue_amount = text("Annual revenue", inputmode="decimal", placeholder="1250000.00")
    annual_revenue_currency = text("Currency", max_length=3, placeholder="USD")

    field_order = [
        "name",
        "domain",
        "industry",
        "employees",
        "annual_revenue_amount",
        "annual_revenue_currency",
        "phone",
        "owner",
        "tags",
    ]
    error_fields = {
        "annual_revenue": "annual_revenue_amount",
        "annual_revenue.amount": "annual_revenue_amount",
        "annual_revenue.currency": "annual_revenue_currency",
    }
    detail_url_name = "contacts:company_detail"
    object_type = "contacts.company"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        currency = self.fields["annual_revenue_currency"]
        currency.widget.attrs["placeholder"] = self.actor.workspace.default_currency

    @classmethod
    def initial_for(cls, obj) -> dict[str, Any]:
        return {
            **super().initial_for(obj),
            "name": obj.name,
            "domain": obj.domain,
            "industry": obj.industry,
            "employees": "" if obj.employees is None else str(obj.employees),
            "annual_revenue_amount": (
                "" if obj.annual_revenue is None else str(obj.annual_revenue)
            ),
            "annual_revenue_currency": obj.annual_revenue_currency,
        }

    def to_data(self) -> dict[str, Any]:
        cd = self.cleaned_data
        data = self.pick(
            {
                "name": cd["name"],
                "domain": cd["domain"],
                "industry": cd["industry"],
                "employees": cd["employees"].strip() or None,
            },
            "name",
            "domain",
            "industry",
            "employees",
        )
        if self.changed("annual_revenue_amount") or self.changed("annual_revenue_currency"):
            amount = cd["annual_revenue_amount"].strip()
            data["annual_revenue"] = (
                {"amount": amount, "currency": cd["annual_revenue_currency"].strip()}
                if amount
                else None
            )
        return {**data, **self.common_data()}


# --- list filters ---------------------------------------------------------------------------


PERSON_SORT_CHOICES = [
    ("-updated_at", "Recently updated"),
    ("-created_at", "Newest first"),
    ("created_at", "Oldest first"),
    ("last_name", "Last name A–Z"),
    ("-last_name", "Last name Z–A"),
    ("first_name", "First name A–Z"),
    ("-first_name", "First name Z–A"),
    ("email", "Email A–Z"),
    ("-email", "Email Z–A"),
]
COMPANY_SORT_CHOICES = [
    ("-updated_at", "Recently updated"),
    ("-created_at", "Newest first"),
    ("created_at", "Oldest first"),
    ("name", "Name A–Z"),
    ("-name", "Name Z–A"),
    ("domain", "Domain A–Z"),
    ("-domain", "Domain Z–A"),
]


DATE_FILTERS = ("created_after", "created_before", "updated_after", "updated_before")


def date(label: str) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class FilterForm(forms.Form):
    """Renders a list's filters from ``request.GET``; the app's FilterSet parses them."""

    sort_choices: list[tuple[str, str]] = []
    primary: tuple[str, ...] = ()  # shown at once; the rest sit under "More filters"
    special: tuple[str, ...] = ()  # rendered by the page itself (e.g. an autocomplete)
    data: QueryDict  # a mutable copy of request.GET
    object_type = ""  # whose custom fields add filters

    q = forms.CharField(
        label="Search",
        required=False,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Name, email, phone…",
                "autocomplete": "off",
                "data-live-input": "",  # filters as you type: its "change" is not news
            }
        ),
    )
    owner = choice("Owner", [])
    tag = text("Tag")
    city = text("City")
    country = choice("Country", [])
    created_after = date("Created after")
    created_before = date("Created before")
    updated_after = date("Updated after")
    updated_before = date("Updated before")
    sort = choice("Sort by", [])

    def __init__(self, data, *, actor, default_sort: str):
        data = data.copy()  # mutable: clean() may fill in what the user meant
        if not data.get("sort"):
            data["sort"] = default_sort
        super().__init__(data)
        self.actor = actor
        self.fields["owner"].widget.choices = [
            ("", "Anyone"),
            ("me", "Me"),
            ("none", "No owner"),
            *member_choices(workspace=actor.workspace),
        ]
        self.fields["country"].widget.choices = country_choices()
        self.fields["sort"].widget.choices = self.sort_choices
        if self.object_type:  # the custom fields' filters (under "More filters") and sorts
            from rapport.customization.forms import add_filter_fields, sort_choices

            add_filter_fields(self, self.object_type)
            self.fields["sort"].widget.choices = [
                *self.sort_choices,
                *sort_choices(self.object_type, actor.workspace),
            ]

    def query(self):
        """The filters as the FilterSet reads them. A date picked in the browser means the
        start of that day in the user's time zone (the FilterSet takes datetimes)."""
        data = self.data.copy()
        for name in DATE_FILTERS:
            value = (data.get(name) or "").strip()
            if len(value) != len("2024-01-31"):
                continue  # empty, or a full datetime: the FilterSet parses (and judges) it
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                continue
            data[name] = timezone.make_aware(dt.datetime.combine(day, dt.time.min)).isoformat()
        return data

    def primary_fields(self):
        return [self[name] for name in self.primary]

    def more_fields(self):
        skip = {*self.primary, *self.special, "sort"}
        return [f for f in self if f.name not in skip and not f.is_hidden]

    @property
    def more_active(self) -> bool:
        names = [f.name for f in self.more_fields()] + list(self.special)
        return any((self.data.get(name) or "").strip() for name in names)


class PersonFilterForm(FilterForm):
    sort_choices = PERSON_SORT_CHOICES
    object_type = "contacts.person"
    primary = ("q", "owner", "lifecycle_stage", "tag")
    special = ("company", "company_name")

    email = text("Email")
    first_name = text("First name")
    last_name = text("Last name")
    title = text("Job title")
    phone = text("Phone")
    company = forms.CharField(required=False, widget=forms.HiddenInput)
    company_name = text("Company", autocomplete="off", placeholder="Start typing")
    lifecycle_stage = choice("Lifecycle stage", [("", "Any stage"), *LifecycleStage.choices])
    source = text("Source")
    region = text("Region / state")
    postal_code = text("Postal code")

    field_order = [
        "q",
        "owner",
        "lifecycle_stage",
        "tag",
        "email",
        "first_name",
        "last_name",
        "title",
        "phone",
        "company_name",
        "source",
        "city",
        "region",
        "postal_code",
        "country",
    ]

    def __init__(self, data, *, actor, default_sort: str):
        super().__init__(data, actor=actor, default_sort=default_sort)
        autocomplete(self, "company_name", "company", reverse("contacts:company_autocomplete"))
        self._known: dict | None = None
        company_id = (self.data.get("company") or "").strip()
        if "company_name" in self.data and not (self.data.get("company_name") or "").strip():
            # The user emptied the company box: no company filter.
            self.data["company"] = ""
        elif company_id and "company_name" not in self.data:
            # A link like /people/?company=<id> names the company in the filter box.
            try:
                ids = [str(uuid.UUID(company_id))]
            except ValueError:  # not an id: the FilterSet reports it
                ids = []
            self._known = company_choices(actor=actor, ids=ids) if ids else {}
            self.data["company_name"] = self._known.get(ids[0], "") if ids else ""

    def clean(self):
        cd = super().clean()
        if (cd.get("company_name") or "").strip():
            company_id, error = company_from(
                self.actor, self.data.get("company"), cd["company_name"], known=self._known
            )
            if error:
                self.add_error("company_name", error)
            self.data["company"] = company_id
        return cd


class CompanyFilterForm(FilterForm):
    sort_choices = COMPANY_SORT_CHOICES
    object_type = "contacts.company"
    primary = ("q", "owner", "industry", "tag")

    def __init__(self, data, *, actor, default_sort: str):
        super().__init__(data, actor=actor, default_sort=default_sort)
        self.fields["q"].widget.attrs["placeholder"] = "Name, domain, phone…"

    name = text("Name")
    domain = text("Domain")
    industry = text("Industry")
    phone = text("Phone")
    employees_min = text("Employees from", inputmode="numeric")
    employees_max = text("Employees to", inputmode="numeric")
    region = text("Region / state")
    postal_code = text("Postal code")

    field_order = [
        "q",
        "owner",
        "industry",
        "tag",
        "name",
        "domain",
        "phone",
        "employees_min",
        "employees_max",
        "city",
        "region",
        "postal_code",
        "country",
    ]


class TrashFilterForm(forms.Form):
    """The trash's filters, from ``request.GET``; ``TrashFilters`` judges them."""

    q = forms.CharField(
        label="Search",
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, email, domain…", "autocomplete": "off"}
        ),
    )
    type = choice("Type", [("", "All types"), ("person", "People"), ("company", "Companies")])
    deleted_by = choice("Deleted by", [])
    deleted_after = date("Deleted from")
    deleted_before = date("Deleted until")

    def __init__(self, data, *, actor):
        super().__init__(data)
        self.fields["deleted_by"].widget.choices = [
            ("", "Anyone"),
            ("me", "Me"),
            ("none", "The system"),
            *member_choices(workspace=actor.workspace),
        ]

    def query(self) -> dict[str, str]:
        """The filters as ``TrashFilters`` reads them. The dates are days in the user's time
        zone, both included: "until" the 3rd means before the 4th began."""
        data = {name: (self.data.get(name) or "").strip() for name in self.fields}
        for name, extra in (("deleted_after", 0), ("deleted_before", 1)):
            value = data[name]
            if len(value) != len("2024-01-31"):
                continue  # empty, or a full datetime: the FilterSet parses (and judges) it
            try:
                day = dt.date.fromisoformat(value) + dt.timedelta(days=extra)
            except ValueError:
                continue
            data[name] = timezone.make_aware(dt.datetime.combine(day, dt.time.min)).isoformat()
        return {k: v for k, v in data.items() if v}

    @property
    def active(self) -> bool:
        return any((self.data.get(name) or "").strip() for name in self.fields)
