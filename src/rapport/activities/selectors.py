"""Reads of interactions, tasks and record timelines. Every read starts from what the actor
can see: the record whose timeline is asked for (404 otherwise), or ``visible_to(actor)``.

A timeline page is one index range per source (interactions, tasks, record changes), newest
first by (time, id), merged in Python: constant work per page however long the history.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.core import targets
from rapport.core.actors import Actor
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.pagination import Page, Sort, keyset_page, parse_sort

from .models import Activity, ActivityTarget, Task, TaskStatus, TaskTarget, TrashedActivityTarget

# --- cursors over (time, id), shared by every timeline source -------------------------------


def _encode(at: dt.datetime, pk) -> str:
    payload = orjson.dumps([at.astimezone(dt.UTC).isoformat(), str(pk)])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _decode(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, pk = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = dt.datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment.astimezone(dt.UTC), uuid.UUID(pk)
    except Exception:
        raise ValidationFailed.one(
            "cursor", "Invalid cursor: use the `next` value of a previous page."
        )


def _before(qs: Any, at_field: str, id_field: str, cursor: str | None) -> Any:
    """Rows strictly after ``cursor`` in (time desc, id desc) order. The redundant
    ``time <= cursor time`` lets the planner seek the index to the cursor."""
    if not cursor:
        return qs
    at, pk = _decode(cursor)
    return qs.filter(
        Q(**{f"{at_field}__lte": at}),
        Q(**{f"{at_field}__lt": at}) | Q(**{at_field: at, f"{id_field}__lt": pk}),
    )


# --- interactions -----------------------------------------------------------------------------


def _direct_targets() -> Prefetch:
    return Prefetch(
        "targets",
        queryset=ActivityTarget.objects.filter(**{"rollup": False}).order_by(
            "target_type", "target_id"
        ),
        to_attr="direct_targets",
    )


def _with_details(qs: QuerySet) -> QuerySet:
    return qs.select_related("author").prefetch_related(_direct_targets())


def activity_get(*, actor: Actor, activity_id) -> Activity:
    obj = _with_details(Activity.objects.visible_to(actor)).filter(pk=activity_id).first()
    if obj is None:
        raise NotFound("No such interaction.")
    return obj


def find_target(actor: Actor, target_id) -> targets.Ref:
    """The visible record with this id, whatever its type (ids are unique across tables)."""
    for target in targets.types():
        if not target.linkable:
            continue
        obj = target.visible(actor).filter(pk=target_id).first()
        if obj is not None:
            return targets.Ref(target.name, obj.pk, obj)
    raise NotFound("No such record.")


@dataclass
class ActivityFilters:
    target: uuid.UUID | None = None
    types: list[str] = field(default_factory=list)
    author: uuid.UUID | None = None
    occurred_after: dt.datetime | None = None
    occurred_before: dt.datetime | None = None
    channel: str = ""


def activity_list(
    *, actor: Actor, filters: ActivityFilters, cursor: str | None = None, limit: int = 50
) -> Page:
    """Interactions newest first; with ``target``, that record's timeline of interactions
    (a company's includes its people's)."""
    if filters.target is not None:
        ref = find_target(actor, filters.target)
        links = _record_links(actor, ref.type, ref.id).filter(
            _activity_conditions(filters, through="activity__", type_field="activity_type")
        )
        rows, found = _linked_page(links, cursor, limit)
        page = [found[pk] for _, pk in rows[:limit] if pk in found]
        next_cursor = _encode(*rows[limit - 1]) if len(rows) > limit else None
        return Page(rows=page, next_cursor=next_cursor)
    qs = Activity.objects.visible_to(actor).filter(
        _activity_conditions(filters, through="", type_field="type")
    )
    qs = _before(_with_details(qs), "occurred_at", "id", cursor)
    newest = list(qs.order_by("-occurred_at", "-id")[: limit + 1])
    last = newest[limit - 1] if len(newest) > limit else None
    next_cursor = _encode(last.occurred_at, last.pk) if last is not None else None
    return Page(rows=newest[:limit], next_cursor=next_cursor)


def _activity_conditions(filters: ActivityFilters, *, through: str, type_field: str) -> Q:
    """The filters as conditions on interactions, or on their link rows (which repeat the
    time and type and reach the rest ``through`` the interaction)."""
    q = Q()
    if filters.types:
        q &= Q(**{f"{type_field}__in": filters.types})
    if filters.occurred_after:
        q &= Q(occurred_at__gte=filters.occurred_after)
    if filters.occurred_before:
        q &= Q(occurred_at__lt=filters.occurred_before)
    if filters.author:
        q &= Q(**{f"{through}author_id": filters.author})
    if filters.channel:
        q &= Q(**{f"{through}channel": filters.channel})
    return q


def _record_links(actor: Actor, target_type: str, target_id) -> Any:
    return ActivityTarget.objects.in_workspace(actor.workspace).filter(
        target_type=target_type, target_id=target_id
    )


def _linked_page(
    links: Any, cursor: str | None, limit: int
) -> tuple[list[tuple[dt.datetime, uuid.UUID]], dict[uuid.UUID, Activity]]:
    """One keyset page of a record's link rows (one range of the ``timeline`` index, plus one
    row to tell whether there is more) and their interactions by id."""
    links = _before(links, "occurred_at", "activity_id", cursor)
    rows = list(
        links.order_by("-occurred_at", "-activity_id").values_list("occurred_at", "activity_id")[
            : limit + 1
        ]
    )
    found = {a.pk: a for a in _with_details(Activity.objects.filter(pk__in=[pk for _, pk in rows]))}
    return rows, found


# --- the timeline ----------------------------------------------------------------------------

# Record changes the timeline shows (the history tab has all of them).
TIMELINE_CHANGES = ("lifecycle_stage", "owner_id", "company_id", "stage", "status")
TIMELINE_KINDS = ("task", "change")

# Changes of *other* records a timeline also shows (a company's deals moving through their
# stages): per target type, functions ``(actor, record) -> Q | None`` naming the audit entries,
# registered by the app that owns those records. The Q must be bounded (a few hundred object
# ids at most) and respect what the actor may see.
ChangeSource = Callable[[Actor, Any], Q | None]
_change_sources: dict[str, list[ChangeSource]] = {}


def register_change_source(target_type: str, source: ChangeSource) -> None:
    """Adds the audit entries ``source`` names to the timelines of ``target_type``."""
    sources = _change_sources.setdefault(target_type, [])
    if source not in sources:
        sources.append(source)


@dataclass(frozen=True)
class TimelineItem:
    kind: str  # an interaction type ("note", "call", ...), "task" or "change"
    at: dt.datetime
    id: uuid.UUID
    obj: Any  # Activity, Task or AuditEntry


@dataclass
class Timeline:
    items: list[TimelineItem]
    next_cursor: str | None
    pinned: list[Activity]  # shown above the first page only
    labels: dict[tuple[str, str], str]  # the linked records' names, for "with Ada, Acme"


def timeline(
    *,
    actor: Actor,
    target_type: str,
    target_id,
    kinds: Iterable[str] = (),
    cursor: str | None = None,
    limit: int = 30,
) -> Timeline:
    """One record's interactions, tasks and notable changes, newest first (keyset)."""
    record = targets.get(actor, target_type, target_id)
    wanted = set(kinds)
    activity_kinds = {k for k in wanted if k not in TIMELINE_KINDS}
    show_all = not wanted
    sources: list[list[TimelineItem]] = []

    if show_all or activity_kinds:
        links = _record_links(actor, target_type, record.pk)
        if activity_kinds:
            links = links.filter(activity_type__in=activity_kinds)
        rows, found = _linked_page(links, cursor, limit)
        sources.append(
            [TimelineItem(found[pk].type, at, pk, found[pk]) for at, pk in rows if pk in found]
        )
    if show_all or "task" in wanted:
        task_links = TaskTarget.objects.in_workspace(actor.workspace).filter(
            target_type=target_type,
            target_id=record.pk,
            task__deleted_at__isnull=True,
        )
        task_links = _before(task_links, "created_at", "task_id", cursor)
        rows = list(
            task_links.order_by("-created_at", "-task_id").values_list("created_at", "task_id")[
                : limit + 1
            ]
        )
        tasks = {
            t.pk: t
            for t in Task.objects.filter(pk__in=[pk for _, pk in rows]).select_related("assignee")
        }
        sources.append([TimelineItem("task", at, pk, tasks[pk]) for at, pk in rows if pk in tasks])
    if show_all or "change" in wanted:
        notable = Q(action__endswith=".created") | Q(action__endswith=".merged")
        for key in TIMELINE_CHANGES:
            notable |= Q(changes__has_key=key)
        entries = AuditEntry.objects.filter(
            workspace=actor.workspace,
            object_type=record._meta.label_lower,
            object_id=str(record.pk),
        ).filter(notable)
        entries = _before(entries, "created_at", "id", cursor)
        rows_e = list(entries.order_by("-created_at", "-id")[: limit + 1])
        sources.append([TimelineItem("change", e.created_at, e.pk, e) for e in rows_e])
        # Related records' changes (a company's deals): one more bounded source each.
        for source in _change_sources.get(target_type, ()):
            condition = source(actor, record)
            if condition is None:
                continue
            related = _before(
                AuditEntry.objects.filter(workspace=actor.workspace).filter(condition),
                "created_at",
                "id",
                cursor,
            )
            rows_r = list(related.order_by("-created_at", "-id")[: limit + 1])
            sources.append([TimelineItem("change", e.created_at, e.pk, e) for e in rows_r])

    merged = sorted(
        (item for source in sources for item in source),
        key=lambda i: (i.at, i.id),
        reverse=True,
    )
    # A source that returned limit+1 rows may hide older rows of its own behind the cut: the
    # page ends at the (limit)th item overall, and the next page starts after it.
    page = merged[:limit]
    next_cursor = _encode(page[-1].at, page[-1].id) if len(merged) > limit else None
    pinned: list[Activity] = []
    if not cursor and (show_all or "note" in wanted):
        pinned = list(
            _with_details(
                Activity.objects.filter(
                    workspace=actor.workspace,
                    deleted_at__isnull=True,
                    pinned=True,
                    targets__target_type=target_type,
                    targets__target_id=record.pk,
                )
            ).order_by("-occurred_at")[:10]
        )
    refs: set[tuple[str, Any]] = set()
    for activity in [i.obj for i in page if isinstance(i.obj, Activity)] + pinned:
        refs.update((t.target_type, t.target_id) for t in getattr(activity, "direct_targets", []))
    return Timeline(page, next_cursor, pinned, targets.labels(actor, refs))


