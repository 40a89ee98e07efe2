"""People and company pages. Each view parses the request, calls a selector (reads) or a
service (writes) and hands the result to the shared page helpers of ``rapport.ui.views``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from rapport.core.errors import (
    Duplicate,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    VersionConflict,
)
from rapport.core.pagination import Page
from rapport.core.policy import can_delete, can_write, is_admin, require_write
from rapport.search.selectors import search
from rapport.tenancy.selectors import member_choices
from rapport.ui import sections as ui_sections
from rapport.ui.views import (
    Column,
    ListSpec,
    form_page,
    history_for,
    list_page,
    record_page,
    workspace_required,
)

from . import dedupe, selectors, services
from .dedupe_views import merged_redirect
from .filters import COMPANY_SORTS, PERSON_SORTS, CompanyFilters, PersonFilters, TrashFilters
from .forms import (
    CompanyFilterForm,
    CompanyForm,
    PersonFilterForm,
    PersonForm,
    TrashFilterForm,
)
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
    export_type="person",
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
    export_type="company",
    add_label="Add company",
    nav="companies",
)

PERSON_LABELS = PersonForm.history_labels()
COMPANY_LABELS = CompanyForm.history_labels()


def _custom_labels(actor, object_type: str) -> dict[str, str]:
    """The History tab names custom field changes by the fields' current labels."""
    from rapport.customization.selectors import fields_for

    return {f.param: f.label for f in fields_for(actor.workspace, object_type)}


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


_TAB_URLS = {
    kind: {"details": f"contacts:{kind}_detail", "history": f"contacts:{kind}_history"}
    for kind in ("person", "company")
}


