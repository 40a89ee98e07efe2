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

from rapport.core.errors import DomainError, NotFound, PermissionDenied, VersionConflict
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
