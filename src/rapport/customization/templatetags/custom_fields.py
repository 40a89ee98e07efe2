"""Custom field values on pages: ``{% load custom_fields %}``.

The definitions are read once per request and object type (memoised on the request), so a list
page costs one query for its custom columns however many rows it shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from rapport.ui.views import Column

from ..models import CustomField
from ..selectors import fields_for

register = template.Library()

EXTERNAL = {"url"}
LINKS = {"url": "", "email": "mailto:", "phone": "tel:"}


@dataclass(frozen=True)
class ShownValue:
    label: str
    text: str
    href: str = ""
    external: bool = False
    wide: bool = False
    num: bool = False


def _memo(context) -> dict:
    """A dict kept on the request (a new one per request: definitions can change between)."""
    request = context.get("request")
    if request is None:
        return {}
    memo = getattr(request, "_custom_fields_memo", None)
    if memo is None:
        memo = request._custom_fields_memo = {}
    return memo


def definitions(context, workspace_id, object_type: str) -> list[CustomField]:
    memo = _memo(context)
    key = (str(workspace_id), object_type)
    if key not in memo:
        memo[key] = fields_for(workspace_id, object_type)
    return memo[key]


def _member_names(context, workspace_id) -> dict[str, str]:
    from rapport.tenancy.selectors import member_choices

    memo = _memo(context)
    key = ("members", str(workspace_id))
    if key not in memo:
        memo[key] = dict(member_choices(workspace=workspace_id))
    return memo[key]


def shown(context, field: CustomField, value) -> ShownValue:
    kind = field.kind
    if value is None:
        return ShownValue(field.label, "", wide=kind.name == "long_text")
    if kind.name == "user":
        text = _member_names(context, field.workspace_id).get(str(value), "(former member)")
    else:
        text = kind.display(value, field)
    href = ""
    if kind.name in LINKS:
        href = LINKS[kind.name] + str(value)
    return ShownValue(
        field.label,
        text,
        href=href,
        external=kind.name in EXTERNAL,
        wide=kind.name == "long_text",
        num=kind.name in ("number", "decimal", "currency"),
    )


@register.simple_tag(takes_context=True)
def custom_values(context, obj) -> list[ShownValue]:
    """Every custom field of ``obj``'s type with its value (blank ones too, as a dash)."""
    fields = definitions(context, obj.workspace_id, obj._meta.label_lower)
    custom = obj.custom or {}
    return [shown(context, f, custom.get(f.key)) for f in fields]


@register.simple_tag(takes_context=True)
def custom_cells(context, obj) -> list[ShownValue]:
    """The list columns (fields shown in the list) of one row."""
    fields = definitions(context, obj.workspace_id, obj._meta.label_lower)
    custom = obj.custom or {}
    return [shown(context, f, custom.get(f.key)) for f in fields if f.show_in_list]


@register.simple_tag(takes_context=True)
def custom_list_columns(context, spec) -> list[Column]:
    """Header cells of a list's custom columns (sortable ones link to their sort)."""
    object_type = getattr(spec.filters, "object_type", "")
    actor = context.get("actor") or getattr(context.get("request"), "actor", None)
    if not object_type or actor is None:
        return []
    fields = definitions(context, actor.workspace.pk, object_type)
    return [
        Column(
            f.label,
            sort=f.param if f.kind.sortable else "",
            css="num" if f.kind.name in ("number", "decimal", "currency") else "",
        )
        for f in fields
        if f.show_in_list
    ]


# --- saved views' columns -------------------------------------------------------------------------


@register.simple_tag(takes_context=True)
def view_columns(context, view) -> list:
    """The header cells of a saved view's columns, in its order (unknown ones are skipped)."""
    from ..catalogue import columns

    memo = _memo(context)
    key = ("view_columns", str(view.pk), view.version)
    if key not in memo:
        known = columns(view.workspace_id, view.object_type)
        memo[key] = [known[k] for k in view.columns if k in known]
    return memo[key]


@register.simple_tag(takes_context=True)
def custom_cell(context, obj, key: str) -> ShownValue | None:
    """One custom field's cell of a row (``key`` is ``custom.<key>``)."""
    fields = definitions(context, obj.workspace_id, obj._meta.label_lower)
    for field in fields:
        if field.param == key:
            return shown(context, field, (obj.custom or {}).get(field.key))
    return None


PLAIN_COLUMNS = frozenset(
    {
        "title",
        "source",
        "city",
        "region",
        "postal_code",
        "country",
        "external_id",
        "domain",
        "industry",
    }
)


@register.simple_tag
def view_attr(obj, key: str) -> str:
    """A plain text column of a saved view's row."""
    return str(getattr(obj, key, "") or "") if key in PLAIN_COLUMNS else ""


@register.simple_tag(takes_context=True)
def saved_views_for(context, spec) -> list:
    """The saved views of a list's record type the user can see (one query)."""
    from ..selectors import saved_views

    actor = context.get("actor") or getattr(context.get("request"), "actor", None)
    object_type = getattr(spec.filters, "object_type", "")
    if actor is None or not object_type:
        return []
    return list(
        saved_views(actor)
        .filter(object_type=object_type)
        .only("id", "name", "shared", "object_type")
        .order_by("name", "id")[:50]
    )


@register.simple_tag(takes_context=True)
def can_change_view(context, view) -> bool:
    from ..services import can_change_view as allowed

    actor = context.get("actor") or getattr(context.get("request"), "actor", None)
    return actor is not None and allowed(actor, view)
