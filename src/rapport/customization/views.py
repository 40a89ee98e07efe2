"""Settings → Custom fields: list, define, edit, reorder and delete (with a confirmation page).

Every member sees the definitions; only owners and admins change them (the services check it,
the pages hide the buttons).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.core.errors import (
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    VersionConflict,
)
from rapport.core.policy import is_admin, require_admin
from rapport.ui.views import workspace_required

from . import selectors, services
from .forms import FieldDefinitionForm
from .models import ObjectType


def _actor(request: HttpRequest):
    return request.actor  # type: ignore[attr-defined]


@workspace_required
def field_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    groups = [
        {
            "object_type": value,
            "label": label,
            "fields": selectors.fields_for(actor.workspace, value),
        }
        for value, label in ObjectType.choices
    ]
    return render(
        request,
        "customization/fields.html",
        {
            "nav": "settings",
            "tab": "custom_fields",
            "is_admin": is_admin(actor),
            "groups": groups,
            "any_fields": any(g["fields"] for g in groups),
        },
    )


def _form_page(request: HttpRequest, form: FieldDefinitionForm, *, field=None, status=200):
    return render(
        request,
        "customization/field_form.html",
        {
            "nav": "settings",
            "tab": "custom_fields",
            "is_admin": True,
            "form": form,
            "field": field,
            "title": f"Edit “{field.label}”" if field else "New custom field",
        },
        status=status,
    )


@workspace_required
def field_create(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require_admin(actor)
    initial = {}
    if request.GET.get("object_type") in ObjectType.values:
        initial["object_type"] = request.GET["object_type"]
    form = FieldDefinitionForm(request.POST or None, actor=actor, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            field = services.field_create(actor=actor, data=form.to_data(), source="ui")
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, f"Added the field “{field.label}”.")
            return redirect(reverse("customization:fields") + f"#field-{field.pk}")
    return _form_page(request, form, status=422 if form.errors else 200)


@workspace_required
def field_edit(request: HttpRequest, field_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    field = selectors.field_get(actor=actor, field_id=field_id)
    require_admin(actor)
    form = FieldDefinitionForm(request.POST or None, actor=actor, instance=field)
    if request.method == "POST" and form.is_valid():
        try:
            field = services.field_update(
                actor=actor,
                field_id=field.pk,
                data=form.to_data(),
                expected_version=form.expected_version,
                source="ui",
            )
        except (NotFound, PermissionDenied):
            raise
        except VersionConflict:
            form.add_error(
                None,
                "Someone else changed this field while you were editing it. "
                "Reload the page to see their changes, then make yours again.",
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, f"Saved the field “{field.label}”.")
            return redirect(reverse("customization:fields") + f"#field-{field.pk}")
    return _form_page(request, form, field=field, status=422 if form.errors else 200)


@workspace_required
@require_POST
def field_move(request: HttpRequest, field_id: uuid.UUID) -> HttpResponse:
    direction = -1 if request.POST.get("direction") == "up" else 1
    field = services.field_move(
        actor=_actor(request), field_id=field_id, direction=direction, source="ui"
    )
    return redirect(reverse("customization:fields") + f"#field-{field.pk}")


@workspace_required
def field_delete(request: HttpRequest, field_id: uuid.UUID) -> HttpResponse:
    """GET: the confirmation page (how many records hold a value); POST: delete."""
    actor = _actor(request)
    field = selectors.field_get(actor=actor, field_id=field_id)
    require_admin(actor)
    if request.method == "POST":
        try:
            version = int(request.POST.get("version", ""))
        except ValueError:
            version = None
        try:
            held = services.field_delete(
                actor=actor, field_id=field.pk, expected_version=version, source="ui"
            )
        except VersionConflict:
            messages.error(request, f"“{field.label}” was changed meanwhile: check, then retry.")
            return redirect("customization:field_delete", field.pk)
        removed = f" and its values on {held} record(s)" if held else ""
        messages.success(request, f"Deleted the field “{field.label}”{removed}.")
        return redirect("customization:fields")
    return render(
        request,
        "customization/field_delete.html",
        {
            "nav": "settings",
            "tab": "custom_fields",
            "is_admin": True,
            "field": field,
            "count": selectors.value_count(field),
            "object_label": ObjectType(field.object_type).label.lower(),
        },
    )


# --- saved views ------------------------------------------------------------------------------


# The list page each object type's saved views open on.
LIST_URL_NAMES = {
    "contacts.person": "contacts:person_list",
    "contacts.company": "contacts:company_list",
    "sales.deal": "sales:deal_table",
}
# The main menu item a view editor of each object type marks as the current page.
NAV_ITEMS = {
    "contacts.person": "people",
    "contacts.company": "companies",
    "sales.deal": "deals",
    "sales.lead": "leads",
}


def _list_url(view) -> str:
    from django.urls import reverse

    return f"{reverse(LIST_URL_NAMES[view.object_type])}?view={view.pk}"


@workspace_required
@require_POST
def view_create(request: HttpRequest) -> HttpResponse:
    """ "Save as view" on a list: the list's current filters and sort become the view's."""
    from django.http import QueryDict

    from .catalogue import conditions_from_query
    from .selectors import view_get

    actor = request.actor  # type: ignore[attr-defined]
    object_type = request.POST.get("object_type", "")
    query = QueryDict(request.POST.get("query", "")[:4000])
    items: list = conditions_from_query(query, object_type, actor.workspace)
    base_id = query.get("view")
    if base_id:
        try:
            base = view_get(actor=actor, view_id=uuid.UUID(base_id), object_type=object_type)
        except ValueError:
            base = None
        if base is not None and (base.conditions or {}).get("items"):
            items = [base.conditions, *items]
    data = {
        "object_type": object_type,
        "name": request.POST.get("name", ""),
        "shared": request.POST.get("shared") == "on",
        "pinned": request.POST.get("pinned") == "on",
        "conditions": {"op": "and", "items": items},
    }
    if query.get("sort"):
        data["sort"] = query["sort"]
    try:
        view = services.view_create(actor=actor, data=data, source="ui")
    except ValidationFailed as exc:
        messages.error(request, "The view was not saved: " + exc.detail)
        back = reverse(LIST_URL_NAMES.get(object_type, "contacts:company_list"))
        return redirect(back + ("?" + query.urlencode() if query else ""))
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(_list_url(view))


BUILDER_ID = "condition-builder"


@workspace_required
def view_edit(request: HttpRequest, view_id: uuid.UUID) -> HttpResponse:
    """A view's name, sharing, pin, sort, page size, conditions (a builder of plain form rows:
    add/remove conditions and groups; htmx swaps only the builder) and columns (checkboxes and
    their order)."""
    from rapport.tenancy.selectors import member_choices
    from rapport.ui.views import htmx_target

    from . import builder
    from .catalogue import DEFAULT_COLUMNS, catalogue, columns, sorts
    from .conditions import count_conditions
    from .selectors import view_get

    actor = request.actor  # type: ignore[attr-defined]
    view = view_get(actor=actor, view_id=view_id)
    if not services.can_change_view(actor, view):
        raise PermissionDenied("Only the view's owner or an admin can change a shared view.")
    known = columns(actor.workspace, view.object_type)
    fields = catalogue(actor.workspace, view.object_type)
    chosen = list(view.columns or DEFAULT_COLUMNS.get(view.object_type, ()))
    tree = view.conditions if (view.conditions or {}).get("items") else {"op": "and", "items": []}
    errors: dict[str, str] = {}
    condition_errors: dict[str, str] = {}
    values = {
        "name": view.name,
        "shared": view.shared,
        "pinned": view.pinned,
        "sort": view.sort,
        "page_size": view.page_size,
    }
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "delete":
            services.view_delete(actor=actor, view_id=view.pk, source="ui")
            messages.success(request, f"Deleted the view “{view.name}”.")
            return redirect(_list_url(view).split("?")[0])
        tree = builder.tree_from_post(request.POST)
        # Ordered by the numbers typed; on a tie the column just moved there goes first.
        before = {key: i + 1 for i, key in enumerate(chosen)}
        picked = []
        for index, key in enumerate(known):
            if request.POST.get(f"col-{key}") == "on":
                order = _int(request.POST.get(f"pos-{key}")) or 1000 + index
                picked.append((order, before.get(key) == order, index, key))
        chosen = [key for *_, key in sorted(picked)]
        values = {
            "name": request.POST.get("name", ""),
            "shared": request.POST.get("shared") == "on",
            "pinned": request.POST.get("pinned") == "on",
            "sort": request.POST.get("sort", ""),
            "page_size": _int(request.POST.get("page_size")),
        }
        if action != "save":
            tree = builder.apply_action(tree, action, next(iter(fields), ""))
        else:
            data = {**values, "columns": chosen, "conditions": tree}
            if values["page_size"] is None:
                errors["page_size"] = "Must be a whole number."
            else:
                try:
                    view = services.view_update(
                        actor=actor,
                        view_id=view.pk,
                        data=data,
                        source="ui",
                        expected_version=_int(request.POST.get("version")),
                    )
                except ValidationFailed as exc:
                    condition_errors = builder.error_paths(exc.errors)
                    errors = {
                        e.field.split(".")[0]: e.message
                        for e in exc.errors
                        if not e.field.startswith("conditions.")
                    }
                except VersionConflict:
                    errors["__all__"] = "Someone changed this view meanwhile: reload it first."
                else:
                    messages.success(request, f"Saved the view “{view.name}”.")
                    return redirect(_list_url(view))
    position = {key: i + 1 for i, key in enumerate(chosen)}
    rows = sorted(
        (
            {"column": c, "on": c.key in position, "pos": position.get(c.key, "")}
            for c in known.values()
        ),
        key=lambda r: (not r["on"], r["pos"] or 0),
    )
    sort_options = [
        *(("-" + s, f"{s.replace('_', ' ')} (descending)") for s in sorts(view.object_type)),
        *((s, s.replace("_", " ")) for s in sorts(view.object_type)),
        *((c.sort, c.label) for c in known.values() if c.sort.startswith("custom.")),
        *(
            ("-" + c.sort, f"{c.label} (descending)")
            for c in known.values()
            if c.sort.startswith("custom.")
        ),
    ]
    members = [(str(pk), name) for pk, name in member_choices(workspace=actor.workspace)]
    context = {
        "view": view,
        "values": values,
        "rows": rows,
        "errors": errors,
        "condition_errors": condition_errors,
        "sort_options": sort_options,
        "list_url": _list_url(view),
        "fields": [(f.key, f.label) for f in fields.values()],
        "entries": builder.entries(tree, fields, condition_errors, members),
        "condition_count": count_conditions(tree),
        "builder_id": BUILDER_ID,
        "nav": NAV_ITEMS.get(view.object_type, ""),
    }
    if htmx_target(request) == BUILDER_ID:
        return render(request, "customization/partials/condition_builder.html", context)
    return render(request, "customization/view_form.html", context)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