# --- Customer 360 figures ------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    last: Activity | None
    by_type: list[tuple[str, str, int]]  # (type, label, count) over the window, most first
    window_days: int
    next_task: Task | None
    open_tasks: int


def summary(*, actor: Actor, target_type: str, record, window_days: int = 90) -> Summary:
    """The figures at the top of a record page: last interaction, counts by channel over the
    last ``window_days``, next open task and how many are open."""
    from django.db.models import Count

    from .models import ActivityType

    links = _record_links(actor, target_type, record.pk)
    last_id = (
        links.filter(occurred_at__lte=timezone.now())
        .order_by("-occurred_at", "-activity_id")
        .values_list("activity_id", flat=True)
        .first()
    )
    last = Activity.objects.select_related("author").filter(pk=last_id).first() if last_id else None
    since = timezone.now() - dt.timedelta(days=window_days)
    counts = (
        links.filter(occurred_at__gte=since)
        .values("activity_type")
        .annotate(n=Count("id"))
        .order_by("-n", "activity_type")
    )
    labels = dict(ActivityType.choices)
    by_type = [
        (c["activity_type"], labels.get(c["activity_type"], c["activity_type"]), c["n"])
        for c in counts
    ]
    open_tasks = Task.objects.filter(
        workspace=actor.workspace,
        deleted_at__isnull=True,
        status=TaskStatus.OPEN,
        targets__target_type=target_type,
        targets__target_id=record.pk,
    )
    next_task = (
        open_tasks.select_related("assignee")
        .order_by(F("due_at").asc(nulls_last=True), "id")
        .first()
    )
    return Summary(last, by_type, window_days, next_task, open_tasks.count())


