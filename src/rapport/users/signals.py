"""Sign-in, sign-out and failed sign-in are audited (DESIGN: every login writes an entry).

Connected in ``UsersConfig.ready``. A user's sign-in is recorded once, in the workspace the
session acts in (their first workspace right after signing in). A failed sign-in of a known
address is recorded in that user's first workspace, so the workspace's admins can see someone
guessing a colleague's password; failures for unknown addresses are left to django-axes' own
attempt log (there is no workspace to file them under).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from rapport.audit import events
from rapport.audit.services import record
from rapport.core.actors import Actor, ActorKind, Role

SOURCE = "ui"


def _client_ip(request) -> str:
    return (request.META.get("REMOTE_ADDR") or "") if request is not None else ""


def _user_actor(request, user) -> Actor:
    """The user's actor in the session's workspace; a workspace-less actor if they have none."""
    from rapport.tenancy.selectors import ui_actor

    actor = getattr(request, "actor", None) if request is not None else None
    if actor is None and request is not None:
        actor = ui_actor(request)
    if actor is None or actor.user_id != user.pk:
        from rapport.tenancy.selectors import memberships_of

        memberships = memberships_of(user)
        workspace = memberships[0].workspace if memberships else None
        role = Role(memberships[0].role) if memberships else Role.READ_ONLY
        # record() files an actor without a workspace under workspace NULL (platform level).
        actor = Actor(kind=ActorKind.USER, workspace=workspace, role=role, user=user)  # type: ignore[arg-type]
    return actor


def record_user_event(request, user, action: events.EventType) -> None:
    """Records a user-level event (sign-in, sign-out, password reset) for ``user``."""
    ip = _client_ip(request)
    record(
        actor=_user_actor(request, user),
        action=action,
        obj=user,
        object_repr=user.email,
        changes={"ip_address": {"before": None, "after": ip}} if ip else {},
        source=SOURCE,
    )


def on_logged_in(sender, request, user, **kwargs: Any) -> None:
    record_user_event(request, user, events.USER_LOGGED_IN)


def on_logged_out(sender, request, user, **kwargs: Any) -> None:
    if user is None:  # signing out without being signed in
        return
    record_user_event(request, user, events.USER_LOGGED_OUT)


def on_login_failed(sender, credentials: dict, request=None, **kwargs: Any) -> None:
    from rapport.tenancy.selectors import memberships_of
    from rapport.users.selectors import user_by_email

    user = user_by_email(credentials.get("username") or credentials.get("email") or "")
    if user is None:
        return
    memberships = memberships_of(user)
    if not memberships:
        return
    ip = _client_ip(request)
    actor = Actor(
        kind=ActorKind.SYSTEM,
        workspace=memberships[0].workspace,
        role=Role.READ_ONLY,
        name=f"Sign-in form ({ip})" if ip else "Sign-in form",
    )
    record(
        actor=actor,
        action=events.USER_LOGIN_FAILED,
        obj=user,
        object_repr=user.email,
        changes={"ip_address": {"before": None, "after": ip}} if ip else {},
        source=SOURCE,
    )


def connect() -> None:
    user_logged_in.connect(on_logged_in, dispatch_uid="rapport.users.audit_logged_in")
    user_logged_out.connect(on_logged_out, dispatch_uid="rapport.users.audit_logged_out")
    user_login_failed.connect(on_login_failed, dispatch_uid="rapport.users.audit_login_failed")
