import re
import uuid
from http import HTTPStatus

from django.conf import settings

from .context import request_id_var
from .problem import problem_response

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Gives every request an id (or keeps a sane incoming X-Request-ID) for logs and audit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = rid
        token = request_id_var.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        return response


class ApiBodyLimitMiddleware:
    """The API's outer guard: refuses bodies over 1 MB with 413 before anything reads them, and
    answers every API error as problem+json, including those Django or Ninja make outside our
    exception handlers (unknown URL 404, 405 for a method a path lacks, a crash's 500)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.API_MAX_BODY_BYTES
        if request.method == "POST" and request.path.rstrip("/") == "/api/v1/imports":
            limit = settings.IMPORT_MAX_BYTES  # a file upload, streamed to disk by Django
        if request.method == "POST" and request.path.rstrip("/") == "/api/v1/attachments":
            # A file upload: its own limit (the service names it), plus the form's fields.
            limit = settings.RAPPORT_ATTACHMENT_MAX_BYTES + 64 * 1024
        if length > limit:
            return problem_response(
                413, "Request body too large", f"The body is {length} bytes; the limit is {limit}."
            )
        response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith(
            "application/problem+json"
        ):
            if settings.DEBUG and response.status_code >= 500:
                return response  # keep Django's debug page for the developer
            response = _as_problem(response, request)
        return response


_DETAILS = {
    404: "No such resource: see /api/v1/docs for the API's paths.",
    405: "This path does not take that method.",
    500: "Something went wrong on our side; the request id identifies it in the logs.",
}


def _as_problem(response, request):
    status = response.status_code
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    detail = _DETAILS.get(status, title)
    if status == 405 and response.get("Allow"):
        detail = f"{detail} Allowed: {response['Allow']}."
    problem = problem_response(status, title, detail)
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            problem[header] = response[header]
    return problem
