"""Workspace settings, member and invitation forms."""

from __future__ import annotations

from functools import lru_cache
from typing import cast

import phonenumbers
import pycountry
from django import forms

from rapport.core.actors import Actor, Role
from rapport.users.forms import NoColon

from .models import RecordAccess


def role_choices(actor: Actor) -> list[tuple[str, str]]:
    """The roles this actor may hand out: only an owner can make someone an owner."""
    return [
        (r.value, r.label) for r in reversed(Role) if r != Role.OWNER or actor.role == Role.OWNER
    ]


# Regions phonenumbers knows that ISO 3166 (pycountry) does not name.
_EXTRA_REGION_NAMES = {"XK": "Kosovo", "TA": "Tristan da Cunha", "AC": "Ascension Island"}


@lru_cache(maxsize=1)
def region_choices() -> list[tuple[str, str]]:
    choices = []
    for code in phonenumbers.SUPPORTED_REGIONS:
        country = pycountry.countries.get(alpha_2=code)
        name = getattr(country, "common_name", None) or getattr(country, "name", None)
        name = name or _EXTRA_REGION_NAMES.get(code, code)
        code_num = phonenumbers.country_code_for_region(code)
        choices.append((code, f"{name} (+{code_num})"))
    return sorted(choices, key=lambda c: c[1])


class WorkspaceForm(NoColon, forms.Form):
    name = forms.CharField(label="Workspace name", max_length=100)
    members_can_delete_any = forms.BooleanField(
        label="Members may delete any record",
        required=False,
        help_text="Off: members delete only the records they own or created.",
    )
    default_region = forms.ChoiceField(
        label="Default phone region",
        help_text="Phone numbers typed without a country code are read as numbers of this country.",
    )
    trash_retention_days = forms.IntegerField(
        label="Keep deleted records (days)",
        required=False,  # blank: unchanged
        min_value=1,
        max_value=3650,
        help_text=(
            "Deleted people and companies stay in the trash this long, then they are deleted "
            "for good by a daily job. Shortening it removes older records at the next run."
        ),
    )

    record_access = forms.ChoiceField(
        label="Who sees a deal",
        choices=RecordAccess.choices,
        required=False,  # blank: unchanged
        help_text=(
            "Everyone: every member sees every deal. Team: a member sees the deals they own and "
            "those of the people in their teams. Owner only: a member sees just their own deals. "
            "Managers, admins and owners always see every deal."
        ),
    )

    def __init__(self, *args, editable: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["default_region"]).choices = list(region_choices())
        if not editable:
            for field in self.fields.values():
                field.disabled = True


class RoleForm(NoColon, forms.Form):
    # Any role value reaches the service, which refuses what the actor may not grant.
    role = forms.ChoiceField(label="Role", choices=[(r.value, r.label) for r in Role])


class InviteForm(NoColon, forms.Form):
    email = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"placeholder": "name@company.com", "autocomplete": "off"}),
    )
    role = forms.ChoiceField(label="Role", initial=Role.MEMBER.value)

    def __init__(self, *args, actor: Actor, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = role_choices(actor)


class TeamForm(NoColon, forms.Form):
    name = forms.CharField(
        label="Team name",
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Sales EMEA", "autocomplete": "off"}),
    )
    members = forms.MultipleChoiceField(
        label="Members",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="With record access set to Team, members see each other's deals.",
    )

    def __init__(self, *args, member_choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["members"]).choices = member_choices
