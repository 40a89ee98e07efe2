"""People and company pages. Each view parses the request, calls a selector (reads) or a
service (writes) and hands the result to the shared page helpers of ``rapport.ui.views``."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.core.errors import VersionConflict
from rapport.core.policy import can_delete, can_write, require_write
from rapport.search.selectors import search
from rapport.tenancy.selectors import member_choices
from rapport.ui.views import (
    Column,
    ListSpec,
    form_page,
    history_for,
    list_page,
    record_page,
    workspace_required,
)

from . import selectors, services
from .filters import COMPANY_SORTS, PERSON_SORTS, CompanyFilters, PersonFilters
from .forms import CompanyFilterForm, CompanyForm, PersonFilterForm, PersonForm
from .models import LifecycleStage

PERSON_LIST = ListSpec(
    title="People",
    template="ui/list.html",
    row_template="contacts/partials/person_row.html",
    columns=(
        Column("Name", sort="last_name"),
        Column("Email", sort="email"),
        Column("Phone"),
        Column("Company"),
        Column("Owner"),
        Column("Stage"),
        Column("Tags"),
        Column("Updated", sort="updated_at", descending_first=True),
    ),
    filters=PersonFilters,
    sorts=PERSON_SORTS,
    default_sort="-updated_at",
    select=selectors.person_list,
    filter_form=PersonFilterForm,
    extra_filters="contacts/partials/person_extra_filters.html",
    empty_text="No people yet — add the first one.",
    empty_filtered_text="No one matches these filters.",
    add_url_name="contacts:person_create",
    add_label="Add person",
    nav="people",
)

COMPANY_LIST = ListSpec(
    title="Companies",
    template="ui/list.html",
    row_template="contacts/partials/company_row.html",
    columns=(
        Column("Name", sort="name"),
        Column("Domain", sort="domain"),
        Column("Industry"),
        Column("Employees", css="num"),
        Column("Owner"),
        Column("Tags"),
        Column("Updated", sort="updated_at", descending_first=True),
    ),
    filters=CompanyFilters,
    sorts=COMPANY_SORTS,
    default_sort="-updated_at",
    select=selectors.company_list,
    filter_form=CompanyFilterForm,
    empty_text="No companies yet — add the first one.",
    empty_filtered_text="No company matches these filters.",
    add_url_name="contacts:company_create",
    add_label="Add company",
    nav="companies",
)

PERSON_LABELS = PersonForm.history_labels()
COMPANY_LABELS = CompanyForm.history_labels()
COMPANY_PEOPLE_SHOWN = 25


def _resolvers(actor):
    """Names for the ids and codes the change log stores."""
    return {
        "company_id": lambda ids: selectors.company_choices(actor=actor, ids=ids),
        "owner_id": lambda ids: dict(member_choices(workspace=actor.workspace)),
        "lifecycle_stage": lambda ids: dict(LifecycleStage.choices),
    }


def _version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


# --- people -------------------------------------------------------------------------------


@workspace_required
def person_list(request: HttpRequest) -> HttpResponse:
    return list_page(request, PERSON_LIST)


@workspace_required
def person_detail(request: HttpRequest, person_id: uuid.UUID) -> HttpResponse:
    return _person_page(request, person_id, tab="details")


@workspace_required
def person_history(request: HttpRequest, person_id: uuid.UUID) -> HttpResponse:
    return _person_page(request, person_id, tab="history")


def _person_page(request: HttpRequest, person_id: uuid.UUID, *, tab: str) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    person = selectors.person_get(actor=actor, person_id=person_id, for_display=True)
    history = None
    if tab == "history":
        history = history_for(request, person, labels=PERSON_LABELS, resolvers=_resolvers(actor))
    return record_page(
        request,
        template="contacts/person_detail.html",
        tab=tab,
        obj=person,
        person=person,
        history=history,
        details_template="contacts/partials/person_facts.html",
        details_url=reverse("contacts:person_detail", args=[person.pk]),
        history_url=reverse("contacts:person_history", args=[person.pk]),
        can_write=can_write(actor),
        can_delete=can_delete(actor, person),
        nav="people",
    )


@workspace_required
def person_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    require_write(actor)
    initial = {}
    company = _prefill_company(request)
    if company is not None:  # "Add person" from a company page
        initial = {"company": str(company.pk), "company_name": company.name}
    form = PersonForm(request.POST or None, actor=actor, initial=initial)
    return form_page(
        request,
        form=form,
        save=lambda data: services.person_create(actor=actor, data=data, source="ui"),
        template="contacts/person_form.html",
        success=lambda person: reverse("contacts:person_detail", args=[person.pk]),
        message=lambda person: f"Added {person.full_name}.",
        title="New person",
        cancel_url=(
            reverse("contacts:company_detail", args=[company.pk])
            if company
            else reverse("contacts:person_list")
        ),
        nav="people",
    )


def _prefill_company(request: HttpRequest):
    try:
        company_id = uuid.UUID(request.GET.get("company", ""))
    except ValueError:
        return None
    return selectors.company_get(actor=request.actor, company_id=company_id)  # type: ignore[attr-defined]


@workspace_required
def person_edit(request: HttpRequest, person_id: uuid.UUID) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    person = selectors.person_get(actor=actor, person_id=person_id, for_display=True)
    require_write(actor)
    form = PersonForm(
        request.POST or None, actor=actor, partial=True, initial=PersonForm.initial_for(person)
    )
    return form_page(
        request,
        form=form,
        save=lambda data: services.person_update(
            actor=actor,
            person_id=person.pk,
            data=data,
            expected_version=form.expected_version,
            source="ui",
        ),
        template="contacts/person_form.html",
        success=lambda updated: reverse("contacts:person_detail", args=[updated.pk]),
        message=lambda updated: f"Saved {updated.full_name}.",
        title=f"Edit {person.full_name}",
        obj=person,
        cancel_url=reverse("contacts:person_detail", args=[person.pk]),
        nav="people",
    )


@workspace_required
@require_POST
def person_delete(request: HttpRequest, person_id: uuid.UUID) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    person = selectors.person_get(actor=actor, person_id=person_id)
    try:
        services.person_delete(
            actor=actor, person_id=person.pk, expected_version=_version(request), source="ui"
        )
    except VersionConflict:
        messages.error(
            request, f"{person.full_name} was changed since you opened the page: check, then retry."
        )
        return redirect("contacts:person_detail", person.pk)
    messages.success(request, f"Deleted {person.full_name}.")
    return redirect("contacts:person_list")


# --- companies ----------------------------------------------------------------------------


@workspace_required
def company_list(request: HttpRequest) -> HttpResponse:
    return list_page(request, COMPANY_LIST)


@workspace_required
def company_detail(request: HttpRequest, company_id: uuid.UUID) -> HttpResponse:
    return _company_page(request, company_id, tab="details")


@workspace_required
def company_history(request: HttpRequest, company_id: uuid.UUID) -> HttpResponse:
    return _company_page(request, company_id, tab="history")


def _company_page(request: HttpRequest, company_id: uuid.UUID, *, tab: str) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    company = selectors.company_get(actor=actor, company_id=company_id, for_display=True)
    people, history = [], None
    if tab == "history":
        history = history_for(request, company, labels=COMPANY_LABELS, resolvers=_resolvers(actor))
    else:
        people = selectors.company_people(actor=actor, company=company, limit=COMPANY_PEOPLE_SHOWN)
    return record_page(
        request,
        template="contacts/company_detail.html",
        tab=tab,
        obj=company,
        company=company,
        people=people,
        history=history,
        details_template="contacts/partials/company_facts.html",
        details_url=reverse("contacts:company_detail", args=[company.pk]),
        history_url=reverse("contacts:company_history", args=[company.pk]),
        people_url=reverse("contacts:person_list") + f"?company={company.pk}",
        add_person_url=reverse("contacts:person_create") + f"?company={company.pk}",
        can_write=can_write(actor),
        can_delete=can_delete(actor, company),
        nav="companies",
    )


@workspace_required
def company_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    require_write(actor)
    form = CompanyForm(request.POST or None, actor=actor)
    return form_page(
        request,
        form=form,
        save=lambda data: services.company_create(actor=actor, data=data, source="ui"),
        template="contacts/company_form.html",
        success=lambda company: reverse("contacts:company_detail", args=[company.pk]),
        message=lambda company: f"Added {company.name}.",
        title="New company",
        cancel_url=reverse("contacts:company_list"),
        nav="companies",
    )


@workspace_required
def company_edit(request: HttpRequest, company_id: uuid.UUID) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    company = selectors.company_get(actor=actor, company_id=company_id)
    require_write(actor)
    form = CompanyForm(
        request.POST or None, actor=actor, partial=True, initial=CompanyForm.initial_for(company)
    )
    return form_page(
        request,
        form=form,
        save=lambda data: services.company_update(
            actor=actor,
            company_id=company.pk,
            data=data,
            expected_version=form.expected_version,
            source="ui",
        ),
        template="contacts/company_form.html",
        success=lambda updated: reverse("contacts:company_detail", args=[updated.pk]),
        message=lambda updated: f"Saved {updated.name}.",
        title=f"Edit {company.name}",
        obj=company,
        cancel_url=reverse("contacts:company_detail", args=[company.pk]),
        nav="companies",
    )


@workspace_required
@require_POST
def company_delete(request: HttpRequest, company_id: uuid.UUID) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    company = selectors.company_get(actor=actor, company_id=company_id)
    try:
        services.company_delete(
            actor=actor, company_id=company.pk, expected_version=_version(request), source="ui"
        )
    except VersionConflict:
        messages.error(
            request, f"{company.name} was changed since you opened the page: check, then retry."
        )
        return redirect("contacts:company_detail", company.pk)
    messages.success(request, f"Deleted {company.name}.")
    return redirect("contacts:company_list")


@workspace_required
def company_autocomplete(request: HttpRequest) -> HttpResponse:
    """Options for a company picker: ``?q=`` (or the picker input's own name)."""
    q = (request.GET.get("q") or request.GET.get("company_name") or "").strip()
    hits = search(actor=request.actor, q=q, limit=8, types=["contacts.company"]) if q else []  # type: ignore[attr-defined]
    return render(request, "contacts/partials/company_options.html", {"hits": hits, "q": q})