def _person_page(request: HttpRequest, person_id: uuid.UUID, *, tab: str) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    try:
        person = selectors.person_get(actor=actor, person_id=person_id, for_display=True)
    except NotFound:  # a merged person's page sends to the survivor's
        return merged_redirect(actor, "person", person_id, _TAB_URLS["person"][tab])
    history, sections = None, None
    if tab == "history":
        history = history_for(
            request,
            person,
            labels={**PERSON_LABELS, **_custom_labels(actor, "contacts.person")},
            resolvers=_resolvers(actor),
        )
    else:  # the Customer 360: every app's sections (facts, figures, timeline, files...)
        sections = ui_sections.render(request, actor, "person", person)
    return record_page(
        request,
        template="contacts/person_detail.html",
        tab=tab,
        obj=person,
        person=person,
        history=history,
        sections=sections,
        details_template="contacts/partials/record_sections.html",
        details_url=reverse("contacts:person_detail", args=[person.pk]),
        history_url=reverse("contacts:person_history", args=[person.pk]),
        can_write=can_write(actor),
        can_delete=can_delete(actor, person),
        duplicate_pairs=dedupe.pairs_for_record(actor=actor, obj=person),
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
    try:
        company = selectors.company_get(actor=actor, company_id=company_id, for_display=True)
    except NotFound:  # a merged company's page sends to the survivor's
        return merged_redirect(actor, "company", company_id, _TAB_URLS["company"][tab])
    history, sections = None, None
    if tab == "history":
        history = history_for(
            request,
            company,
            labels={**COMPANY_LABELS, **_custom_labels(actor, "contacts.company")},
            resolvers=_resolvers(actor),
        )
    else:  # the Customer 360, its people among the sections
        sections = ui_sections.render(request, actor, "company", company)
    return record_page(
        request,
        template="contacts/company_detail.html",
        tab=tab,
        obj=company,
        company=company,
        history=history,
        sections=sections,
        details_template="contacts/partials/record_sections.html",
        details_url=reverse("contacts:company_detail", args=[company.pk]),
        history_url=reverse("contacts:company_history", args=[company.pk]),
        can_write=can_write(actor),
        can_delete=can_delete(actor, company),
        duplicate_pairs=dedupe.pairs_for_record(actor=actor, obj=company),
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


# --- the trash ------------------------------------------------------------------------------

TRASH_PAGE_SIZE = 50
RECORD_URL_NAMES = {"person": "contacts:person_detail", "company": "contacts:company_detail"}
TRASH_FILTER_LABELS = {
    "q": "Search",
    "type": "Type",
    "deleted_by": "Deleted by",
    "deleted_after": "Deleted from",
    "deleted_before": "Deleted until",
}


@dataclass(frozen=True)
class TrashRow:
    item: selectors.TrashItem
    can_restore: bool


def _trash_filter_inputs(data) -> dict[str, str]:
    """The filter inputs as typed, to carry from the list to its actions and back."""
    return {
        name: data.get(name, "").strip()
        for name in TRASH_FILTER_LABELS
        if data.get(name, "").strip()
    }


def _trash_url(data) -> str:
    inputs = _trash_filter_inputs(data)
    return reverse("contacts:trash") + ("?" + urlencode(inputs) if inputs else "")


def _trash_filters(request: HttpRequest, data) -> TrashFilters:
    form = TrashFilterForm(data, actor=request.actor)  # type: ignore[attr-defined]
    return TrashFilters.from_querydict(form.query())


@workspace_required
@require_GET
def trash(request: HttpRequest) -> HttpResponse:
    """Deleted people and companies: filter, restore (one, selected, all matching), and for
    admins delete forever."""
    actor = request.actor  # type: ignore[attr-defined]
    require_write(actor)
    form = TrashFilterForm(request.GET, actor=actor)
    inputs = _trash_filter_inputs(request.GET)
    cursor = request.GET.get("cursor") or None
    page, errors, notice = Page(rows=[], next_cursor=None), [], ""
    try:
        filters = TrashFilters.from_querydict(form.query())
    except ValidationFailed as exc:
        errors = [f"{TRASH_FILTER_LABELS.get(e.field, e.field)}: {e.message}" for e in exc.errors]
    else:
        try:
            page = selectors.trash_list(
                actor=actor, filters=filters, cursor=cursor, limit=TRASH_PAGE_SIZE
            )
        except ValidationFailed:
            notice = "That page link is out of date; showing the latest deletions."
            cursor = None
            page = selectors.trash_list(
                actor=actor, filters=filters, cursor=None, limit=TRASH_PAGE_SIZE
            )
    context = {
        "nav": "trash",
        "form": form,
        "rows": [TrashRow(item, can_delete(actor, item.obj)) for item in page.rows],
        "filter_errors": errors,
        "notice": notice,
        "filtered": bool(inputs),
        "filter_inputs": inputs,
        "paged": bool(cursor),
        "next_url": "?" + urlencode({**inputs, "cursor": page.next_cursor})
        if page.next_cursor
        else "",
        "first_url": "?" + urlencode(inputs) if inputs else "?",
        "is_admin": is_admin(actor),
        "retention_days": actor.workspace.trash_retention_days,
        "bulk_limit": services.TRASH_BULK_LIMIT,
    }
    return render(request, "contacts/trash.html", context, status=422 if errors else 200)


def _trash_refs(values: list[str]) -> list[tuple[str, object]]:
    """``person:<id>`` / ``company:<id>`` checkbox values; anything else is ignored."""
    refs: list[tuple[str, object]] = []
    for value in values:
        type_, _, raw = value.partition(":")
        if type_ not in RECORD_URL_NAMES:
            continue
        try:
            refs.append((type_, uuid.UUID(raw)))
        except ValueError:
            continue
    return list(dict.fromkeys(refs))


def _restore_messages(request: HttpRequest, outcomes, *, capped: bool) -> None:
    restored = [o for o in outcomes if o.obj is not None]
    if len(restored) == 1:
        one = restored[0]
        name = one.obj.full_name if one.type == "person" else one.obj.name
        url = reverse(RECORD_URL_NAMES[one.type], args=[one.obj.pk])
        messages.success(request, format_html('Restored <a href="{}">{}</a>.', url, name))
    elif restored:
        messages.success(request, f"Restored {len(restored)} records.")
    clashes = [o for o in outcomes if isinstance(o.error, Duplicate)]
    for o in clashes[:5]:
        url = reverse(RECORD_URL_NAMES[o.type], args=[o.error.existing_id])
        messages.error(
            request,
            format_html(
                'Not restored: {} <a href="{}">Open the existing {}</a>, or change it first.',
                o.error.detail,
                url,
                o.type,
            ),
        )
    if len(clashes) > 5:
        messages.error(request, f"{len(clashes) - 5} more records clash with live ones.")
    denied = [o for o in outcomes if isinstance(o.error, PermissionDenied)]
    if denied:
        messages.error(
            request,
            f"{len(denied)} not restored: {denied[0].error.detail}",  # type: ignore[union-attr]
        )
    gone = [o for o in outcomes if isinstance(o.error, NotFound)]
    if gone:
        messages.info(request, f"{len(gone)} no longer in the trash (restored or purged).")
    if capped:
        messages.info(
            request,
            f"Restored at most {services.TRASH_BULK_LIMIT} records at once: "
            "“Restore all matching” again restores the rest.",
        )


@workspace_required
@require_POST
def trash_restore(request: HttpRequest) -> HttpResponse:
    """Restores the ticked (or one) ``item``, or with ``all`` every record the filters match."""
    actor = request.actor  # type: ignore[attr-defined]
    back = _trash_url(request.POST)
    capped = False
    if request.POST.get("all"):
        try:
            filters = _trash_filters(request, request.POST)
        except ValidationFailed:
            messages.error(request, "These filters could not be applied: nothing was restored.")
            return redirect(back)
        limit = services.TRASH_BULK_LIMIT
        refs = selectors.trash_refs(actor=actor, filters=filters, limit=limit + 1)
        capped, refs = len(refs) > limit, refs[:limit]
    else:
        refs = _trash_refs(request.POST.getlist("item"))
    if not refs:
        messages.error(request, "Nothing to restore: tick the records first.")
        return redirect(back)
    outcomes = services.trash_restore_many(actor=actor, refs=refs, source="ui")
    _restore_messages(request, outcomes, capped=capped)
    return redirect(back)


@workspace_required
@require_POST
def trash_delete(request: HttpRequest) -> HttpResponse:
    """Deletes the ticked (or one) ``item`` for good: owners and admins only."""
    actor = request.actor  # type: ignore[attr-defined]
    back = _trash_url(request.POST)
    refs = _trash_refs(request.POST.getlist("item"))
    if not refs:
        messages.error(request, "Nothing to delete: tick the records first.")
        return redirect(back)
    count = services.trash_delete_forever(actor=actor, refs=refs, source="ui")
    noun = "record" if count == 1 else "records"
    messages.success(request, f"Deleted {count} {noun} for good.")
    return redirect(back)
