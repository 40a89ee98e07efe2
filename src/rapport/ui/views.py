"""The UI's shared view machinery: sign-in guard, htmx helpers, list/form/record pages.

App views (contacts, later deals and tickets) stay thin: they parse the request, call their
selectors and services, and hand the result to ``list_page``, ``form_page`` or ``record_page``,
which own the rendering conventions (partials for htmx, errors on fields, 404/403 mapping).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from rapport.audit import events as audit_events
from rapport.audit.selectors import record_history
from rapport.contacts import selectors as contact_selectors
from rapport.contacts.filters import COMPANY_SORTS, PERSON_SORTS, CompanyFilters, PersonFilters
from rapport.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from rapport.core.pagination import Page, parse_sort
from rapport.core.policy import can_write

# --- guard --------------------------------------------------------------------------------


def workspace_required(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Signed in *and* acting in a workspace; domain errors become 404 / a 403 page.

    Anonymous visitors go to the login page. A signed-in user who belongs to no workspace
    gets a page saying so (sending them to the login page again would loop). The view runs in
    the user's time zone, so every time on the page is local to them.
    """

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if getattr(request, "actor", None) is None:
            return render(request, "ui/no_workspace.html", status=403)
        try:
            with timezone.override(_user_zone(request.user)):
                return view(request, *args, **kwargs)
        except NotFound:
            raise Http404("Not found")  # missing and forbidden look the same
        except PermissionDenied as exc:
            return denied(request, exc)

    return wrapper


def denied(request: HttpRequest, exc: PermissionDenied | str) -> HttpResponse:
    """The 403 page: what the role may not do, and who can change the role."""
    message = exc if isinstance(exc, str) else exc.detail
    return render(request, "ui/403.html", {"message": message}, status=403)


