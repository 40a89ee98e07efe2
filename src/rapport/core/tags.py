from __future__ import annotations

from django.db.models.functions import Lower

from .models import Tag


def resolve_tags(workspace, names: list[str]) -> list[Tag]:
    """The Tag rows for ``names`` (case-insensitive), creating the missing ones."""
    if not names:
        return []
    wanted = {n.lower(): n for n in names}
    found = {
        t.name.lower(): t
        for t in Tag.objects.annotate(lname=Lower("name")).filter(
            workspace=workspace, lname__in=list(wanted)
        )
    }
    missing = [Tag(workspace=workspace, name=n) for k, n in wanted.items() if k not in found]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        found = {
            t.name.lower(): t
            for t in Tag.objects.annotate(lname=Lower("name")).filter(
                workspace=workspace, lname__in=list(wanted)
            )
        }
    return [found[k] for k in wanted]
