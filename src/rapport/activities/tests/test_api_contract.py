"""The shared CRUD / auth / role / isolation / query-count contract for interactions and tasks."""

from __future__ import annotations

from rapport.testing.factories import PersonFactory
from rapport.testing.suites import ApiContractSuite, Resource


def _person(client, n: int) -> str:
    # made by the system, not the client: a read-only client's payload needs a record too
    return str(PersonFactory(workspace=client.workspace, last_name=f"Person {n}").pk)


ACTIVITIES = Resource(
    path="/activities",
    object_type="activities.activity",
    payload=lambda client, n: {
        "type": "call",
        "subject": f"Call {n}",
        "direction": "outbound",
        "data": {"duration_s": 60 + n, "outcome": "connected"},
        "targets": [{"type": "person", "id": _person(client, n)}],
    },
    update={"subject": "Renamed call"},
)

TASKS = Resource(
    path="/tasks",
    object_type="activities.task",
    payload=lambda client, n: {
        "title": f"Task {n}",
        "due_at": "2030-01-01T09:00:00Z",
        "targets": [{"type": "person", "id": _person(client, n)}],
    },
    update={"title": "Renamed task", "priority": "high"},
)


class TestActivitiesContract(ApiContractSuite):
    resource = ACTIVITIES


class TestTasksContract(ApiContractSuite):
    resource = TASKS
