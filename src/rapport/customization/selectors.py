"""Reads of custom field definitions. Every query starts from ``visible_to`` or the workspace."""

from __future__ import annotations

from django.apps import apps
from django.db.models import Q, QuerySet

from rapport.core.actors import Actor
from rapport.core.context import memo
from rapport.core.errors import NotFound
from rapport.core.pagination import Page, Sort, keyset_page

from .models import CustomField, ObjectType, SavedView

OBJECT_TYPES = tuple(ObjectType.values)


def fields_for(workspace, object_type: str) -> list[CustomField]:
    """The live definitions of ``object_type`` in ``workspace``, in their order (one query).

    The one read the write path, forms, imports and exports share.
    """
    if workspace is None or object_type not in OBJECT_TYPES:
        return []
    workspace_id = getattr(workspace, "pk", workspace)

    def read() -> list[CustomField]:
        return list(
            CustomField.objects.filter(
                workspace_id=workspace_id, object_type=object_type, deleted_at__isnull=True
            ).order_by("position", "created_at", "id")
        )

    # Inside a batch (imports) the definitions are read once, not once per row.
    return memo(("custom_fields", str(workspace_id), object_type), read)


def field_map(workspace, object_type: str) -> dict[str, CustomField]:
    return {f.key: f for f in fields_for(workspace, object_type)}


def custom_fields(actor: Actor) -> QuerySet[CustomField]:
    return CustomField.objects.visible_to(actor)


def field_list(
    *, actor: Actor, object_type: str | None, sort: Sort, cursor: str | None, limit: int
) -> Page:
    qs = custom_fields(actor)
    if object_type:
        qs = qs.filter(object_type=object_type)
    return keyset_page(qs, sort=sort, cursor=cursor, limit=limit)


def field_get(*, actor: Actor, field_id) -> CustomField:
    field = custom_fields(actor).filter(pk=field_id).first()
    if field is None:
        raise NotFound("No such custom field.")
    return field


def records_with_value(workspace, object_type: str, key: str, *, live_only: bool = True):
    """The records of ``workspace`` holding a value for ``key`` (trashed ones too if asked)."""
    model = apps.get_model(object_type)
    qs = model.objects.filter(workspace=workspace, custom__has_key=key)
    if live_only and hasattr(model, "deleted_at"):
        qs = qs.filter(deleted_at__isnull=True)
    return qs


def value_count(field: CustomField) -> int:
    """How many live records hold a value for ``field`` (the delete confirmation says it)."""
    return records_with_value(field.workspace_id, field.object_type, field.key).count()


# --- saved views ------------------------------------------------------------------------------


def saved_views(actor: Actor) -> QuerySet[SavedView]:
    """The views ``actor`` may see: the workspace's shared ones and their own private ones."""
    mine = Q(owner_id=actor.user_id) if actor.user_id is not None else Q(pk__in=[])
    return SavedView.objects.visible_to(actor).filter(Q(shared=True) | mine)


def view_list(
    *, actor: Actor, object_type: str | None, sort: Sort, cursor: str | None, limit: int
) -> Page:
    qs = saved_views(actor)
    if object_type:
        qs = qs.filter(object_type=object_type)
    return keyset_page(qs, sort=sort, cursor=cursor, limit=limit)


def view_get(*, actor: Actor, view_id, object_type: str | None = None) -> SavedView:
    qs = saved_views(actor)
    if object_type:
        qs = qs.filter(object_type=object_type)
    view = qs.filter(pk=view_id).first()
    if view is None:
        raise NotFound("No such saved view.")
    return view


def pinned_views(actor: Actor, *, limit: int = 20) -> list[SavedView]:
    """The pinned views the main navigation lists (one query)."""
    return list(
        saved_views(actor)
        .filter(pinned=True)
        .only("id", "name", "object_type", "shared")
        .order_by("object_type", "name", "id")[:limit]
    )


def view_conditions_q(*, actor: Actor, view: SavedView):
    """The view's conditions as a ``Q`` for its record type, compiled for ``actor``."""
    from .catalogue import catalogue
    from .conditions import Context, compile_conditions

    _, q = compile_conditions(
        view.conditions,
        catalogue(actor.workspace, view.object_type),
        Context(workspace=actor.workspace, user_id=actor.user_id),
    )
    return q
