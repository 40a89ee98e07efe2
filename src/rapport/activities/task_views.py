"""Task pages: My work, a task's page, the task form, complete / delete and bulk changes.

Views parse the request, read through the selectors and write through the task services (the
one write path). My work never loads a user's whole backlog: each bucket is one keyset page
(the "show more" link fetches the next with htmx) and its count is capped, so the page costs
the same with 10 open tasks or 10,000.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db import transaction
from django.db.models import Q, QuerySet, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from rapport.core import targets
from rapport.core.actors import Actor, Role
from rapport.core.errors import NotFound, ValidationFailed, VersionConflict
from rapport.core.pagination import Page, Sort, keyset_page
from rapport.core.policy import can_delete, can_write, require_write
from rapport.tenancy.selectors import member_choices
from rapport.ui.views import (
    HISTORY_MORE_ID,
    form_page,
    history_for,
    htmx_target,
    workspace_required,
)

from . import selectors, services
from .models import Priority, Task, TaskStatus
from .task_forms import DEFAULT_TIME, TaskForm, local_moment, user_zone

PAGE_SIZE = 25
COUNT_CAP = 99  # a bucket with more shows "99+": counting 10,000 rows is not worth a wait
RECENT_DAYS = 30  # "Completed" lists what was done in the last month

DUE_FIRST = Sort(field="due_at", descending=False)
CREATED_FIRST = Sort(field="created_at", descending=False)
NEWEST_DONE = Sort(field="completed_at", descending=True)


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _safe_next(request: HttpRequest) -> str:
    """The same-site path to return to (``?next=``), or ""."""
    from rapport.notifications.services import is_safe_url

    value = request.POST.get("next") or request.GET.get("next") or ""
    return value if is_safe_url(value) else ""


# --- rows ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass
class Row:
    task: Task
    links: list[Link]
    due_label: str
    overdue: bool


def due_label(value: dt.datetime | None, zone: dt.tzinfo, today: dt.date) -> str:
    """A due time as people say it, in their zone: "Today 14:00", "Tomorrow 09:00",
    "Mon 3 Jun 09:00", "3 Jun 2031 09:00"."""
    if value is None:
        return ""
    local = value.astimezone(zone)
    clock = f"{local:%H:%M}"
    day = local.date()
    if day == today:
        return f"Today {clock}"
    if day == today + dt.timedelta(days=1):
        return f"Tomorrow {clock}"
    if day == today - dt.timedelta(days=1):
        return f"Yesterday {clock}"
    if day.year == today.year:
        return f"{local:%a} {day.day} {local:%b} {clock}"
    return f"{day.day} {local:%b %Y} {clock}"


def rows_for(actor: Actor, tasks: list[Task], zone: dt.tzinfo, now: dt.datetime) -> list[Row]:
    """Display rows: linked records named (one query per record type for all the rows; the
    tasks' ``targets`` must be prefetched) and due times in the user's zone."""
    refs = {(t.target_type, t.target_id) for task in tasks for t in task.targets.all()}
    names = targets.labels(actor, refs)
    today = now.astimezone(zone).date()
    rows = []
    for task in tasks:
        links = []
        for t in task.targets.all():
            label = names.get((t.target_type, str(t.target_id)))
            if label is not None:  # a record the actor cannot see is not named
                links.append(Link(label, targets.get_type(t.target_type).url(t.target_id)))
        overdue = task.status == TaskStatus.OPEN and task.due_at is not None and task.due_at < now
        rows.append(Row(task, links, due_label(task.due_at, zone, today), overdue))
    return rows


# --- My work ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    now: dt.datetime
    today_start: dt.datetime  # the user's local midnight, in UTC
    tomorrow_start: dt.datetime

    @classmethod
    def at(cls, now: dt.datetime, zone: dt.tzinfo) -> Bounds:
        today = now.astimezone(zone).date()
        start = dt.datetime.combine(today, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
        tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
        return cls(now, start, tomorrow.astimezone(dt.UTC))


@dataclass
class Bucket:
    key: str
    title: str
    empty_text: str
    rows: list[Row] = field(default_factory=list)
    next_cursor: str | None = None
    count: int = 0
    capped: bool = False

    @property
    def count_label(self) -> str:
        return f"{COUNT_CAP}+" if self.capped else str(self.count)


BUCKETS = (
    ("overdue", "Overdue", "Nothing overdue."),
    ("today", "Today", "Nothing due today."),
    ("upcoming", "Upcoming", "Nothing planned."),
    ("completed", "Completed", "Nothing completed in the last 30 days."),
)
BUCKET_KEYS = {key for key, _, _ in BUCKETS}


def _bucket_queryset(actor: Actor, key: str, assignee, bounds: Bounds) -> QuerySet:
    status = TaskStatus.DONE if key == "completed" else TaskStatus.OPEN
    qs = selectors.task_queryset(actor, selectors.TaskFilters(assignee=assignee, statuses=[status]))
    if key == "overdue":
        return qs.filter(due_at__lt=bounds.today_start)
    if key == "today":
        return qs.filter(due_at__gte=bounds.today_start, due_at__lt=bounds.tomorrow_start)
    if key == "upcoming":
        return qs.filter(Q(due_at__gte=bounds.tomorrow_start) | Q(due_at__isnull=True))
    return qs.filter(completed_at__gte=bounds.now - dt.timedelta(days=RECENT_DAYS))


def _upcoming_page(qs: QuerySet, bounds: Bounds, cursor: str | None, limit: int) -> Page:
    """Dated tasks by due time, then the undated ones oldest first: two index ranges walked
    one after the other, the cursor saying which ("d:<cursor>" or "u:<cursor>")."""
    phase, _, inner = (cursor or "d:").partition(":")
    if phase not in ("d", "u"):
        raise ValidationFailed.one("cursor", "Invalid cursor.")
    rows: list[Task] = []
    if phase == "d":
        dated = keyset_page(
            qs.filter(due_at__gte=bounds.tomorrow_start),
            sort=DUE_FIRST,
            cursor=inner or None,
            limit=limit,
        )
        if dated.next_cursor:
            return Page(dated.rows, "d:" + dated.next_cursor)
        rows, inner = dated.rows, ""
    undated_qs = qs.filter(due_at__isnull=True)
    if len(rows) == limit:  # the dated ones filled the page exactly
        return Page(rows, "u:" if undated_qs.exists() else None)
    undated = keyset_page(
        undated_qs, sort=CREATED_FIRST, cursor=inner or None, limit=limit - len(rows)
    )
    return Page(rows + undated.rows, "u:" + undated.next_cursor if undated.next_cursor else None)


def _bucket_page(qs: QuerySet, key: str, bounds: Bounds, cursor: str | None, limit: int) -> Page:
    if key == "upcoming":
        return _upcoming_page(qs, bounds, cursor, limit)
    sort = NEWEST_DONE if key == "completed" else DUE_FIRST
    return keyset_page(qs, sort=sort, cursor=cursor, limit=limit)


def _capped_count(qs: QuerySet) -> tuple[int, bool]:
    n = qs.order_by()[: COUNT_CAP + 1].count()
    return min(n, COUNT_CAP), n > COUNT_CAP


def _assignee_for(request: HttpRequest, actor: Actor, choices: list[tuple[str, str]]):
    """Whose work is shown: the actor's own, or (managers and up) a member they picked."""
    wanted = request.GET.get("assignee", "")
    if not wanted or not actor.role.at_least(Role.MANAGER):
        return actor.user_id
    if wanted not in {pk for pk, _ in choices}:
        return actor.user_id
    return uuid.UUID(wanted)


def _load_buckets(
    actor: Actor,
    assignee,
    bounds: Bounds,
    zone: dt.tzinfo,
    keys: Iterable[str],
    cursors: dict[str, str],
    *,
    counts: bool = True,
) -> list[Bucket]:
    loaded: list[tuple[Bucket, list[Task]]] = []
    for key, title, empty in BUCKETS:
        if key not in keys:
            continue
        qs = _bucket_queryset(actor, key, assignee, bounds)
        cursor = cursors.get(key) or None
        try:
            page = _bucket_page(qs, key, bounds, cursor, PAGE_SIZE)
        except ValidationFailed:  # a stale or crafted cursor: start from the top
            cursor = None
            page = _bucket_page(qs, key, bounds, None, PAGE_SIZE)
        bucket = Bucket(key, title, empty, next_cursor=page.next_cursor)
        if counts:
            if page.next_cursor is None and cursor is None:
                bucket.count = len(page.rows)  # all of it is on the page: no count query
            else:
                bucket.count, bucket.capped = _capped_count(qs)
        loaded.append((bucket, page.rows))
    # One query for the links of every row shown, one per record type for their names.
    shown = [task for _, tasks in loaded for task in tasks]
    prefetch_related_objects(shown, "targets")
    by_id = {row.task.pk: row for row in rows_for(actor, shown, zone, bounds.now)}
    for bucket, tasks in loaded:
        bucket.rows = [by_id[task.pk] for task in tasks]
    return [bucket for bucket, _ in loaded]


@require_GET
@workspace_required
def my_work(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    zone = user_zone(request.user)
    bounds = Bounds.at(timezone.now(), zone)
    is_manager = actor.role.at_least(Role.MANAGER)
    choices = member_choices(workspace=actor.workspace) if is_manager else []
    assignee = _assignee_for(request, actor, choices)
    wanted = request.GET.get("bucket", "")
    cursors = {wanted: request.GET.get("cursor", "")} if wanted in BUCKET_KEYS else {}
    query = {"assignee": str(assignee)} if assignee != actor.user_id else {}
    context: dict[str, Any] = {
        "nav": "my_work",
        "can_write": can_write(actor),
        "assignee": str(assignee),
        "mine": assignee == actor.user_id,
        "assignee_choices": choices,
        "query": urlencode(query),
        "next_url": request.get_full_path(),
        "today": bounds.now.astimezone(zone).date(),
    }
    target = htmx_target(request)
    if wanted in BUCKET_KEYS and target == f"more-{wanted}":
        # "Show more": the next rows of one bucket and its next "show more" link.
        (bucket,) = _load_buckets(actor, assignee, bounds, zone, [wanted], cursors, counts=False)
        return render(request, "activities/tasks/partials/rows.html", {**context, "bucket": bucket})
    buckets = _load_buckets(actor, assignee, bounds, zone, BUCKET_KEYS, cursors)
    assignee_name = dict(choices).get(str(assignee), "")
    return render(
        request,
        "activities/tasks/my_work.html",
        {**context, "buckets": buckets, "assignee_name": assignee_name},
    )


# --- one task -----------------------------------------------------------------------------

HISTORY_LABELS = TaskForm.history_labels()


def _owned(task: Task) -> SimpleNamespace:
    # The delete rule's "owner" of a task is its assignee (as in services.task_delete).
    return SimpleNamespace(owner_id=task.assignee_id, created_by_id=task.created_by_id)


def _history_resolvers(actor: Actor, zone: dt.tzinfo):
    def local_times(values: set[str]) -> dict[str, str]:
        out = {}
        for value in values:
            try:
                moment = dt.datetime.fromisoformat(value)
            except ValueError:
                continue
            if moment.tzinfo is not None:
                out[value] = f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"
        return out

    return {
        "assignee_id": lambda ids: dict(member_choices(workspace=actor.workspace)),
        "due_at": local_times,
        "remind_at": local_times,
        "completed_at": local_times,
        "priority": lambda ids: dict(Priority.choices),
        "status": lambda ids: dict(TaskStatus.choices),
    }


def describe_rrule(rule: str) -> str:
    """ "Every week on Mon, Thu" for the rules the form makes; the rule itself otherwise."""
    from .task_forms import KEEP_RULE, WEEKDAYS, parse_rrule

    repeat, days = parse_rrule(rule)
    if repeat == "daily":
        return "Every day"
    if repeat == "weekly":
        names = dict(WEEKDAYS)
        return "Every week" + (" on " + ", ".join(names[d] for d in days) if days else "")
    if repeat == "monthly":
        return "Every month"
    return rule if repeat == KEEP_RULE else ""


@require_GET
@workspace_required
def task_detail(request: HttpRequest, task_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    task = selectors.task_get(actor=actor, task_id=task_id)
    zone = user_zone(request.user)
    history = history_for(
        request, task, labels=HISTORY_LABELS, resolvers=_history_resolvers(actor, zone)
    )
    history_url = reverse("activities:task_detail", args=[task.pk])
    context = {
        "history": history,
        "history_url": history_url,
        "history_more_id": HISTORY_MORE_ID,
    }
    if htmx_target(request) == HISTORY_MORE_ID:
        return render(request, "ui/partials/history_entries.html", context)
    now = timezone.now()
    (row,) = rows_for(actor, [task], zone, now)
    today = now.astimezone(zone).date()
    previous = (
        Task.objects.visible_to(actor).filter(pk=task.previous_id).first()
        if task.previous_id
        else None
    )
    following = Task.objects.visible_to(actor).filter(previous=task).first()
    return render(
        request,
        "activities/tasks/detail.html",
        {
            **context,
            "nav": "my_work",
            "task": task,
            "row": row,
            "repeat": describe_rrule(task.rrule),
            "remind_label": due_label(task.remind_at, zone, today),
            "completed_label": due_label(task.completed_at, zone, today),
            "previous": previous,
            "following": following,
            "can_write": can_write(actor),
            "can_delete": can_delete(actor, _owned(task)),
            "next_url": request.get_full_path(),
        },
    )


def _target_choices(actor: Actor, refs: Iterable[tuple[str, Any]]) -> list[tuple[str, str]]:
    refs = list(refs)
    names = targets.labels(actor, refs)
    out = []
    for type_name, pk in refs:
        label = names.get((type_name, str(pk)))
        if label is not None:
            kind = targets.get_type(type_name).label
            out.append((f"{type_name}:{pk}", f"{label} ({kind})"))
    return out


@workspace_required
def task_create(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require_write(actor)
    zone = user_zone(request.user)
    refs: list[tuple[str, Any]] = []
    cancel_url = _safe_next(request) or reverse("activities:my_work")
    type_name = request.GET.get("target_type", "")
    if type_name:
        # "Add task" on a record page: the record is linked (404 if it is not visible).
        record = targets.get(actor, type_name, request.GET.get("target_id", ""))
        refs.append((type_name, record.pk))
        if not _safe_next(request):
            cancel_url = targets.get_type(type_name).url(record.pk)
    choices = _target_choices(actor, refs)
    initial = {
        "assignee": str(actor.user_id) if actor.user_id else "",
        "priority": Priority.NORMAL,
        "targets": [value for value, _ in choices],
    }
    form = TaskForm(
        request.POST or None, actor=actor, zone=zone, target_choices=choices, initial=initial
    )
    next_url = _safe_next(request)
    return form_page(
        request,
        form=form,
        save=lambda data: services.task_create(actor=actor, data=data, source="ui"),
        template="activities/tasks/form.html",
        success=lambda task: next_url or reverse("activities:task_detail", args=[task.pk]),
        message=lambda task: f"Added the task “{task.title}”.",
        title="New task",
        cancel_url=cancel_url,
        nav="my_work",
    )


@workspace_required
def task_edit(request: HttpRequest, task_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    task = selectors.task_get(actor=actor, task_id=task_id)
    require_write(actor)
    zone = user_zone(request.user)
    choices = _target_choices(actor, [(t.target_type, t.target_id) for t in task.targets.all()])
    form = TaskForm(
        request.POST or None,
        actor=actor,
        zone=zone,
        target_choices=choices,
        current=task,
        initial=TaskForm.initial_for(task, zone),
    )
    detail_url = reverse("activities:task_detail", args=[task.pk])
    return form_page(
        request,
        form=form,
        save=lambda data: services.task_update(
            actor=actor,
            task_id=task.pk,
            data=data,
            expected_version=form.expected_version,
            source="ui",
        ),
        template="activities/tasks/form.html",
        success=lambda updated: detail_url,
        message=lambda updated: f"Saved the task “{updated.title}”.",
        title=f"Edit {task.title}",
        obj=task,
        cancel_url=detail_url,
        nav="my_work",
    )


@require_POST
@workspace_required
def task_complete(request: HttpRequest, task_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    task = services.task_complete(actor=actor, task_id=task_id, source="ui")
    following = Task.objects.visible_to(actor).filter(previous=task).first()
    if htmx_target(request):
        # The row of My work or of a record's task section becomes a "done" row.
        zone = user_zone(request.user)
        today = timezone.now().astimezone(zone).date()
        return render(
            request,
            "activities/tasks/partials/done_row.html",
            {
                "task": task,
                "following": following,
                "following_due": due_label(following.due_at, zone, today) if following else "",
            },
        )
    text = f"Completed “{task.title}”."
    if following is not None:
        text += " The next occurrence is on your list."
    messages.success(request, text)
    return redirect(_safe_next(request) or reverse("activities:task_detail", args=[task.pk]))


@require_POST
@workspace_required
def task_delete(request: HttpRequest, task_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    task = selectors.task_get(actor=actor, task_id=task_id)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    try:
        services.task_delete(actor=actor, task_id=task.pk, expected_version=version, source="ui")
    except VersionConflict:
        messages.error(
            request, f"“{task.title}” was changed since you opened the page: check, then retry."
        )
        return redirect("activities:task_detail", task.pk)
    messages.success(
        request,
        format_html(
            'Deleted the task “{}”. <a href="{}">Restore it from the trash</a>',
            task.title,
            reverse("activities:trash") + "?kind=tasks",
        ),
    )
    next_url = _safe_next(request)
    if next_url == reverse("activities:task_detail", args=[task.pk]):
        next_url = ""  # (that page is gone now)
    return redirect(next_url or reverse("activities:my_work"))


# --- bulk ---------------------------------------------------------------------------------


def _shifted(due: dt.datetime | None, zone: dt.tzinfo, *, days: int = 0, day=None) -> dt.datetime:
    """A new due time on the user's wall clock: the same local time ``days`` later or on
    ``day`` (a daylight-saving change does not move 9:00 to 10:00). Undated tasks get 9:00."""
    if due is None:
        start = day or (timezone.now().astimezone(zone).date() + dt.timedelta(days=days))
        return local_moment(start, DEFAULT_TIME, zone)
    local = due.astimezone(zone)
    target = day or (local.date() + dt.timedelta(days=days))
    return local_moment(target, local.time().replace(tzinfo=None), zone)


def _reschedule(actor: Actor, ids: list[uuid.UUID], zone: dt.tzinfo, *, days=0, day=None) -> int:
    found = dict(Task.objects.visible_to(actor).filter(pk__in=ids).values_list("pk", "due_at"))
    if len(found) != len(set(ids)):
        raise NotFound("No such task.")
    groups: dict[dt.datetime, list[uuid.UUID]] = {}
    for pk in ids:
        groups.setdefault(_shifted(found[pk], zone, days=days, day=day), []).append(pk)
    with transaction.atomic():  # all or nothing, like one service call
        return sum(
            services.tasks_reschedule(actor=actor, task_ids=pks, due_at=due, source="ui")
            for due, pks in groups.items()
        )


@require_POST
@workspace_required
def tasks_bulk(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require_write(actor)
    back = _safe_next(request) or reverse("activities:my_work")
    try:
        ids = list(dict.fromkeys(uuid.UUID(v) for v in request.POST.getlist("ids")))
    except ValueError:
        ids = []
    action = request.POST.get("action", "")
    if not ids:
        messages.error(request, "Tick at least one task first.")
        return redirect(back)
    if len(ids) > services.MAX_BULK_TASKS:
        messages.error(request, f"Select at most {services.MAX_BULK_TASKS} tasks at once.")
        return redirect(back)
    zone = user_zone(request.user)
    try:
        if action == "complete":
            n = services.tasks_complete(actor=actor, task_ids=ids, source="ui")
            messages.success(request, f"Completed {n} task{'s' if n != 1 else ''}.")
        elif action in ("shift_1", "shift_7"):
            days = 1 if action == "shift_1" else 7
            n = _reschedule(actor, ids, zone, days=days)
            by = "a day" if days == 1 else "a week"
            messages.success(request, f"Moved {n} task{'s' if n != 1 else ''} by {by}.")
        elif action == "date":
            try:
                day = dt.date.fromisoformat(request.POST.get("date", ""))
            except ValueError:
                messages.error(request, "Pick the date to move the tasks to.")
                return redirect(back)
            n = _reschedule(actor, ids, zone, day=day)
            messages.success(request, f"Moved {n} task{'s' if n != 1 else ''} to {day:%d %b %Y}.")
        else:
            messages.error(request, "Choose what to do with the ticked tasks.")
    except ValidationFailed as exc:
        messages.error(request, f"Nothing was changed: {exc.detail}")
    return redirect(back)


urlpatterns = [
    path("my-work/", my_work, name="my_work"),
    path("tasks/new/", task_create, name="task_create"),
    path("tasks/bulk/", tasks_bulk, name="tasks_bulk"),
    path("tasks/<uuid:task_id>/", task_detail, name="task_detail"),
    path("tasks/<uuid:task_id>/edit/", task_edit, name="task_edit"),
    path("tasks/<uuid:task_id>/complete/", task_complete, name="task_complete"),
    path("tasks/<uuid:task_id>/delete/", task_delete, name="task_delete"),
]
