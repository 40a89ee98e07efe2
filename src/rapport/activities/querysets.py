"""Visibility of interactions and tasks: through the records they link to (DESIGN rule 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from rapport.core import targets
from rapport.core.querysets import WorkspaceQuerySet

if TYPE_CHECKING:
    from rapport.core.actors import Actor


class ActivityQuerySet(WorkspaceQuerySet):
    def visible_to(self, actor: Actor) -> ActivityQuerySet:
        """Live interactions with at least one record the actor can see: one in the trash only,
        or linked to records the actor may not see, shows nowhere."""
        from .models import ActivityTarget

        qs = super().visible_to(actor)
        return qs.filter(targets.visible_link(actor, ActivityTarget, "activity"))  # type: ignore[return-value]


class TaskQuerySet(WorkspaceQuerySet):
    def visible_to(self, actor: Actor) -> TaskQuerySet:
        """Live tasks that link to a record the actor can see, or to none (a personal to-do,
        seen by its assignee and creator only)."""
        from .models import TaskTarget

        qs = super().visible_to(actor)
        linked = targets.visible_link(actor, TaskTarget, "task")
        mine = Q(assignee=actor.user_id) | Q(created_by=actor.user_id)
        return qs.filter(linked | (Q(linked=False) & mine))  # type: ignore[return-value]