# --- tasks ------------------------------------------------------------------------------------

TASK_SORTS = ("created_at", "due_at", "completed_at")


@dataclass
class TaskFilters:
    assignee: uuid.UUID | None = None
    unassigned: bool = False
    statuses: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)
    due_after: dt.datetime | None = None
    due_before: dt.datetime | None = None
    no_due_date: bool | None = None
    target: uuid.UUID | None = None


def _nullable_sort(name: str, descending: bool) -> Sort:
    return Sort(
        field=name,
        descending=descending,
        expression=F(name),
        to_cursor=lambda v: v.astimezone(dt.UTC).isoformat(),
        from_cursor=lambda v: dt.datetime.fromisoformat(v),
    )


def parse_task_sort(value: str | None) -> Sort:
    sort = parse_sort(value, TASK_SORTS, "due_at")
    if sort.field in ("due_at", "completed_at"):  # nullable: tasks without one come last
        return _nullable_sort(sort.field, sort.descending)
    return sort


def task_queryset(actor: Actor, filters: TaskFilters) -> QuerySet:
    qs = Task.objects.visible_to(actor)
    if filters.assignee:
        qs = qs.filter(assignee_id=filters.assignee)
    if filters.unassigned:
        qs = qs.filter(assignee__isnull=True)
    if filters.statuses:
        qs = qs.filter(status__in=filters.statuses)
    if filters.priorities:
        qs = qs.filter(priority__in=filters.priorities)
    if filters.due_after:
        qs = qs.filter(due_at__gte=filters.due_after)
    if filters.due_before:
        qs = qs.filter(due_at__lt=filters.due_before)
    if filters.no_due_date is not None:
        qs = qs.filter(due_at__isnull=filters.no_due_date)
    if filters.target:
        ref = find_target(actor, filters.target)
        qs = qs.filter(targets__target_type=ref.type, targets__target_id=ref.id)
    return qs