def _user_zone(user) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(getattr(user, "time_zone", "") or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


# --- htmx ---------------------------------------------------------------------------------


def htmx_target(request: HttpRequest) -> str:
    """The id of the element an htmx request will swap ("" for a full page load).

    A history-restore request asks for the whole page even though htmx sends it.
    """
    if request.headers.get("HX-Request") != "true":
        return ""
    if request.headers.get("HX-History-Restore-Request") == "true":
        return ""
    return request.headers.get("HX-Target", "")


def _vary(response: HttpResponse) -> HttpResponse:
    # The same URL answers a page or a fragment: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


# --- list pages ---------------------------------------------------------------------------

RESULTS_ID = "list-results"


@dataclass(frozen=True)
class Column:
    label: str
    sort: str = ""  # the sort field this header orders by ("" when not sortable)
    descending_first: bool = False  # dates sort newest first on the first click
    css: str = ""


@dataclass(frozen=True)
class ListSpec:
    """What one list page shows. The app declares it once; ``list_page`` renders it."""

    title: str
    template: str  # the full page, usually ui/list.html
    row_template: str  # one <tr> per record, given ``obj``
    columns: tuple[Column, ...]
    filters: Any  # a FilterSet class with ``from_querydict`` and ``model_fields``
    sorts: tuple[str, ...]
    default_sort: str
    select: Callable[..., Page]  # selector(actor=, filters=, sort=, cursor=, limit=, ...)
    filter_form: Any  # form class taking (data, actor=, default_sort=)
    empty_text: str
    empty_filtered_text: str
    extra_filters: str = ""  # a template with filters the form cannot render by itself
    add_url_name: str = ""
    add_label: str = ""
    nav: str = ""
    page_size: int = 50
    export_type: str = ""  # "person" / "company": offers import and export of this list


@dataclass(frozen=True)
class FilterError:
    label: str
    message: str


def _label(form, name: str) -> str:
    if name == "__all__":
        return "Filters"
    label = form.fields[name].label if name in form.fields else None
    return str(label or name.replace("_", " ").capitalize())


def _list_sort(actor, spec: ListSpec, value: str | None):
    """The list's sort; lists of records with custom fields also sort by ``custom.<key>``."""
    object_type = getattr(spec.filters, "object_type", "")
    if not object_type:
        return parse_sort(value, spec.sorts, spec.default_sort)
    from rapport.customization.filters import parse_record_sort

    return parse_record_sort(
        value, spec.sorts, spec.default_sort, workspace=actor.workspace, object_type=object_type
    )


def list_page(request: HttpRequest, spec: ListSpec, **context) -> HttpResponse:
    """A filterable, sortable, keyset-paginated table.

    Bad filter input is shown as a message next to the form, never a 500. An htmx request
    aimed at the results answers only the results (plus the sort control, out of band).
    """
    actor = request.actor  # type: ignore[attr-defined]
    # The form binds request.GET and may fill in what the user meant (a company picked by
    # name); the FilterSet then parses its data, and is the one judge of what is valid.
    form = spec.filter_form(request.GET, actor=actor, default_sort=spec.default_sort)
    sort = parse_sort(spec.default_sort, spec.sorts, spec.default_sort)
    page = Page(rows=[], next_cursor=None)
    errors: list[FilterError] = []
    if not form.is_valid():  # e.g. a company typed by a name no company has
        errors = [
            FilterError(_label(form, name), message)
            for name, field_errors in form.errors.items()
            for message in field_errors
        ]
    saved_view = None
    if not errors:
        try:
            filters = spec.filters.from_querydict(form.query())
            # ?view=<id>: a saved view's conditions (in the filters), sort, page size, columns
            saved_view = filters.saved_view(actor) if hasattr(filters, "saved_view") else None
            if saved_view is not None and saved_view.sort and not request.GET.get("sort"):
                form.data["sort"] = saved_view.sort  # the form filled in the list's default
            sort = _list_sort(actor, spec, form.data.get("sort"))
            page = spec.select(
                actor=actor,
                filters=filters,
                sort=sort,
                cursor=form.data.get("cursor") or None,
                limit=saved_view.page_size if saved_view is not None else spec.page_size,
                for_display=True,
            )
        except ValidationFailed as exc:
            for err in exc.errors:
                name = err.field.split(".")[0]
                if err.field.startswith("custom."):  # its input: custom.<key> or custom.<key>__gte
                    name = next((n for n in form.fields if n.startswith(err.field)), err.field)
                if name in form.fields:
                    form.add_error(name, err.message)
                errors.append(FilterError(_label(form, name), err.message))
    filtered = any(
        value.strip()
        for key, value in form.data.items()
        if (key in spec.filters.model_fields and key != "view") or key.startswith("custom.")
    )
    ctx = {
        "spec": spec,
        "nav": spec.nav,
        "saved_view": saved_view,
        "view_filtered": bool(saved_view and (saved_view.conditions or {}).get("items")),
        "clear_url": f"{request.path}?view={saved_view.pk}" if saved_view else request.path,
        "page": page,
        "sort": sort,
        "filter_form": form,
        "filter_errors": errors,
        "filtered": filtered,
        "paged": bool(request.GET.get("cursor")),
        "can_write": can_write(actor),
        # Rows can be ticked for bulk work on lists that offer it, by members who may write.
        "bulk": bool(spec.export_type) and can_write(actor),
        "results_id": RESULTS_ID,
        **context,
    }
    if htmx_target(request) == RESULTS_ID:
        return _vary(render(request, "ui/partials/list_results.html", {**ctx, "partial": True}))
    return _vary(render(request, spec.template, ctx))


# --- forms --------------------------------------------------------------------------------


def form_page(
    request: HttpRequest,
    *,
    form,
    save: Callable[[dict], Any],
    template: str,
    success: Callable[[Any], str],
    message: Callable[[Any], str],
    **context,
) -> HttpResponse:
    """Shows ``form``; on a valid POST hands ``form.to_data()`` to ``save`` (a service call).

    The service is the judge of the input: its field errors are put next to the fields and
    nothing is saved. On success the browser is redirected (POST/redirect/GET) to
    ``success(obj)`` with ``message(obj)`` flashed.
    """
    if request.method == "POST" and form.is_valid():
        try:
            obj = save(form.to_data())
        except (NotFound, PermissionDenied):
            raise  # workspace_required answers 404 / the 403 page
        except DomainError as exc:  # ValidationFailed, Duplicate, VersionConflict
            form.add_domain_error(exc)
        else:
            messages.success(request, message(obj))
            return redirect(success(obj))
    return render(request, template, {**context, "form": form})


# --- record pages -------------------------------------------------------------------------

TABS_ID = "record-tabs"
HISTORY_MORE_ID = "history-more"


def record_page(request: HttpRequest, *, template: str, tab: str, **context) -> HttpResponse:
    """A record page with tabs. A tab link fetched by htmx gets only the tab strip and panel;
    the "older changes" button only the next history entries; anything else the whole page."""
    context = {"tab": tab, "tabs_id": TABS_ID, "history_more_id": HISTORY_MORE_ID, **context}
    target = htmx_target(request)
    if target == HISTORY_MORE_ID:
        return _vary(render(request, "ui/partials/history_entries.html", context))
    if target == TABS_ID:
        return _vary(render(request, "ui/partials/record_tabs.html", context))
    return _vary(render(request, template, context))


@dataclass(frozen=True)
class Change:
    field: str  # the change log's name: "title", "address.city"
    label: str
    before: Any
    after: Any


@dataclass(frozen=True)
class HistoryItem:
    entry: Any
    action: str
    changes: list[Change]

    @property
    def is_creation(self) -> bool:
        """A record's first entry shows its values, not a before/after table."""
        return self.entry.action.endswith(".created")


@dataclass(frozen=True)
class History:
    items: list[HistoryItem]
    next_cursor: str | None
    error: str = ""


Resolver = Callable[[set[str]], dict[str, str]]


def history_for(
    request: HttpRequest,
    obj,
    *,
    labels: Mapping[str, str],
    resolvers: Mapping[str, Resolver] | None = None,
    limit: int = 20,
) -> History:
    """One page of ``obj``'s change log, ready to show: field labels, ids turned into names.

    ``labels`` names fields ("address.city" → "City"); ``resolvers`` turn the ids stored for a
    field (owner_id, company_id) into names, one query per field for the whole page.
    """
    try:
        page = record_history(
            actor=request.actor,  # type: ignore[attr-defined]
            obj=obj,
            cursor=request.GET.get("cursor") or None,
            limit=limit,
        )
    except ValidationFailed:
        return History(items=[], next_cursor=None, error="This link to older changes expired.")
    resolvers = resolvers or {}
    wanted: dict[str, set[str]] = {name: set() for name in resolvers}
    for entry in page.rows:
        for name, change in entry.changes.items():
            if name in wanted:
                wanted[name].update(
                    str(v) for v in (change.get("before"), change.get("after")) if v
                )
    names = {name: resolvers[name](ids) if ids else {} for name, ids in wanted.items()}

    def show(name: str, value):
        if name in names and value:
            return names[name].get(str(value), "(no longer available)")
        return value

    # Changes are listed in the order the labels (the form) give the fields.
    position = {name: i for i, name in enumerate(labels)}
    items = []
    for entry in page.rows:
        changes: list[Change] = []
        for name, change in sorted(entry.changes.items()):
            before, after = change.get("before"), change.get("after")
            if isinstance(before, dict) or isinstance(after, dict):
                # A nested value (the address) is shown part by part.
                before, after = before or {}, after or {}
                for part in sorted(set(before) | set(after)):
                    if before.get(part) != after.get(part) and (
                        before.get(part) or after.get(part)
                    ):
                        key = f"{name}.{part}"
                        label = labels.get(key, part.replace("_", " ").capitalize())
                        changes.append(Change(key, label, before.get(part), after.get(part)))
                continue
            if _blank(before) and _blank(after):
                continue
            label = labels.get(name) or name.removesuffix("_id").replace("_", " ").capitalize()
            changes.append(Change(name, label, show(name, before), show(name, after)))
        changes.sort(key=lambda c: position.get(c.field, len(position)))
        items.append(HistoryItem(entry, _event_label(entry.action), changes))
    return History(items=items, next_cursor=page.next_cursor)


def _blank(value) -> bool:
    return value in (None, "", [], {})


def _event_label(name: str) -> str:
    try:
        return audit_events.get(name).label
    except KeyError:
        return name


# --- home ---------------------------------------------------------------------------------

RECENT = 10


@dataclass(frozen=True)
class RecentRecord:
    kind: str  # "person" | "company"
    obj: Any


@workspace_required
def home(request: HttpRequest) -> HttpResponse:
    """The workspace at a glance: how many records, and the ones touched most recently."""
    actor = request.actor  # type: ignore[attr-defined]
    people = contact_selectors.person_list(
        actor=actor,
        filters=PersonFilters.model_validate({}),
        sort=parse_sort("-updated_at", PERSON_SORTS, "-updated_at"),
        cursor=None,
        limit=RECENT,
        for_display=True,
    )
    companies = contact_selectors.company_list(
        actor=actor,
        filters=CompanyFilters.model_validate({}),
        sort=parse_sort("-updated_at", COMPANY_SORTS, "-updated_at"),
        cursor=None,
        limit=RECENT,
        for_display=True,
    )
    recent = sorted(
        [RecentRecord("person", p) for p in people.rows]
        + [RecentRecord("company", c) for c in companies.rows],
        key=lambda r: r.obj.updated_at,
        reverse=True,
    )[:RECENT]
    return render(
        request,
        "ui/home.html",
        {
            "nav": "home",
            "people_count": contact_selectors.people(actor).count(),
            "company_count": contact_selectors.companies(actor).count(),
            "recent": recent,
            "can_write": can_write(actor),
        },
    )
