"""Per-request context that deep layers (audit) need without threading it through every call."""

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("rapport_request_id", default="")


def current_request_id() -> str:
    return request_id_var.get()
