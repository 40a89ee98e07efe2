from __future__ import annotations

from django.db.models import Q, Value
from django.db.models.functions import Lower

from .models import Tag


def _existing(workspace, wanted: dict[str, str]) -> dict[str, Tag]:
    # Python and the database fold case differently (SQLite's lower() folds ASCII only): take
    # candidates matched either way, then key them the Python way.
    rows = (
        Tag.objects.annotate(lname=Lower("name"))
        .filter(workspace=workspace)
        .filter(Q(lname__in=list(wanted)) | Q(name__in=list(wanted.values())))
    )
    return {t.name.lower(): t for t in rows}


def resolve_tags(workspace, names: list[str]) -> list[Tag]:
    """The Tag rows for ``names`` (case-insensitive), creating the missing ones."""
    if not names:
        return []
    wanted = {n.lower(): n for n in names}
    found = _existing(workspace, wanted)
    missing = [Tag(workspace=workspace, name=n) for k, n in wanted.items() if k not in found]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        found = _existing(workspace, wanted)
    tags = []
    for key, name in wanted.items():
        tag = found.get(key)
        if tag is None:
            # The insert was ignored: the unique index (the database's lower()) already holds
            # this name in a case Python folds differently. Ask the database the same way.
            tag = (
                Tag.objects.annotate(lname=Lower("name"))
                .filter(workspace=workspace, lname=Lower(Value(name)))
                .first()
            )
            if tag is None:  # deleted concurrently between the insert and this read
                raise RuntimeError(f"tag {name!r} vanished while being resolved")
        tags.append(tag)
    return tags
