"""When two people or companies merge, their interactions and tasks (those in the trash too)
move to the survivor."""

from __future__ import annotations

from django.db import models

from rapport.contacts import merging

from .models import ActivityTarget, TaskTarget, TrashedActivityTarget


def _mover(link_model: type[models.Model], parent_field: str, object_type: str):
    def move(*, actor, loser, survivor) -> int:
        links = link_model.objects.filter(  # type: ignore[attr-defined]
            workspace_id=loser.workspace_id, target_type=object_type
        )
        # A link to both records keeps the survivor's; the loser's would clash with it.
        already = links.filter(target_id=survivor.pk).values(parent_field)
        links.filter(target_id=loser.pk, **{f"{parent_field}__in": already}).delete()
        return links.filter(target_id=loser.pk).update(target_id=survivor.pk)

    def count(loser) -> int:
        return (
            link_model.objects.filter(  # type: ignore[attr-defined]
                workspace_id=loser.workspace_id, target_type=object_type, target_id=loser.pk
            )
            .values(parent_field)
            .distinct()
            .count()
        )

    return move, count


for _type in ("person", "company"):
    _move, _count = _mover(ActivityTarget, "activity", _type)
    merging.register_mover(_type, _move, label="interactions", count=_count)
    _move, _count = _mover(TaskTarget, "task", _type)
    merging.register_mover(_type, _move, label="tasks", count=_count)
    # Interactions in the trash come back linked to the survivor (not counted in the preview).
    _move, _count = _mover(TrashedActivityTarget, "activity", _type)
    merging.register_mover(_type, _move, label="interactions_in_trash")
