"""Registered event types (DESIGN rule 4): stable names, never free strings.

Each app registers its own types in its ``events.py``; the audit log and, later, the domain
event outbox accept only registered names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    name: str  # "contact.created"
    label: str  # "Person created"

    def __str__(self) -> str:
        return self.name


_registry: dict[str, EventType] = {}


def register(name: str, label: str) -> EventType:
    if name in _registry and _registry[name].label != label:
        raise ValueError(f"event type {name!r} registered twice with different labels")
    _registry[name] = EventType(name, label)
    return _registry[name]


def get(name: str) -> EventType:
    return _registry[name]


def all_types() -> list[EventType]:
    return sorted(_registry.values(), key=lambda e: e.name)


# Platform-level events owned by no domain app.
USER_LOGGED_IN = register("user.logged_in", "Signed in")
USER_LOGGED_OUT = register("user.logged_out", "Signed out")
USER_LOGIN_FAILED = register("user.login_failed", "Sign-in failed")
USER_PASSWORD_RESET = register("user.password_reset", "Password reset")
WORKSPACE_CREATED = register("workspace.created", "Workspace created")
WORKSPACE_UPDATED = register("workspace.updated", "Workspace settings changed")
TEAM_CREATED = register("team.created", "Team created")
TEAM_UPDATED = register("team.updated", "Team changed")
TEAM_DELETED = register("team.deleted", "Team deleted")
MEMBER_ADDED = register("member.added", "Member added")
MEMBER_ROLE_CHANGED = register("member.role_changed", "Member role changed")
MEMBER_REMOVED = register("member.removed", "Member removed")
INVITATION_SENT = register("invitation.sent", "Invitation sent")
INVITATION_ACCEPTED = register("invitation.accepted", "Invitation accepted")
INVITATION_REVOKED = register("invitation.revoked", "Invitation revoked")
TOKEN_CREATED = register("token.created", "API token created")
TOKEN_REVOKED = register("token.revoked", "API token revoked")
