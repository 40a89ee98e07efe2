"""Per-request context that deep layers (audit) need without threading it through every call."""

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("rapport_request_id", default="")


def current_request_id() -> str:
    return request_id_var.get()


# --- batch memo ---------------------------------------------------------------------------------
# Imports and bulk work validate thousands of rows through the same cleaners as a single write.
# Inside ``batch_scope()`` the cleaners' reference look-ups (is this user a member? is this
# company visible? which custom fields exist?) are asked once per batch instead of once per row.
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from typing import Any, TypeVar  # noqa: E402

T = TypeVar("T")
_batch_memo: ContextVar[dict | None] = ContextVar("rapport_batch_memo", default=None)


@contextmanager
def batch_scope() -> Iterator[None]:
    token = _batch_memo.set({})
    try:
        yield
    finally:
        _batch_memo.reset(token)


def memo(key: Any, compute: Callable[[], T]) -> T:
    """``compute()``, remembered for the rest of the current batch (not memoised outside one)."""
    cache = _batch_memo.get()
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def remember(key: Any, value: Any) -> None:
    """Seeds the current batch's memo with an answer already known (no-op outside a batch)."""
    cache = _batch_memo.get()
    if cache is not None:
        cache[key] = value


_MISSING = object()


def recall(key: Any, default: Any = None) -> Any:
    """What the current batch remembered under ``key`` (``default`` outside a batch or when
    nothing was remembered): a look-up that never computes."""
    cache = _batch_memo.get()
    if cache is None:
        return default
    value = cache.get(key, _MISSING)
    return default if value is _MISSING else value
