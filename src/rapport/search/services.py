"""Keeps the search index in step with the records; called by the domain services."""

from __future__ import annotations

from rapport.core.bulk import insert_values

from .models import SearchEntry


def _entry(obj) -> SearchEntry:
    title, subtitle, text = obj.search_document()
    return SearchEntry(
        workspace_id=obj.workspace_id,
        object_type=obj._meta.label_lower,
        object_id=obj.pk,
        title=(title or "")[:300],
        subtitle=(subtitle or "")[:300],
        text=f"{title} {text}".lower(),
    )


def index_record(obj) -> None:
    entry = _entry(obj)
    SearchEntry.objects.update_or_create(
        object_type=entry.object_type,
        object_id=entry.object_id,
        defaults={
            "workspace_id": entry.workspace_id,
            "title": entry.title,
            "subtitle": entry.subtitle,
            "text": entry.text,
        },
    )


def unindex_record(obj) -> None:
    SearchEntry.objects.filter(object_type=obj._meta.label_lower, object_id=obj.pk).delete()


def index_records(objs, *, created: bool = False) -> None:
    """``index_record`` for many records of one type: one DELETE and one bulk INSERT of plain
    rows (no model instance per entry). ``created`` says the records were just inserted, so
    they have no entry to delete yet."""
    objs = list(objs)
    if not objs:
        return
    object_type = objs[0]._meta.label_lower
    if not created:
        SearchEntry.objects.filter(
            object_type=object_type, object_id__in=[o.pk for o in objs]
        ).delete()
    rows = []
    for obj in objs:
        title, subtitle, text = obj.search_document()
        title = title or ""
        rows.append(
            (
                obj.workspace_id,
                object_type,
                obj.pk,
                title[:300],
                (subtitle or "")[:300],
                f"{title} {text}".lower(),
            )
        )
    insert_values(SearchEntry, _COLUMNS, rows)


_COLUMNS = ("workspace_id", "object_type", "object_id", "title", "subtitle", "text")


def unindex_ids(object_type: str, ids) -> None:
    """Removes the entries of many records of one type (records deleted for good)."""
    SearchEntry.objects.filter(object_type=object_type, object_id__in=list(ids)).delete()
