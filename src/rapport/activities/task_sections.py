"""The "Tasks" section of person and company pages: the record's next open tasks (overdue ones
highlighted), a complete button per task and "Add task" prefilled with the record.

Registered when ``ActivitiesConfig.ready()`` imports this module. Two queries whatever the
number of tasks: the first few open tasks by due date (one more than shown, to know there
are more) and, only when there are more, a capped count.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import F
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from rapport.core import targets
from rapport.core.actors import Actor
from rapport.core.policy import can_write
from rapport.ui import sections

from . import selectors
from .models import TaskStatus
from .task_forms import user_zone
from .task_views import COUNT_CAP, due_label

SECTION_LIMIT = 5


def tasks_context(request: HttpRequest, actor: Actor, obj: Any) -> dict | None:
    target = targets.type_of(obj)
    open_tasks = selectors.task_queryset(
        actor, selectors.TaskFilters(statuses=[TaskStatus.OPEN])
    ).filter(targets__target_type=target.name, targets__target_id=obj.pk)
    rows = list(
        open_tasks.select_related("assignee").order_by(F("due_at").asc(nulls_last=True), "id")[
            : SECTION_LIMIT + 1
        ]
    )
    writable = can_write(actor)
    if not rows and not writable:
        return None  # nothing to show and nothing the reader may add
    more = len(rows) > SECTION_LIMIT
    rows = rows[:SECTION_LIMIT]
    count = open_tasks.order_by()[: COUNT_CAP + 1].count() if more else len(rows)
    now = timezone.now()
    zone = user_zone(request.user)
    today = now.astimezone(zone).date()
    record_url = target.url(obj.pk)
    add_query = urlencode({"target_type": target.name, "target_id": obj.pk, "next": record_url})
    return {
        "rows": [
            {
                "task": task,
                "due_label": due_label(task.due_at, zone, today),
                "overdue": task.due_at is not None and task.due_at < now,
            }
            for task in rows
        ],
        "more": more,
        "count_label": f"{COUNT_CAP}+" if count > COUNT_CAP else str(count),
        "can_write": writable,
        "add_url": reverse("activities:task_create") + "?" + add_query,
        "record_url": record_url,
    }


# Registered on import (from ActivitiesConfig.ready()).
for _object_type in ("person", "company"):
    sections.register(
        _object_type,
        sections.Section(
            key="tasks",
            title="Tasks",
            template="activities/tasks/section.html",
            context=tasks_context,
            order=20,
            column="side",
        ),
    )
