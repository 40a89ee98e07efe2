"""The workspace's custom fields in the OpenAPI document.

``/api/v1/openapi.json`` fetched anonymously describes ``custom`` as a free object whose rules
``GET /api/v1/custom-fields`` lists. Fetched with a valid bearer token, the document types
``custom`` of people and companies with the token's workspace's fields (one property per
field, from the type registry's ``json_schema``), so generated clients and validators know
exactly what is allowed. Such a document is private to the workspace: it is never cached.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import wraps
from typing import Any

from django.utils.cache import patch_cache_control, patch_vary_headers

_workspace: ContextVar[Any] = ContextVar("rapport_openapi_workspace", default=None)

COMPONENTS = {
    "ContactIn": ("contacts.person", True),
    "ContactOut": ("contacts.person", False),
    "CompanyIn": ("contacts.company", True),
    "CompanyOut": ("contacts.company", False),
    "DealIn": ("sales.deal", True),
    "DealOut": ("sales.deal", False),
}


def token_workspace(view):
    """The ``docs_decorator`` of the API: remembers the bearer token's workspace, if any."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        workspace = _workspace_of(request)
        reset = _workspace.set(workspace)
        try:
            response = view(request, *args, **kwargs)
        finally:
            _workspace.reset(reset)
        patch_vary_headers(response, ["Authorization"])
        if workspace is not None:
            patch_cache_control(response, private=True, no_store=True)
        return response

    return wrapper


def _workspace_of(request):
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    from rapport.tenancy.services import actor_for
    from rapport.users.services import token_authenticate

    token = token_authenticate(header.removeprefix("Bearer ").strip())
    if token is None:
        return None
    actor = actor_for(token.user, token.workspace)
    return actor.workspace if actor is not None else None


def add_custom_fields(schema: dict) -> dict:
    """Types the ``custom`` property of the record schemas (when a workspace is known)."""
    workspace = _workspace.get()
    if workspace is None:
        return schema
    from .selectors import fields_for

    components = schema.get("components", {}).get("schemas", {})
    for name, (object_type, is_input) in COMPONENTS.items():
        component = components.get(name)
        if not component or "custom" not in component.get("properties", {}):
            continue
        current = component["properties"]["custom"]
        fields = fields_for(workspace, object_type)
        typed: dict[str, Any] = {
            "type": "object",
            "title": "Custom",
            "description": current.get("description", ""),
            "properties": {f.key: f.kind.schema_for(f) for f in fields},
            "additionalProperties": False,
        }
        if is_input:
            required = [f.key for f in fields if f.required]
            if required:
                typed["description"] += f" Required when creating: {', '.join(required)}."
            component["properties"]["custom"] = {"anyOf": [typed, {"type": "null"}]}
        else:
            component["properties"]["custom"] = typed
    return schema
