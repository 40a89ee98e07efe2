"""Writes for users and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from rapport.audit import events
from rapport.audit.services import record
from rapport.core.actors import Actor
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.policy import require_admin

from .models import ApiToken, User

TOKEN_PREFIX = "rpt_"  # noqa: S105 (a public prefix, not a secret)
# last_used_at is refreshed at most this often, so reads stay reads.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def user_get_or_create(*, email: str, password: str | None = None, full_name: str = "") -> User:
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        raise ValidationFailed.one("email", "Enter a valid email address.")
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, full_name=full_name)
    return user


@transaction.atomic
def token_create(*, actor: Actor, user: User | None = None, name: str = "") -> tuple[ApiToken, str]:
    """Creates a token for ``user`` (default: the actor) and returns it with its only plain copy.

    Owners and admins manage tokens (issue: "only owner/admin manage members and tokens").
    """
    require_admin(actor)
    user = user or actor.user
    if user is None:
        raise ValidationFailed.one("user", "A token belongs to a user.")
    if not user.memberships.filter(workspace=actor.workspace).exists():
        raise ValidationFailed.one("user", "That user is not a member of this workspace.")
    name = (name or "").strip() or "API token"
    if len(name) > 100:
        raise ValidationFailed.one("name", "Use at most 100 characters.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        workspace=actor.workspace, user=user, name=name, prefix=raw[:10], key_hash=hash_token(raw)
    )
    record(
        actor=actor,
        action=events.TOKEN_CREATED,
        obj=token,
        changes={
            "name": {"before": None, "after": name},
            "user": {"before": None, "after": user.email},
        },
    )
    return token, raw


@transaction.atomic
def token_revoke(*, actor: Actor, token_id) -> ApiToken:
    require_admin(actor)
    token = ApiToken.objects.filter(workspace=actor.workspace, pk=token_id).first()
    if token is None:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(actor=actor, action=events.TOKEN_REVOKED, obj=token)
    return token


def token_authenticate(raw: str) -> ApiToken | None:
    """The active token for a presented secret, with its user and workspace loaded."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user", "workspace")
        .filter(key_hash=hash_token(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
