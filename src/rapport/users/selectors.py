"""Reads of users and API tokens."""

from __future__ import annotations

from django.db.models import F

from rapport.core.actors import Actor
from rapport.core.policy import require_admin

from .models import ApiToken, User


def user_by_email(email: str) -> User | None:
    """The user with this address (case-insensitive), active or not; None when unknown."""
    email = (email or "").strip()
    if not email or len(email) > 254:
        return None
    return User.objects.filter(email__iexact=email).first()


def token_list(*, actor: Actor) -> list[ApiToken]:
    """Every API token of the workspace, active ones first, newest first
    (owners and admins only)."""
    require_admin(actor)
    return list(
        ApiToken.objects.filter(workspace=actor.workspace)
        .select_related("user")
        .order_by(F("revoked_at").desc(nulls_first=True), "-created_at")
    )
