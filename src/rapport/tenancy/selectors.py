from __future__ import annotations

from rapport.core.actors import Actor, ActorKind, Role

from .models import Invitation, Membership, Workspace

SESSION_KEY = "rapport_workspace_id"


def memberships_of(user) -> list[Membership]:
    return list(
        Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")
    )


def ui_actor(request) -> Actor | None:
    """The signed-in user's actor in the session's workspace (falls back to their first one)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    wanted = request.session.get(SESSION_KEY)
    qs = Membership.objects.filter(user=user).select_related("workspace")
    membership = qs.filter(workspace_id=wanted).first() if wanted else None
    if membership is None:
        membership = qs.order_by("workspace__name").first()
        if membership is None:
            return None
        request.session[SESSION_KEY] = str(membership.workspace_id)
    return Actor(
        kind=ActorKind.USER, workspace=membership.workspace, role=Role(membership.role), user=user
    )


def member_list(*, actor: Actor) -> list[Membership]:
    return list(
        Membership.objects.filter(workspace=actor.workspace)
        .select_related("user")
        .order_by("user__email")
    )


def member_choices(*, workspace: Workspace) -> list[tuple[str, str]]:
    rows = (
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return [(str(m.user_id), m.user.display_name) for m in rows]


def pending_invitations(*, actor: Actor) -> list[Invitation]:
    return list(
        Invitation.objects.filter(
            workspace=actor.workspace, accepted_at__isnull=True, revoked_at__isnull=True
        ).select_related("invited_by")
    )
