"""Shared pieces of every API router: auth, problem+json errors, ETags, idempotency, lists."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import orjson
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from ninja import Schema
from ninja.security import HttpBearer
from ninja.throttling import AuthRateThrottle
from pydantic import ConfigDict

from .actors import Actor, ActorKind
from .errors import FieldError, ValidationFailed
from .models import IdempotencyRecord
from .pagination import Page
from .problem import problem_response


class StrictSchema(Schema):
    """Input schemas refuse unknown fields (a typo must not be silently dropped)."""

    model_config = ConfigDict(extra="forbid")


class ProblemField(Schema):
    field: str
    message: str


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemField]
    existing_id: str | None = None
    current_version: int | None = None


# Responses every authenticated operation may give.
COMMON_ERRORS: dict[int, Any] = {
    400: Problem,
    401: Problem,
    403: Problem,
    404: Problem,
    422: Problem,
    429: Problem,
}
WRITE_ERRORS: dict[int, Any] = {**COMMON_ERRORS, 409: Problem, 412: Problem, 413: Problem}


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``: the token names one user in one workspace."""

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        from rapport.tenancy.services import actor_for
        from rapport.users.services import token_authenticate

        api_token = token_authenticate(token)
        if api_token is None:
            return None
        actor = actor_for(
            api_token.user, api_token.workspace, kind=ActorKind.TOKEN, token=api_token
        )
        if actor is not None:
            from rapport.tenancy.rls import bind_workspace

            request.actor = actor  # type: ignore[attr-defined]
            request.rls_bound = bind_workspace(actor.workspace.pk)  # type: ignore[attr-defined]
        return actor


class TokenRateThrottle(AuthRateThrottle):
    """Counts requests per API token (not per the actor's text, which changes with its role)."""

    def get_cache_key(self, request: HttpRequest) -> str:
        actor = getattr(request, "auth", None)
        if isinstance(actor, Actor):
            ident = str(actor.token_id or actor.user_id)
        else:
            ident = self.get_ident(request) or "anonymous"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def actor_of(request: HttpRequest) -> Actor:
    return request.auth  # type: ignore[attr-defined,return-value]


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    response = HttpResponse(orjson.dumps(data), status=status, content_type="application/json")
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def dump(schema: type[Schema], obj) -> dict:
    return schema.from_orm(obj).model_dump(mode="json")


def record_response(
    schema: type[Schema], obj, status: int = 200, location: str = ""
) -> HttpResponse:
    headers = {"ETag": etag(obj.version)}
    if location:
        headers["Location"] = location
    return json_response(dump(schema, obj), status=status, headers=headers)


def list_response(schema: type[Schema], page: Page) -> HttpResponse:
    return json_response(
        {"results": [dump(schema, row) for row in page.rows], "next": page.next_cursor}
    )


def etag(version: int) -> str:
    return f'"{version}"'


def if_match_version(request: HttpRequest) -> int | None:
    """The version an If-Match header names (None when absent or ``*``)."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    value = header.removeprefix("W/").strip('"')
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed.one("If-Match", 'Send the ETag you read, e.g. If-Match: "3".')


def idempotent(request: HttpRequest, create: Callable[[], HttpResponse]) -> HttpResponse:
    """Runs ``create`` once per Idempotency-Key; a retry gets the first answer back."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return create()
    if len(key) > 255:
        raise ValidationFailed.one("Idempotency-Key", "Use at most 255 characters.")
    actor = actor_of(request)
    digest = hashlib.sha256(
        (request.method or "").encode() + request.path.encode() + request.body
    ).hexdigest()
    lookup = {"workspace": actor.workspace, "user": actor.user, "key": key}

    def replay(rec: IdempotencyRecord) -> HttpResponse:
        if rec.request_hash != digest or rec.path != request.path:
            raise ValidationFailed(
                "This Idempotency-Key was already used for a different request.",
                [FieldError("Idempotency-Key", "Already used for a different request.")],
            )
        response = HttpResponse(bytes(rec.body), status=rec.status, content_type="application/json")
        for name, value in rec.headers.items():
            response[name] = value
        response["Idempotent-Replayed"] = "true"
        return response

    existing = IdempotencyRecord.objects.filter(**lookup).first()
    if existing is not None:
        return replay(existing)
    try:
        with transaction.atomic():
            response = create()
            if 200 <= response.status_code < 300:
                IdempotencyRecord.objects.create(
                    **lookup,
                    method=request.method or "POST",
                    path=request.path,
                    request_hash=digest,
                    status=response.status_code,
                    body=response.content,
                    headers={h: response[h] for h in ("Location", "ETag") if h in response},
                )
    except IntegrityError:
        # A concurrent retry won the race: its record is the answer, our create rolled back.
        existing = IdempotencyRecord.objects.filter(**lookup).first()
        if existing is None:
            raise
        return replay(existing)
    return response


def field_from_loc(loc: tuple | list) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        source = parts[0]
        parts = parts[1:]
        if source == "body" and parts and parts[0] == "payload":
            parts = parts[1:]
        if source == "query" and parts and parts[0] == "filters":
            parts = parts[1:]
    return ".".join(parts) or "body"


def validation_problem(errors: list[dict]) -> HttpResponse:
    fields = []
    for err in errors:
        field = field_from_loc(err.get("loc", ()))
        message = err.get("msg", "Invalid value.")
        if err.get("type") == "extra_forbidden":
            message = "Unknown field."
        fields.append(FieldError(field, message))
    detail = "; ".join(f"{f.field}: {f.message}" for f in fields)
    return problem_response(422, "Invalid input", detail, fields)
