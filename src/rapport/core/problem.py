"""RFC 9457 problem details, the one error shape of the API."""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from django.http import HttpResponse

from .errors import FieldError

PROBLEM_TYPES = {
    400: "malformed",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    422: "invalid",
    428: "precondition-required",
    429: "rate-limited",
}


def problem_body(
    status: int,
    title: str,
    detail: str = "",
    errors: Iterable[FieldError] = (),
    **extra,
) -> dict:
    body = {
        "type": f"https://rapport.dev/problems/{PROBLEM_TYPES.get(status, 'error')}",
        "title": title,
        "status": status,
        "detail": detail or title,
        "errors": [{"field": e.field, "message": e.message} for e in errors],
    }
    body.update(extra)
    return body


def problem_response(status: int, title: str, detail: str = "", errors=(), **extra) -> HttpResponse:
    return HttpResponse(
        orjson.dumps(problem_body(status, title, detail, errors, **extra)),
        status=status,
        content_type="application/problem+json",
    )