def task_list(
    *,
    actor: Actor,
    filters: TaskFilters,
    sort: Sort | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    qs = task_queryset(actor, filters).select_related("assignee").prefetch_related("targets")
    return keyset_page(qs, sort=sort or parse_task_sort(None), cursor=cursor, limit=limit)


def task_get(*, actor: Actor, task_id) -> Task:
    obj = (
        Task.objects.visible_to(actor)
        .select_related("assignee")
        .prefetch_related("targets")
        .filter(pk=task_id)
        .first()
    )
    if obj is None:
        raise NotFound("No such task.")
    return obj


# --- the trash of interactions and tasks ---------------------------------------------------------

TRASH_SORT = Sort(field="deleted_at", descending=True)  # newest deletions first, then by id


@dataclass(frozen=True)
class LinkName:
    """A record a deleted interaction or task was linked to, as its trash row names it."""

    name: str
    url: str


def deleted_activities(*, actor: Actor, cursor: str | None, limit: int) -> Page:
    """One keyset page of the deleted interactions the actor may see (``in_trash_of``),
    with the links they will get back prefetched (their company rollups left out)."""
    qs = Activity.objects.in_trash_of(actor).select_related("deleted_by", "author")
    kept = TrashedActivityTarget.objects.filter(rollup=False).order_by("target_type", "pk")
    qs = qs.prefetch_related(Prefetch("trashed_targets", queryset=kept, to_attr="kept_links"))
    return keyset_page(qs, sort=TRASH_SORT, cursor=cursor, limit=limit)


def deleted_tasks(*, actor: Actor, cursor: str | None, limit: int) -> Page:
    """One keyset page of the deleted tasks the actor may see, with their links."""
    qs = Task.objects.in_trash_of(actor).select_related("deleted_by", "assignee")
    links = TaskTarget.objects.order_by("target_type", "pk")
    qs = qs.prefetch_related(Prefetch("targets", queryset=links, to_attr="kept_links"))
    return keyset_page(qs, sort=TRASH_SORT, cursor=cursor, limit=limit)


def link_names(actor: Actor, rows: Iterable[Any]) -> dict[Any, list[LinkName]]:
    """{row id: the records it links to that the actor can see}, for the rows of
    ``deleted_activities``/``deleted_tasks`` (their ``kept_links``): one query per record type
    for the whole page (a record in the trash or out of sight is left out)."""
    refs = [(link.target_type, link.target_id) for row in rows for link in row.kept_links]
    names = targets.labels(actor, refs)
    out: dict[Any, list[LinkName]] = {}
    for row in rows:
        found = []
        for link in row.kept_links:
            name = names.get((link.target_type, str(link.target_id)))
            if name is not None:
                url = targets.get_type(link.target_type).url(link.target_id)
                found.append(LinkName(name, url))
        out[row.pk] = found
    return out
