"""Writes for workspaces, memberships and invitations."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from rapport.audit import events
from rapport.audit.services import record
from rapport.core.actors import Actor, ActorKind, Role
from rapport.core.errors import Duplicate, NotFound, PermissionDenied, ValidationFailed
from rapport.core.policy import require_admin
from rapport.core.validation import clean_choice, clean_currency, clean_text
from rapport.users.models import User
from rapport.users.services import user_get_or_create

from .models import Invitation, Membership, RecordAccess, Team, TeamMember, Workspace

INVITATION_TTL = timedelta(days=7)


def actor_for(
    user: User, workspace: Workspace, *, kind: ActorKind = ActorKind.USER, token=None
) -> Actor | None:
    """The actor a user is in a workspace, or None when they are not a member."""
    membership = Membership.objects.filter(user=user, workspace=workspace).only("role").first()
    if membership is None:
        return None
    return Actor(
        kind=kind,
        workspace=workspace,
        role=Role(membership.role),
        user=user,
        token_id=token.pk if token else None,
        name=token.name if token else "",
    )


def _clean_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValidationFailed.one("role", f"Unknown role {role!r}; use one of: {allowed}.")


@transaction.atomic
def workspace_create(*, name: str, slug: str = "", owner: User) -> Workspace:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.one("name", "A workspace needs a name.")
    slug = slugify(slug or name)[:50]
    if not slug:
        raise ValidationFailed.one("slug", "Use letters, digits and dashes.")
    existing = Workspace.objects.filter(slug=slug).first()
    if existing is not None:
        raise Duplicate("slug", existing.pk, f"The slug {slug!r} is taken.")
    workspace = Workspace.objects.create(name=name, slug=slug)
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER.value)
    actor = Actor(kind=ActorKind.USER, workspace=workspace, role=Role.OWNER, user=owner)
    record(
        actor=actor,
        action=events.WORKSPACE_CREATED,
        obj=workspace,
        changes={"name": {"before": None, "after": name}, "slug": {"before": None, "after": slug}},
    )
    return workspace


def _settings_of(ws: Workspace) -> dict:
    return {
        "name": ws.name,
        "members_can_delete_any": ws.members_can_delete_any,
        "default_region": ws.default_region,
        "trash_retention_days": ws.trash_retention_days,
        "default_currency": ws.default_currency,
        "record_access": ws.record_access,
    }


@transaction.atomic
def workspace_update(
    *,
    actor: Actor,
    name: str | None = None,
    members_can_delete_any: bool | None = None,
    default_region: str | None = None,
    trash_retention_days: int | None = None,
    default_currency: str | None = None,
    record_access: str | None = None,
) -> Workspace:
    require_admin(actor)
    ws = Workspace.objects.select_for_update().get(pk=actor.workspace.pk)
    before = _settings_of(ws)
    if name is not None:
        if not name.strip():
            raise ValidationFailed.one("name", "A workspace needs a name.")
        ws.name = name.strip()[:100]
    if members_can_delete_any is not None:
        ws.members_can_delete_any = members_can_delete_any
    if default_region is not None:
        import phonenumbers

        region = default_region.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValidationFailed.one("default_region", "Use a country code such as US or DE.")
        ws.default_region = region
    if trash_retention_days is not None:
        if isinstance(trash_retention_days, bool) or not 1 <= trash_retention_days <= 3650:
            raise ValidationFailed.one(
                "trash_retention_days", "Keep deleted records between 1 and 3650 days."
            )
        ws.trash_retention_days = trash_retention_days
    if default_currency is not None:
        # The base currency every total is converted into (exchange rates are kept per base).
        ws.default_currency = clean_currency(default_currency, field="default_currency")
    if record_access is not None:
        ws.record_access = clean_choice(
            record_access, field="record_access", choices=RecordAccess.choices
        )
    ws.save()
    after = _settings_of(ws)
    from rapport.audit.services import diff

    changes = diff(before, after)
    if changes:
        record(actor=actor, action=events.WORKSPACE_UPDATED, obj=ws, changes=changes)
    return ws


@transaction.atomic
def member_add(
    *, actor: Actor | None, workspace: Workspace, user: User, role: str, via: str = ""
) -> Membership:
    """Adds a user to a workspace. ``actor`` None means the system (CLI, invitation accept)."""
    role_enum = _clean_role(role)
    if actor is not None:
        require_admin(actor)
        if role_enum == Role.OWNER and actor.role != Role.OWNER:
            raise PermissionDenied("Only an owner can make someone an owner.")
    membership, created = Membership.objects.get_or_create(
        workspace=workspace, user=user, defaults={"role": role_enum.value}
    )
    if not created:
        raise Duplicate("email", membership.pk, f"{user.email} is already a member.")
    record(
        actor=actor or Actor.system(workspace, via or "system"),
        action=events.MEMBER_ADDED,
        obj=membership,
        object_repr=user.email,
        changes={"role": {"before": None, "after": role_enum.value}},
    )
    return membership


def _owner_count(workspace: Workspace) -> int:
    return Membership.objects.filter(workspace=workspace, role=Role.OWNER.value).count()


@transaction.atomic
def member_change_role(*, actor: Actor, membership_id, role: str) -> Membership:
    require_admin(actor)
    role_enum = _clean_role(role)
    m = (
        Membership.objects.select_related("user")
        .filter(workspace=actor.workspace, pk=membership_id)
        .first()
    )
    if m is None:
        raise NotFound("No such member.")
    if (Role(m.role) == Role.OWNER or role_enum == Role.OWNER) and actor.role != Role.OWNER:
        raise PermissionDenied("Only an owner can grant or take away the owner role.")
    if (
        Role(m.role) == Role.OWNER
        and role_enum != Role.OWNER
        and _owner_count(actor.workspace) == 1
    ):
        raise ValidationFailed.one("role", "A workspace needs at least one owner.")
    before = m.role
    m.role = role_enum.value
    m.save(update_fields=["role"])
    if before != m.role:
        record(
            actor=actor,
            action=events.MEMBER_ROLE_CHANGED,
            obj=m,
            object_repr=m.user.email,
            changes={"role": {"before": before, "after": m.role}},
        )
    return m


@transaction.atomic
def member_remove(*, actor: Actor, membership_id) -> None:
    require_admin(actor)
    m = (
        Membership.objects.select_related("user")
        .filter(workspace=actor.workspace, pk=membership_id)
        .first()
    )
    if m is None:
        raise NotFound("No such member.")
    if Role(m.role) == Role.OWNER:
        if actor.role != Role.OWNER:
            raise PermissionDenied("Only an owner can remove an owner.")
        if _owner_count(actor.workspace) == 1:
            raise ValidationFailed.one("role", "A workspace needs at least one owner.")
    record(
        actor=actor,
        action=events.MEMBER_REMOVED,
        obj=m,
        object_repr=m.user.email,
        changes={"role": {"before": m.role, "after": None}},
    )
    m.delete()


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def invitation_create(
    *, actor: Actor, email: str, role: str, accept_url_template: str
) -> Invitation:
    """Invites someone by email. ``accept_url_template`` has a ``{token}`` placeholder."""
    from rapport.core.validation import clean_email

    require_admin(actor)
    email = clean_email(email, field="email")
    if not email:
        raise ValidationFailed.one("email", "Enter the address to invite.")
    role_enum = _clean_role(role)
    if role_enum == Role.OWNER and actor.role != Role.OWNER:
        raise PermissionDenied("Only an owner can invite another owner.")
    if Membership.objects.filter(workspace=actor.workspace, user__email__iexact=email).exists():
        raise ValidationFailed.one("email", f"{email} is already a member of this workspace.")
    pending = Invitation.objects.filter(
        workspace=actor.workspace,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).first()
    if pending is not None:
        # A re-invite replaces the old link (it may have expired or been lost).
        pending.revoked_at = timezone.now()
        pending.save(update_fields=["revoked_at"])
    raw = secrets.token_urlsafe(32)
    inv = Invitation.objects.create(
        workspace=actor.workspace,
        email=email,
        role=role_enum.value,
        token_hash=_hash(raw),
        invited_by=actor.user,
        expires_at=timezone.now() + INVITATION_TTL,
    )
    record(
        actor=actor,
        action=events.INVITATION_SENT,
        obj=inv,
        object_repr=email,
        changes={"role": {"before": None, "after": role_enum.value}},
    )
    url = accept_url_template.format(token=raw)
    inviter = actor.user.display_name if actor.user else "Rapport"
    transaction.on_commit(
        lambda: send_mail(
            subject=f"{inviter} invited you to {actor.workspace.name} on Rapport",
            message=(
                f"{inviter} invited you to join the workspace {actor.workspace.name} as "
                f"{role_enum.label}.\n\nAccept the invitation (valid 7 days):\n{url}\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[email],
        )
    )
    return inv


def invitation_by_token(raw: str) -> Invitation | None:
    inv = Invitation.objects.select_related("workspace").filter(token_hash=_hash(raw or "")).first()
    if inv is None or inv.accepted_at or inv.revoked_at or inv.expires_at < timezone.now():
        return None
    return inv


@transaction.atomic
def invitation_accept(
    *, raw_token: str, user: User | None = None, password: str = "", full_name: str = ""
) -> tuple[Invitation, User]:
    inv = invitation_by_token(raw_token)
    if inv is None:
        raise NotFound("This invitation link is invalid or has expired.")
    if user is None:
        user = user_get_or_create(email=inv.email, password=password or None, full_name=full_name)
    elif user.email.lower() != inv.email.lower():
        raise PermissionDenied(f"This invitation is for {inv.email}. Sign out and open it again.")
    if not Membership.objects.filter(workspace=inv.workspace, user=user).exists():
        member_add(actor=None, workspace=inv.workspace, user=user, role=inv.role, via="invitation")
    inv.accepted_at = timezone.now()
    inv.save(update_fields=["accepted_at"])
    record(
        actor=Actor(kind=ActorKind.USER, workspace=inv.workspace, role=Role(inv.role), user=user),
        action=events.INVITATION_ACCEPTED,
        obj=inv,
        object_repr=inv.email,
    )
    return inv, user


@transaction.atomic
def invitation_revoke(*, actor: Actor, invitation_id) -> None:
    require_admin(actor)
    inv = Invitation.objects.filter(
        workspace=actor.workspace,
        pk=invitation_id,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).first()
    if inv is None:
        raise NotFound("No such pending invitation.")
    inv.revoked_at = timezone.now()
    inv.save(update_fields=["revoked_at"])
    record(actor=actor, action=events.INVITATION_REVOKED, obj=inv, object_repr=inv.email)


def _team_members(workspace: Workspace, user_ids) -> list:
    ids = [str(u) for u in (user_ids or [])]
    members = list(
        User.objects.filter(memberships__workspace=workspace, pk__in=_valid_uuids(ids, "members"))
    )
    if len(members) != len(set(ids)):
        raise ValidationFailed.one("members", "Every member of a team must be in this workspace.")
    return members


def _valid_uuids(values: list[str], field: str) -> list:
    import uuid

    try:
        return [uuid.UUID(v) for v in values]
    except ValueError:
        raise ValidationFailed.one(field, "Not a valid id.")


def _team_name(workspace: Workspace, name, *, current: Team | None = None) -> str:
    name = clean_text(name, field="name", max_length=100)
    if not name:
        raise ValidationFailed.one("name", "A team needs a name.")
    clash = Team.objects.filter(workspace=workspace, name__iexact=name)
    if current is not None:
        clash = clash.exclude(pk=current.pk)
    if clash.exists():
        raise ValidationFailed.one("name", f"There is already a team called {name!r}.")
    return name


def _set_team_members(team: Team, members: list) -> None:
    TeamMember.objects.filter(team=team).exclude(user__in=members).delete()
    have = set(TeamMember.objects.filter(team=team).values_list("user_id", flat=True))
    TeamMember.objects.bulk_create(
        [
            TeamMember(workspace_id=team.workspace_id, team=team, user=u)
            for u in members
            if u.pk not in have
        ]
    )


@transaction.atomic
def team_create(*, actor: Actor, name: str, members=()) -> Team:
    require_admin(actor)
    team = Team.objects.create(workspace=actor.workspace, name=_team_name(actor.workspace, name))
    users = _team_members(actor.workspace, members)
    _set_team_members(team, users)
    record(
        actor=actor,
        action=events.TEAM_CREATED,
        obj=team,
        changes={
            "name": {"before": None, "after": team.name},
            "members": {"before": None, "after": sorted(u.email for u in users)},
        },
    )
    return team


@transaction.atomic
def team_update(*, actor: Actor, team_id, name: str | None = None, members=None) -> Team:
    require_admin(actor)
    team = Team.objects.select_for_update().filter(workspace=actor.workspace, pk=team_id).first()
    if team is None:
        raise NotFound("No such team.")
    before = {"name": team.name, "members": sorted(team.members.values_list("email", flat=True))}
    if name is not None:
        team.name = _team_name(actor.workspace, name, current=team)
        team.save(update_fields=["name"])
    if members is not None:
        _set_team_members(team, _team_members(actor.workspace, members))
    after = {"name": team.name, "members": sorted(team.members.values_list("email", flat=True))}
    from rapport.audit.services import diff

    changes = diff(before, after)
    if changes:
        record(actor=actor, action=events.TEAM_UPDATED, obj=team, changes=changes)
    return team


@transaction.atomic
def team_delete(*, actor: Actor, team_id) -> None:
    require_admin(actor)
    team = Team.objects.filter(workspace=actor.workspace, pk=team_id).first()
    if team is None:
        raise NotFound("No such team.")
    record(
        actor=actor,
        action=events.TEAM_DELETED,
        obj=team,
        changes={"name": {"before": team.name, "after": None}},
    )
    team.delete()
