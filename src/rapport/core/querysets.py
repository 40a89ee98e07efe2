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
        return qs

    def in_trash_of(self, actor: Actor) -> WorkspaceQuerySet:
        """Soft-deleted rows of the actor's workspace: the trash (restore, purge, its list).

        The counterpart of ``visible_to`` for deleted rows; record-level sharing narrows it in
        the same way when it arrives.
        """
        return self.filter(workspace=actor.workspace, deleted_at__isnull=False)
