import time
import uuid

import pytest
from django.apps import apps
from django.db import models

from rapport.audit.models import AuditEntry
from rapport.core import ids
from rapport.core.ids import new_id
from rapport.testing.factories import PersonFactory


def test_ids_are_version_7_standard_uuids_that_grow_with_time():
    before = time.time_ns() // 1_000_000
    made = [new_id() for _ in range(20_000)]  # many land in the same millisecond
    after = time.time_ns() // 1_000_000

    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(type(i) is uuid.UUID for i in made)  # the batch writers test the exact class
    assert {i.version for i in made} == {7}
    assert {i.variant for i in made} == {uuid.RFC_4122}
    assert before <= made[0].int >> 80 <= made[-1].int >> 80 <= after


def test_a_spent_counter_moves_to_the_next_millisecond(monkeypatch):
    now = time.time_ns() // 1_000_000 + 60_000  # ahead of the clock: the counter path is taken
    monkeypatch.setattr(ids, "_last_ms", now)
    monkeypatch.setattr(ids, "_counter", ids._COUNTER_MAX)

    first, second = new_id(), new_id()

    assert first.int >> 80 == now + 1
    assert first < second and second.int >> 80 == now + 1


@pytest.mark.django_db
def test_every_model_with_a_uuid_key_makes_time_ordered_ids(owner):
    keyed = [
        m
        for m in apps.get_models()
        if m.__module__.startswith("rapport.") and isinstance(m._meta.pk, models.UUIDField)
    ]
    assert len(keyed) > 40
    assert all(m._meta.pk.default is new_id for m in keyed), [
        m.__name__ for m in keyed if m._meta.pk.default is not new_id
    ]
    person = PersonFactory(workspace=owner.workspace)
    assert person.pk.version == 7
    # The batch audit writer makes its own ids: the same kind.
    assert AuditEntry.objects.get(object_id=str(person.pk)).pk.version == 7
