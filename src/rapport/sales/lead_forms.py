"""The lead edit form: renders the inputs and turns the POST into ``lead_update``'s data.

Like the person and company forms (``contacts.forms``) it does not judge the input: the
service does, and its field errors are put back beside the inputs. An edit sends only the
fields the user changed, so an untouched value is never rewritten.
"""

from __future__ import annotations

from typing import Any

from django import forms

from rapport.contacts.forms import (
    ServiceForm,
    choice,
    country_choices,
    join_tags,
    owner_choices,
    split_tags,
    text,
)

from .lead_models import Lead, LeadStatus
from .lead_services import LEAD_MODEL_LABEL

# Inputs whose value goes to the service as it is (the rest: owner, tags, custom).
PLAIN_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company_name",
    "title",
    "country",
    "source",
    "status",
    "disqualified_reason",
)


class LeadEditForm(ServiceForm):
    first_name = text("First name", max_length=150, autocomplete="off")
    last_name = text("Last name", max_length=150, autocomplete="off")
    email = forms.CharField(
        label="Email",
        required=False,
        widget=forms.EmailInput(attrs={"maxlength": 254, "autocomplete": "off"}),
    )
    phone = text("Phone", max_length=40, type="tel", autocomplete="off")
    company_name = text("Company", max_length=200, autocomplete="off")
    title = text("Job title", max_length=150, autocomplete="off")
    country = choice("Country", [])
    source = text("Source", max_length=100, placeholder="e.g. website, referral, event")
    owner = choice("Owner", [])
    status = choice("Status", LeadStatus.choices)
    disqualified_reason = forms.CharField(
        label="Reason for disqualifying",
        required=False,
        help_text="Needed when the status is disqualified.",
        widget=forms.TextInput(attrs={"maxlength": 255}),
    )
    tags = forms.CharField(
        label="Tags",
        required=False,
        help_text="Separate tags with commas, e.g. vip, newsletter",
    )
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    log_fields = {"owner_id": "owner"}

    def __init__(self, *args, **kwargs):
        from rapport.customization.forms import add_record_fields

        super().__init__(*args, **kwargs)
        self.fields["owner"].widget.choices = owner_choices(self.actor)
        self.fields["country"].widget.choices = country_choices()
        self.custom_values: dict[str, Any] | None = None
        add_record_fields(self, LEAD_MODEL_LABEL)  # inputs named custom.<key>

    @property
    def custom_bound_fields(self) -> list:
        from rapport.customization.forms import bound_fields

        return bound_fields(self)

    @classmethod
    def initial_for(cls, lead: Lead) -> dict[str, Any]:
        return {
            **{name: getattr(lead, name) for name in PLAIN_FIELDS},
            "owner": str(lead.owner_id) if lead.owner_id else "",
            "tags": join_tags(lead),
            "version": lead.version,
            "custom": dict(lead.custom or {}),
        }

    def clean(self):
        from rapport.customization.forms import custom_data

        cd = super().clean()
        self.custom_values = custom_data(self)  # typed by the field types; errors on the inputs
        return cd

    def form_field_for(self, service_field: str) -> str | None:
        # "tags.3" (one bad tag) belongs to the tags input
        name = super().form_field_for(service_field)
        if name is None and service_field.split(".")[0] in ("tags", "owner"):
            return service_field.split(".")[0]
        return name

    def to_data(self) -> dict[str, Any]:
        cd = self.cleaned_data
        data = self.pick(
            {
                **{name: cd[name] for name in PLAIN_FIELDS},
                "owner": cd["owner"] or None,
                "tags": split_tags(cd["tags"]),
            },
            *PLAIN_FIELDS,
            "owner",
            "tags",
        )
        if self.custom_values is not None:
            data["custom"] = self.custom_values
        return data
