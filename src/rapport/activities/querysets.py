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

    def in_trash_of(self, actor: Actor) -> ActivityQuerySet:
        """Deleted interactions, seen as live ones are: through a link (kept aside while in
        the trash) to a record the actor can see."""
        from .models import TrashedActivityTarget

        qs = self.filter(workspace=actor.workspace, deleted_at__isnull=False)
        return qs.filter(targets.visible_link(actor, TrashedActivityTarget, "activity"))


class TaskQuerySet(WorkspaceQuerySet):
    def visible_to(self, actor: Actor) -> TaskQuerySet:
        """Live tasks that link to a record the actor can see, or to none (a personal to-do,
        seen by its assignee and creator only)."""
        from .models import TaskTarget

        qs = super().visible_to(actor)
        linked = targets.visible_link(actor, TaskTarget, "task")
        return qs.filter(_seen(actor, linked))  # type: ignore[return-value]

    def in_trash_of(self, actor: Actor) -> TaskQuerySet:
        """Deleted tasks, seen as live ones are (their links stay while they are in the trash)."""
        from .models import TaskTarget

        qs = self.filter(workspace=actor.workspace, deleted_at__isnull=False)
        return qs.filter(_seen(actor, targets.visible_link(actor, TaskTarget, "task")))


def _seen(actor: Actor, linked) -> Q:
    """A task is seen through a visible record it links to, or, linked to none (a personal
    to-do), by its assignee and its creator."""
    mine = Q(assignee=actor.user_id) | Q(created_by=actor.user_id)
    return linked | (Q(linked=False) & mine)
