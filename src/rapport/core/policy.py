"""Role checks, called by services (never only by views) so every channel obeys them."""

from __future__ import annotations

from .actors import Actor, ActorKind, Role
from .errors import PermissionDenied


def can_write(actor: Actor) -> bool:
    return actor.role.at_least(Role.MEMBER)


def require_write(actor: Actor) -> None:
    if not can_write(actor):
        raise PermissionDenied("Your role is read-only: you cannot change records.")


def owns(actor: Actor, record) -> bool:
    uid = actor.user_id
    return uid is not None and uid in (
        getattr(record, "owner_id", None),
        getattr(record, "created_by_id", None),
    )


def can_delete(actor: Actor, record) -> bool:
    """Managers and up delete anything; members their own records (or any, if allowed)."""
    if actor.kind in (ActorKind.SYSTEM, ActorKind.AUTOMATION):
        return True
    if actor.role.at_least(Role.MANAGER):
        return True
    if actor.role == Role.MEMBER:
        return owns(actor, record) or actor.workspace.members_can_delete_any
    return False


def require_delete(actor: Actor, record) -> None:
    if not can_delete(actor, record):
        raise PermissionDenied(
            "Members may delete only records they own or created; ask a manager or an admin."
        )


def is_admin(actor: Actor) -> bool:
    return actor.role.at_least(Role.ADMIN)


def require_admin(actor: Actor) -> None:
    if not is_admin(actor):
        raise PermissionDenied("Only workspace owners and admins can do this.")
