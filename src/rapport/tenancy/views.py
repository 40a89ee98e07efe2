"""Workspace switching, the settings page (workspace, members, invitations) and accepting an
invitation. Views parse input and call selectors and services; the services check roles."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from rapport.core.actors import Actor, Role
from rapport.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from rapport.core.policy import is_admin
from rapport.ui.views import denied, workspace_required
from rapport.users.forms import NewAccountForm
from rapport.users.selectors import user_by_email

from . import selectors, services
from .forms import InviteForm, RoleForm, TeamForm, WorkspaceForm, role_choices

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


# --- helpers shared by the settings, tokens and audit views ------------------------------


def actor_of(request: HttpRequest) -> Actor:
    """The actor WorkspaceMiddleware put on the request (set whenever workspace_required ran)."""
    return request.actor  # type: ignore[attr-defined]


def apply_errors(form, exc: DomainError) -> None:
    """Puts a service's field errors on the form (unknown fields become form-wide errors)."""
    errors = exc.errors or []
    if not errors:
        form.add_error(None, exc.detail)
    for err in errors:
        form.add_error(err.field if err.field in form.fields else None, err.message)


def _uuid_or_404(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404("No such workspace.")


# --- switching workspace --------------------------------------------------------------------


@require_POST
@workspace_required
def switch(request: HttpRequest) -> HttpResponse:
    wanted = _uuid_or_404(request.POST.get("workspace", ""))
    membership = next(
        (m for m in selectors.memberships_of(request.user) if m.workspace_id == wanted), None
    )
    if membership is None:
        raise Http404("No such workspace.")
    request.session[selectors.SESSION_KEY] = str(membership.workspace_id)
    messages.success(request, f"You are now working in {membership.workspace.name}.")
    return redirect("ui:home")


# --- settings: workspace and members ------------------------------------------------------------


def _workspace_form(actor: Actor, data=None) -> WorkspaceForm:
    """Bound to the workspace's values; read-only (disabled, input ignored) for non-admins."""
    ws = actor.workspace
    initial = {
        "name": ws.name,
        "members_can_delete_any": ws.members_can_delete_any,
        "default_region": ws.default_region,
        "trash_retention_days": ws.trash_retention_days,
        "record_access": ws.record_access,
    }
    return WorkspaceForm(data, initial=initial, editable=is_admin(actor))


def _settings_page(
    request: HttpRequest,
    *,
    workspace_form: WorkspaceForm | None = None,
    invite_form: InviteForm | None = None,
    logo_errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = actor_of(request)
    admin = is_admin(actor)
    workspace_form = workspace_form or _workspace_form(actor)
    members = [
        {
            "membership": m,
            "is_me": m.user_id == actor.user_id,
            # Only an owner may change or remove an owner (the service enforces it too).
            "editable": admin and (actor.role == Role.OWNER or m.role != Role.OWNER.value),
        }
        for m in selectors.member_list(actor=actor)
    ]
    context = {
        "nav": "settings",
        "tab": "workspace",
        "is_admin": admin,
        "workspace_form": workspace_form,
        "members": members,
        "role_choices": role_choices(actor),
        "invite_form": invite_form or InviteForm(actor=actor),
        "invitations": selectors.pending_invitations(actor=actor) if admin else [],
        "now": timezone.now(),
        "logo_errors": logo_errors or [],
    }
    return render(request, "tenancy/settings.html", context, status=status)


@require_http_methods(["GET", "POST"])
@workspace_required
def settings_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _settings_page(request)
    form = _workspace_form(actor_of(request), request.POST)
    if form.is_valid():
        try:
            services.workspace_update(
                actor=actor_of(request),
                name=form.cleaned_data["name"],
                members_can_delete_any=form.cleaned_data["members_can_delete_any"],
                default_region=form.cleaned_data["default_region"],
                trash_retention_days=form.cleaned_data["trash_retention_days"],
                record_access=form.cleaned_data["record_access"] or None,
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Workspace settings saved.")
            return redirect("tenancy:settings")
    return _settings_page(request, workspace_form=form, status=422)


@require_POST
@workspace_required
def member_role(request: HttpRequest, membership_id: uuid.UUID) -> HttpResponse:
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
        return redirect("tenancy:settings")
    try:
        m = services.member_change_role(
            actor=actor_of(request), membership_id=membership_id, role=form.cleaned_data["role"]
        )
    except ValidationFailed as exc:
        messages.error(request, "; ".join(e.message for e in exc.errors) or exc.detail)
    else:
        messages.success(request, f"{m.user.display_name} is now {m.role_enum.label}.")
    return redirect("tenancy:settings")


@require_POST
@workspace_required
def member_remove(request: HttpRequest, membership_id: uuid.UUID) -> HttpResponse:
    try:
        services.member_remove(actor=actor_of(request), membership_id=membership_id)
    except ValidationFailed as exc:
        messages.error(request, "; ".join(e.message for e in exc.errors) or exc.detail)
    else:
        messages.success(request, "Member removed.")
    return redirect("tenancy:settings")


def _accept_url_template(request: HttpRequest) -> str:
    marker = "INVITATION-TOKEN"
    url = request.build_absolute_uri(reverse("tenancy:invitation_accept", args=[marker]))
    return url.replace("{", "{{").replace("}", "}}").replace(marker, "{token}")


@require_POST
@workspace_required
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST, actor=actor_of(request))
    if form.is_valid():
        try:
            inv = services.invitation_create(
                actor=actor_of(request),
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                accept_url_template=_accept_url_template(request),
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Invitation sent to {inv.email}.")
            return redirect("tenancy:settings")
    return _settings_page(request, invite_form=form, status=422)


@require_POST
@workspace_required
def invitation_revoke(request: HttpRequest, invitation_id: uuid.UUID) -> HttpResponse:
    services.invitation_revoke(actor=actor_of(request), invitation_id=invitation_id)
    messages.success(request, "Invitation revoked: its link no longer works.")
    return redirect("tenancy:settings")


# --- teams ------------------------------------------------------------------------------------


def _team_list(actor: Actor) -> list:
    """The workspace's teams with their members (two queries whatever their number)."""
    from django.db.models import Prefetch

    from rapport.users.models import User

    from .models import Team

    return list(
        Team.objects.filter(workspace=actor.workspace)
        .prefetch_related(Prefetch("members", queryset=User.objects.order_by("full_name", "email")))
        .order_by("name")
    )


def _teams_page(
    request: HttpRequest,
    *,
    form: TeamForm | None = None,
    edit_id: str = "",
    edit_form: TeamForm | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = actor_of(request)
    choices = selectors.member_choices(workspace=actor.workspace)
    teams = _team_list(actor)
    admin = is_admin(actor)
    rows = []
    for team in teams:
        editing = edit_form if str(team.pk) == edit_id and edit_form is not None else None
        rows.append(
            {
                "team": team,
                "members": list(team.members.all()),
                "form": editing
                or (
                    TeamForm(
                        initial={
                            "name": team.name,
                            "members": [str(u.pk) for u in team.members.all()],
                        },
                        member_choices=choices,
                        auto_id=f"team-{team.pk}-%s",
                    )
                    if admin
                    else None
                ),
                "open": editing is not None,
            }
        )
    context = {
        "nav": "settings",
        "tab": "teams",
        "is_admin": admin,
        "rows": rows,
        "form": form or TeamForm(member_choices=choices, auto_id="new-team-%s"),
        "record_access": actor.workspace.get_record_access_display(),
    }
    return render(request, "tenancy/teams.html", context, status=status)


def _team_data(form: TeamForm) -> dict:
    return {"name": form.cleaned_data["name"], "members": form.cleaned_data["members"]}


@require_http_methods(["GET", "POST"])
@workspace_required
def teams(request: HttpRequest) -> HttpResponse:
    """GET: the teams; POST: a new team."""
    if request.method == "GET":
        return _teams_page(request)
    actor = actor_of(request)
    choices = selectors.member_choices(workspace=actor.workspace)
    form = TeamForm(request.POST, member_choices=choices, auto_id="new-team-%s")
    if form.is_valid():
        try:
            team = services.team_create(actor=actor, **_team_data(form))
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Created the team {team.name}.")
            return redirect(reverse("tenancy:teams") + f"#team-{team.pk}")
    elif not is_admin(actor):
        raise PermissionDenied("Only workspace owners and admins can do this.")
    return _teams_page(request, form=form, status=422)


@require_POST
@workspace_required
def team_edit(request: HttpRequest, team_id: uuid.UUID) -> HttpResponse:
    """Renames a team and sets its members (the whole list)."""
    actor = actor_of(request)
    choices = selectors.member_choices(workspace=actor.workspace)
    form = TeamForm(request.POST, member_choices=choices, auto_id=f"team-{team_id}-%s")
    if form.is_valid():
        try:
            team = services.team_update(actor=actor, team_id=team_id, **_team_data(form))
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Saved the team {team.name}.")
            return redirect(reverse("tenancy:teams") + f"#team-{team.pk}")
    elif not is_admin(actor):
        raise PermissionDenied("Only workspace owners and admins can do this.")
    return _teams_page(request, edit_id=str(team_id), edit_form=form, status=422)


@require_POST
@workspace_required
def team_delete(request: HttpRequest, team_id: uuid.UUID) -> HttpResponse:
    services.team_delete(actor=actor_of(request), team_id=team_id)
    messages.success(request, "Team deleted. Its members stay in the workspace.")
    return redirect("tenancy:teams")


# --- accepting an invitation ----------------------------------------------------------------


def _enter_workspace(request: HttpRequest, inv) -> HttpResponse:
    request.session[selectors.SESSION_KEY] = str(inv.workspace_id)
    messages.success(request, f"Welcome to {inv.workspace.name}!")
    return redirect("ui:home")


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    inv = services.invitation_by_token(token)
    if inv is None:
        return render(request, "tenancy/invitation_invalid.html", status=404)
    here = reverse("tenancy:invitation_accept", args=[token])
    context: dict = {
        "invitation": inv,
        "role_label": Role(inv.role).label,
        "login_url": f"{reverse('users:login')}?{urlencode({'next': here})}",
        "here": here,
    }
    template = "tenancy/invitation_accept.html"

    if request.user.is_authenticated:
        if request.user.email.lower() != inv.email.lower():
            context["state"] = "wrong_user"
            return render(request, template, context, status=403)
        context["state"] = "confirm"
        if request.method == "POST":
            try:
                services.invitation_accept(raw_token=token, user=request.user)
            except NotFound:
                return render(request, "tenancy/invitation_invalid.html", status=404)
            except PermissionDenied as exc:
                return denied(request, exc)
            return _enter_workspace(request, inv)
        return render(request, template, context)

    existing = user_by_email(inv.email)
    if existing is not None:
        # Someone with an account proves it by signing in, then accepts with one click.
        context["state"] = "sign_in" if existing.has_usable_password() else "set_password"
        return render(request, template, context)

    context["state"] = "new_account"
    form = NewAccountForm(request.POST or None, email=inv.email)
    if request.method == "POST" and form.is_valid():
        password = form.cleaned_data["password1"]
        try:
            inv, user = services.invitation_accept(
                raw_token=token, password=password, full_name=form.cleaned_data["full_name"]
            )
        except NotFound:
            return render(request, "tenancy/invitation_invalid.html", status=404)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            if not user.check_password(password):
                # The account appeared meanwhile: never sign in without its own password.
                messages.info(request, "You already have an account: sign in to continue.")
                return redirect(context["login_url"])
            login(request, user, backend=MODEL_BACKEND)
            return _enter_workspace(request, inv)
    context["form"] = form
    return render(request, template, context, status=422 if form.errors else 200)
