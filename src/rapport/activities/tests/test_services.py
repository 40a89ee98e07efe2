"""Interactions and tasks through their services: validation, links, timelines, recurrence."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.activities import selectors, services
from rapport.activities.models import Activity, ActivityTarget, Task, TaskStatus
from rapport.contacts import merging
from rapport.contacts import services as contact_services
from rapport.core.errors import Duplicate, NotFound, ValidationFailed
from rapport.testing.factories import CompanyFactory, MembershipFactory, PersonFactory, actor_for

pytestmark = pytest.mark.django_db


def _fields(exc: ValidationFailed) -> set[str]:
    return {e.field for e in exc.errors}


def _note(actor, person, body="Hello", **extra):
    return services.activity_create(
        actor=actor,
        data={"type": "note", "body": body, "targets": [{"type": "person", "id": person.pk}]}
        | extra,
    )


# --- interactions ------------------------------------------------------------------------------


def test_a_note_renders_markdown_and_never_raw_html(actor):
    person = PersonFactory(actor=actor)
    note = _note(actor, person, body="**Bold** <script>alert(1)</script> [x](javascript:alert(1))")
    assert "<strong>Bold</strong>" in note.body_html
    assert "<script" not in note.body_html
    assert "&lt;script&gt;" in note.body_html
    assert 'href="javascript:' not in note.body_html  # shown as text, never a link
    assert note.author_id == actor.user_id
    assert note.version == 1


def test_mentions_by_token_and_by_email_are_resolved_to_members(actor):
    colleague = MembershipFactory(workspace=actor.workspace, role="member").user
    outsider = MembershipFactory(role="member").user  # another workspace
    person = PersonFactory(actor=actor)
    body = (
        f"Ask @[Anyone](user:{colleague.pk}) and @{outsider.email} "
        f"and @[Forged](user:{outsider.pk})"
    )
    note = _note(actor, person, body=body)
    assert note.data["mentions"] == [str(colleague.pk)]
    assert '<span class="mention">@' in note.body_html
    assert "Forged" in note.body_html  # an unknown id keeps its text, not a member's label


def test_each_kind_validates_its_own_fields(actor):
    person = PersonFactory(actor=actor)
    target = [{"type": "person", "id": str(person.pk)}]
    with pytest.raises(ValidationFailed) as exc:
        services.activity_create(
            actor=actor,
            data={
                "type": "call",
                "targets": target,
                "data": {"duration_s": -1, "outcome": "maybe", "colour": "red", "phone": "abc"},
            },
        )
    assert {"data.duration_s", "data.outcome", "data.colour", "data.phone"} <= _fields(exc.value)
    with pytest.raises(ValidationFailed) as exc:
        services.activity_create(
            actor=actor,
            data={
                "type": "meeting",
                "targets": target,
                "data": {"starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T09:00:00Z"},
            },
        )
    assert _fields(exc.value) == {"data.ends_at"}
    with pytest.raises(ValidationFailed) as exc:
        services.activity_create(actor=actor, data={"type": "telegram", "targets": target})
    assert "type" in _fields(exc.value)
    with pytest.raises(ValidationFailed) as exc:
        services.activity_create(actor=actor, data={"type": "note", "body": "x"})
    assert _fields(exc.value) == {"targets"}
    assert Activity.objects.count() == 0


def test_targets_of_another_workspace_are_refused_by_path(actor):
    stranger = PersonFactory()  # another workspace
    mine = PersonFactory(actor=actor)
    with pytest.raises(ValidationFailed) as exc:
        services.activity_create(
            actor=actor,
            data={
                "type": "note",
                "body": "x",
                "targets": [
                    {"type": "person", "id": str(mine.pk)},
                    {"type": "person", "id": str(stranger.pk)},
                    {"type": "planet", "id": str(mine.pk)},
                    {"type": "person", "id": "not-an-id"},
                ],
            },
        )
    assert _fields(exc.value) == {"targets.1.id", "targets.2.type", "targets.3.id"}


def test_a_meeting_shows_on_every_attendee_and_their_companies(actor):
    acme, globex = CompanyFactory(actor=actor), CompanyFactory(actor=actor)
    ada = PersonFactory(actor=actor, company=str(acme.pk), email="ada@acme.example")
    bob = PersonFactory(actor=actor, company=str(acme.pk), email="bob@acme.example")
    cy = PersonFactory(actor=actor, company=str(globex.pk), email="cy@globex.example")
    meeting = services.activity_create(
        actor=actor,
        data={
            "type": "meeting",
            "subject": "Kick-off",
            "targets": [{"type": "person", "id": str(ada.pk)}],
            "data": {
                "starts_at": "2030-03-01T10:00:00+01:00",
                "ends_at": "2030-03-01T11:00:00+01:00",
                "attendees": [
                    {"email": "BOB@acme.example", "name": "Bob"},
                    {"email": "cy@globex.example"},
                    {"email": "outsider@elsewhere.example"},
                ],
            },
        },
    )
    assert meeting.occurred_at == dt.datetime(2030, 3, 1, 9, 0, tzinfo=dt.UTC)
    links = set(ActivityTarget.objects.filter(activity=meeting).values_list("target_id", "rollup"))
    assert links == {
        (ada.pk, False),
        (bob.pk, False),
        (cy.pk, False),
        (acme.pk, True),
        (globex.pk, True),
    }
    for record_type, record in [
        ("person", ada),
        ("person", bob),
        ("person", cy),
        ("company", acme),
        ("company", globex),
    ]:
        page = selectors.timeline(actor=actor, target_type=record_type, target_id=record.pk)
        assert [i.id for i in page.items if i.kind == "meeting"] == [meeting.pk]


def test_a_channel_message_id_is_logged_once(actor):
    person = PersonFactory(actor=actor)
    data = {
        "type": "sms",
        "channel": "twilio",
        "external_id": "SM123",
        "targets": [{"type": "person", "id": str(person.pk)}],
    }
    first = services.activity_create(actor=actor, data=data)
    with pytest.raises(Duplicate) as exc:
        services.activity_create(actor=actor, data=data)
    assert exc.value.existing_id == str(first.pk)
    # the same id from another channel is another message
    services.activity_create(actor=actor, data=data | {"channel": "vonage"})


def test_email_html_is_sanitised(actor):
    person = PersonFactory(actor=actor)
    email = services.activity_create(
        actor=actor,
        data={
            "type": "email",
            "direction": "inbound",
            "subject": "Hi",
            "body": "text part",
            "targets": [{"type": "person", "id": str(person.pk)}],
            "data": {
                "from": "Sender@Example.com",
                "to": ["me@example.com"],
                "html": '<p onclick="x()">Hi <img src="https://t.example/p.gif">'
                '<script>alert(1)</script><a href="javascript:alert(1)">x</a></p>',
            },
        },
    )
    assert "html" not in email.data
    assert email.data["from"] == "sender@example.com"
    assert "<script" not in email.body_html and "alert" not in email.body_html
    assert "onclick" not in email.body_html and "javascript:" not in email.body_html
    assert 'src="https://t.example/p.gif"' in email.body_html  # blocked by the frame's CSP


def test_update_rewrites_links_and_keeps_their_copies_in_step(actor):
    a, b = PersonFactory(actor=actor), PersonFactory(actor=actor)
    note = _note(actor, a)
    services.activity_update(
        actor=actor,
        activity_id=note.pk,
        data={"occurred_at": "2020-01-01T00:00:00Z", "pinned": True},
        expected_version=1,
    )
    link = ActivityTarget.objects.get(activity=note)
    assert link.occurred_at == dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    services.activity_update(
        actor=actor, activity_id=note.pk, data={"targets": [{"type": "person", "id": str(b.pk)}]}
    )
    assert list(
        ActivityTarget.objects.filter(activity=note).values_list("target_id", flat=True)
    ) == [b.pk]
    note.refresh_from_db()
    assert note.version == 3 and note.pinned


def test_an_interaction_of_a_trashed_record_only_is_hidden(actor):
    person = PersonFactory(actor=actor)
    note = _note(actor, person)
    assert selectors.activity_get(actor=actor, activity_id=note.pk)
    contact_services.person_delete(actor=actor, person_id=person.pk)
    with pytest.raises(NotFound):
        selectors.activity_get(actor=actor, activity_id=note.pk)
    page = selectors.activity_list(actor=actor, filters=selectors.ActivityFilters())
    assert note.pk not in [a.pk for a in page.rows]


def test_merging_people_moves_their_interactions_and_tasks(actor):
    keep, lose = PersonFactory(actor=actor), PersonFactory(actor=actor)
    both = services.activity_create(
        actor=actor,
        data={
            "type": "note",
            "body": "both",
            "targets": [
                {"type": "person", "id": str(keep.pk)},
                {"type": "person", "id": str(lose.pk)},
            ],
        },
    )
    only_loser = _note(actor, lose, body="only the loser")
    task = services.task_create(
        actor=actor,
        data={"title": "Call back", "targets": [{"type": "person", "id": str(lose.pk)}]},
    )
    merging.person_merge(actor=actor, into_id=keep.pk, from_id=lose.pk)
    page = selectors.timeline(actor=actor, target_type="person", target_id=keep.pk)
    ids = [i.id for i in page.items]
    assert both.pk in ids and only_loser.pk in ids and task.pk in ids
    assert ids.count(both.pk) == 1


# --- the timeline ----------------------------------------------------------------------------


def test_timeline_pages_merge_sources_without_gaps_or_repeats(actor):
    person = PersonFactory(actor=actor)
    base = timezone.now() - dt.timedelta(days=30)
    made = []
    for i in range(25):
        made.append(_note(actor, person, body=f"n{i}", occurred_at=base + dt.timedelta(hours=i)).pk)
    for i in range(7):
        made.append(
            services.task_create(
                actor=actor,
                data={"title": f"t{i}", "targets": [{"type": "person", "id": str(person.pk)}]},
            ).pk
        )
    contact_services.person_update(
        actor=actor, person_id=person.pk, data={"lifecycle_stage": "customer"}
    )
    seen, cursor = [], None
    for _ in range(20):
        page = selectors.timeline(
            actor=actor, target_type="person", target_id=person.pk, cursor=cursor, limit=4
        )
        seen.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    keys = [(i.at, i.id) for i in seen]
    assert keys == sorted(keys, reverse=True)
    assert len(set(keys)) == len(keys)
    assert set(made) <= {i.id for i in seen}
    changes = [i for i in seen if i.kind == "change"]
    assert {c.obj.action for c in changes} == {"contact.created", "contact.updated"}


def test_timeline_filters_by_kind_and_pins_notes(actor):
    person = PersonFactory(actor=actor)
    pinned = _note(actor, person, body="pinned", pinned=True)
    services.activity_create(
        actor=actor,
        data={"type": "call", "targets": [{"type": "person", "id": str(person.pk)}]},
    )
    page = selectors.timeline(
        actor=actor, target_type="person", target_id=person.pk, kinds=["call"]
    )
    assert {i.kind for i in page.items} == {"call"}
    assert page.pinned == []
    page = selectors.timeline(actor=actor, target_type="person", target_id=person.pk)
    assert [a.pk for a in page.pinned] == [pinned.pk]


def test_timeline_of_an_invisible_record_is_not_found(actor):
    stranger = PersonFactory()
    with pytest.raises(NotFound):
        selectors.timeline(actor=actor, target_type="person", target_id=stranger.pk)


def test_summary_counts_the_last_90_days_by_type(actor):
    person = PersonFactory(actor=actor)
    old = timezone.now() - dt.timedelta(days=120)
    _note(actor, person, occurred_at=old)
    for _ in range(2):
        services.activity_create(
            actor=actor,
            data={"type": "call", "targets": [{"type": "person", "id": str(person.pk)}]},
        )
    _note(actor, person)
    services.task_create(
        actor=actor,
        data={
            "title": "soon",
            "due_at": timezone.now() + dt.timedelta(days=1),
            "targets": [{"type": "person", "id": str(person.pk)}],
        },
    )
    figures = selectors.summary(actor=actor, target_type="person", record=person)
    assert [(t, n) for t, _, n in figures.by_type] == [("call", 2), ("note", 1)]
    assert figures.last.type == "note"
    assert figures.open_tasks == 1 and figures.next_task.title == "soon"


# --- tasks ------------------------------------------------------------------------------------


def _due(days=0):
    return (timezone.now() + dt.timedelta(days=days)).replace(microsecond=0)


def test_a_weekly_task_rolls_forward_once_and_counts_down(actor):
    due = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)  # a Monday
    task = services.task_create(
        actor=actor,
        data={
            "title": "Weekly report",
            "due_at": due,
            "remind_at": due - dt.timedelta(hours=1),
            "rrule": "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=3",
        },
    )
    services.task_complete(actor=actor, task_id=task.pk)
    second = Task.objects.get(previous=task)
    assert second.due_at == dt.datetime(2030, 1, 10, 9, 0, tzinfo=dt.UTC)  # Thursday
    assert second.remind_at == second.due_at - dt.timedelta(hours=1)
    assert second.rrule.endswith("COUNT=2")
    # reopening and completing again does not make another occurrence
    services.task_update(actor=actor, task_id=task.pk, data={"status": "open"})
    services.task_complete(actor=actor, task_id=task.pk)
    assert Task.objects.filter(previous=task).count() == 1
    services.task_complete(actor=actor, task_id=second.pk)
    third = Task.objects.get(previous=second)
    assert third.rrule.endswith("COUNT=1")
    services.task_complete(actor=actor, task_id=third.pk)
    assert not Task.objects.filter(previous=third).exists()


def test_task_rules_are_checked(actor):
    with pytest.raises(ValidationFailed) as exc:
        services.task_create(actor=actor, data={"title": "x", "rrule": "FREQ=HOURLY"})
    assert "rrule" in _fields(exc.value)
    with pytest.raises(ValidationFailed) as exc:
        services.task_create(actor=actor, data={"title": "x", "rrule": "FREQ=DAILY"})
    assert _fields(exc.value) == {"rrule"}  # needs a due date
    with pytest.raises(ValidationFailed) as exc:
        services.task_create(
            actor=actor, data={"title": "x", "due_at": _due(1), "remind_at": _due(2)}
        )
    assert _fields(exc.value) == {"remind_at"}
    with pytest.raises(ValidationFailed) as exc:
        services.task_create(actor=actor, data={"title": " ", "assignee": "nobody"})
    assert _fields(exc.value) == {"title", "assignee"}
    outsider = MembershipFactory(role="member").user
    with pytest.raises(ValidationFailed):
        services.task_create(actor=actor, data={"title": "x", "assignee": str(outsider.pk)})


def test_bulk_reschedule_keeps_each_reminder_offset_and_bulk_complete(actor):
    due = _due(1)
    a = services.task_create(
        actor=actor, data={"title": "a", "due_at": due, "remind_at": due - dt.timedelta(hours=2)}
    )
    b = services.task_create(actor=actor, data={"title": "b"})
    assert services.tasks_reschedule(actor=actor, task_ids=[a.pk, b.pk], shift_days=7) == 2
    a.refresh_from_db()
    assert a.due_at == due + dt.timedelta(days=7)
    assert a.remind_at == a.due_at - dt.timedelta(hours=2)
    assert services.tasks_complete(actor=actor, task_ids=[a.pk, b.pk, a.pk]) == 2
    assert set(Task.objects.values_list("status", flat=True)) == {TaskStatus.DONE}
    assert services.tasks_complete(actor=actor, task_ids=[a.pk]) == 0


def test_a_personal_task_is_seen_by_its_people_only(actor):
    colleague = actor_for(MembershipFactory(workspace=actor.workspace, role="member"))
    mine = services.task_create(actor=actor, data={"title": "private"})
    with pytest.raises(NotFound):
        selectors.task_get(actor=colleague, task_id=mine.pk)
    person = PersonFactory(actor=actor)
    linked = services.task_create(
        actor=actor, data={"title": "linked", "targets": [{"type": "person", "id": str(person.pk)}]}
    )
    assert selectors.task_get(actor=colleague, task_id=linked.pk)


def test_a_rescheduled_meeting_moves_on_the_timeline(actor):
    person = PersonFactory(actor=actor)
    meeting = services.activity_create(
        actor=actor,
        data={
            "type": "meeting",
            "targets": [{"type": "person", "id": str(person.pk)}],
            "data": {"starts_at": "2030-01-01T10:00:00Z"},
        },
    )
    services.activity_update(
        actor=actor, activity_id=meeting.pk, data={"data": {"starts_at": "2030-02-01T10:00:00Z"}}
    )
    meeting.refresh_from_db()
    assert meeting.occurred_at == dt.datetime(2030, 2, 1, 10, tzinfo=dt.UTC)
    assert ActivityTarget.objects.get(activity=meeting).occurred_at == meeting.occurred_at


def test_a_mention_added_by_an_edit_is_in_the_audit_diff(actor):
    from rapport.audit.models import AuditEntry

    colleague = MembershipFactory(workspace=actor.workspace, role="member").user
    note = _note(actor, PersonFactory(actor=actor), body="plain")
    services.activity_update(
        actor=actor, activity_id=note.pk, data={"body": f"ask @[X](user:{colleague.pk})"}
    )
    entry = AuditEntry.objects.get(object_id=str(note.pk), action="activity.updated")
    assert entry.changes["data"]["before"] == {}
    assert entry.changes["data"]["after"] == {"mentions": [str(colleague.pk)]}
