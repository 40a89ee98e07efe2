"""The one scoping mechanism (DESIGN rule 5): every selector starts from ``visible_to(actor)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from .actors import Actor


class WorkspaceQuerySet(models.QuerySet):
    def in_workspace(self, workspace) -> WorkspaceQuerySet:
        return self.filter(workspace=workspace)

    def visible_to(self, actor: Actor) -> WorkspaceQuerySet:
        """Rows of the actor's workspace that the actor may see.

        The workspace is the hard wall. Inside it, every member currently reads every record
        (the workspace default "read/write"); record-level sharing narrows this here, in one
        place, when it arrives. Soft-deleted rows are hidden.
        """
        qs = self.filter(workspace=actor.workspace)
        if hasattr(self.model, "deleted_at"):
            qs = qs.filter(deleted_at__isnull=True)
        if getattr(self.model, "OWNER_ACCESS", False):
            qs = qs._owner_scope(actor)
        return qs

    def _owner_scope(self, actor: Actor) -> WorkspaceQuerySet:
        """The workspace's record access setting, for models that honour ownership (deals).

        "team" shows a member the records owned by anyone sharing a team with them; "own" only
        theirs. Unowned records stay visible to all (a pool to pick from), and managers, admins,
        owners and automations see everything.
        """
        from django.db.models import Q

        from .actors import ActorKind, Role

        mode = getattr(actor.workspace, "record_access", "all")
        if (
            mode == "all"
            or actor.user_id is None
            or actor.kind in (ActorKind.SYSTEM, ActorKind.AUTOMATION)
            or actor.role.at_least(Role.MANAGER)
        ):
            return self
        mine = Q(owner_id=actor.user_id) | Q(owner__isnull=True)
        if mode == "team":
            from rapport.tenancy.models import TeamMember

            my_teams = TeamMember.objects.filter(user_id=actor.user_id).values("team_id")
            teammates = TeamMember.objects.filter(team_id__in=my_teams).values("user_id")
            mine |= Q(owner_id__in=teammates)
        return self.filter(mine)

    def in_trash_of(self, actor: Actor) -> WorkspaceQuerySet:
        """Soft-deleted rows of the actor's workspace: the trash (restore, purge, its list).

        The counterpart of ``visible_to`` for deleted rows, narrowed by the record access
        setting in the same way.
        """
        qs = self.filter(workspace=actor.workspace, deleted_at__isnull=False)
        if getattr(self.model, "OWNER_ACCESS", False):
            qs = qs._owner_scope(actor)
        return qs
