"""The trash of interactions and tasks: a deleted interaction keeps its links aside and gets
them back on restore, through the service, the API and the page; restoring follows the delete
rule; a purge takes the kept links of the records it deletes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.activities import services
from rapport.activities.models import Activity, ActivityTarget, Task, TrashedActivityTarget
from rapport.audit.models import AuditEntry
from rapport.contacts import services as contact_services
from rapport.contacts.models import Person
from rapport.core.actors import Role
from rapport.core.errors import NotFound, PermissionDenied
from rapport.testing.clients import make_browser
from rapport.testing.factories import CompanyFactory, MembershipFactory, PersonFactory, actor_for
from rapport.testing.suites import assert_problem

pytestmark = pytest.mark.django_db

TRASH = "/activities/trash/"
RESTORE = "/activities/trash/restore/"


def _note(actor, *people, body="Hello"):
    return services.activity_create(
        actor=actor,
        data={
            "type": "note",
            "body": body,
            "targets": [{"type": "person", "id": p.pk} for p in people],
        },
    )


def _task(actor, *people, title="Call back", **extra):
    return services.task_create(
        actor=actor,
        data={"title": title, "targets": [{"type": "person", "id": p.pk} for p in people], **extra},
    )


def _links(activity) -> set:
    return set(
        ActivityTarget.objects.filter(activity=activity).values_list(
            "target_type", "target_id", "rollup"
        )
    )


def _member(workspace, role: Role):
    return actor_for(MembershipFactory(workspace=workspace, role=role.value))


def test_a_restored_interaction_is_back_on_every_timeline_it_was_on(actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    ada = PersonFactory(actor=actor, company=acme.pk)
    grace = PersonFactory(actor=actor)
    note = _note(actor, ada, grace, body="Talked pricing")
    before = _links(note)
    assert ("company", acme.pk, True) in before  # her company's rollup

    services.activity_delete(actor=actor, activity_id=note.pk, source="ui")
    assert _links(note) == set()  # on no timeline while in the trash
    assert TrashedActivityTarget.objects.filter(activity=note).count() == 3

    restored = services.activity_restore(actor=actor, activity_id=note.pk, source="api")
    assert restored.deleted_at is None and restored.deleted_by is None
    assert restored.version == note.version + 2  # deleted, then restored
    assert _links(note) == before  # the rollup as it was written, not recomputed
    assert not TrashedActivityTarget.objects.filter(activity=note).exists()
    entry = AuditEntry.objects.get(object_id=str(note.pk), action="activity.restored")
    assert entry.source == "api" and entry.changes["deleted_at"]["after"] is None
    with pytest.raises(NotFound):  # no longer in the trash
        services.activity_restore(actor=actor, activity_id=note.pk)


def test_restoring_follows_the_delete_rule(actor):
    ada = PersonFactory(actor=actor)
    workspace = actor.workspace
    note, task = _note(actor, ada), _task(actor, ada)
    services.activity_delete(actor=actor, activity_id=note.pk)
    services.task_delete(actor=actor, task_id=task.pk)

    member = _member(workspace, Role.MEMBER)
    reader = _member(workspace, Role.READ_ONLY)
    for who in (member, reader):
        assert not services.may_restore(who, note)
        with pytest.raises(PermissionDenied):
            services.activity_restore(actor=who, activity_id=note.pk)
        with pytest.raises(PermissionDenied):
            services.task_restore(actor=who, task_id=task.pk)

    manager = _member(workspace, Role.MANAGER)
    assert services.may_restore(manager, note)
    services.activity_restore(actor=manager, activity_id=note.pk)
    services.task_restore(actor=manager, task_id=task.pk)
    task.refresh_from_db()
    assert task.deleted_at is None
    assert AuditEntry.objects.filter(object_id=str(task.pk), action="task.restored").count() == 1

    # a member restores what they wrote themselves
    own = _note(member, ada)
    services.activity_delete(actor=member, activity_id=own.pk)
    services.activity_restore(actor=member, activity_id=own.pk)


def test_purging_a_record_takes_its_kept_links_and_what_was_only_its_own(actor):
    ada, grace = PersonFactory(actor=actor), PersonFactory(actor=actor)
    only_ada = _note(actor, ada, body="Ada's words")
    shared = _note(actor, ada, grace)
    for note in (only_ada, shared):
        services.activity_delete(actor=actor, activity_id=note.pk)

    contact_services.person_delete(actor=actor, person_id=ada.pk)
    Person.objects.filter(pk=ada.pk).update(deleted_at=timezone.now() - dt.timedelta(days=31))
    assert contact_services.trash_purge(actor=actor) == 1

    # The trashed note only about Ada goes for good at once, with its audit entry.
    assert not Activity.objects.filter(pk=only_ada.pk).exists()
    assert AuditEntry.objects.filter(object_id=str(only_ada.pk), action="activity.purged").exists()
    # The shared one waits in the trash, and comes back linked to Grace alone.
    assert not TrashedActivityTarget.objects.filter(target_id=ada.pk).exists()
    services.activity_restore(actor=actor, activity_id=shared.pk)
    assert _links(shared) == {("person", grace.pk, False)}


def test_api_restores_interactions_and_tasks(api, other_api, api_as):
    ada = api.post("/contacts", {"first_name": "Ada"}).json()
    note = api.post(
        "/activities",
        {"type": "note", "body": "hi", "targets": [{"type": "person", "id": ada["id"]}]},
    ).json()
    task = api.post(
        "/tasks", {"title": "Call", "targets": [{"type": "person", "id": ada["id"]}]}
    ).json()
    assert_problem(api.post(f"/activities/{note['id']}/restore"), 404)  # not deleted
    assert api.delete(f"/activities/{note['id']}").status_code == 204
    assert api.delete(f"/tasks/{task['id']}").status_code == 204
    assert api.get("/activities", {"target": ada["id"]}).json()["results"] == []

    assert_problem(other_api.post(f"/activities/{note['id']}/restore"), 404)
    assert_problem(other_api.post(f"/tasks/{task['id']}/restore"), 404)
    reader = api_as(Role.READ_ONLY)
    assert_problem(reader.post(f"/activities/{note['id']}/restore"), 403)

    r = api.post(f"/activities/{note['id']}/restore")
    assert r.status_code == 200, r.content[:300]
    assert r.json()["targets"] == [{"type": "person", "id": ada["id"]}]
    assert [a["id"] for a in api.get("/activities", {"target": ada["id"]}).json()["results"]] == [
        note["id"]
    ]
    r = api.post(f"/tasks/{task['id']}/restore")
    assert r.status_code == 200 and r.json()["id"] == task["id"]
    assert_problem(api.post(f"/tasks/{task['id']}/restore"), 404)  # once is enough


# --- the page -------------------------------------------------------------------------------


@pytest.fixture
def me(browser):
    return actor_for(browser.membership)


def html_of(response) -> str:
    return response.content.decode()


def _rows(response) -> list:
    return [obj for obj, _links, _can in response.context["rows"]]


def test_the_page_lists_deleted_interactions_and_tasks_with_their_records(browser, me):
    ada = PersonFactory(actor=me, first_name="Ada", last_name="<b>Lovelace</b>")
    live = _note(me, ada, body="still here")
    gone = _note(me, ada, body="Gone <script>alert(1)</script> Ünïcode")
    services.activity_delete(actor=me, activity_id=gone.pk)
    task = _task(me, ada, title="Send the deck")
    services.task_delete(actor=me, task_id=task.pk)

    r = browser.get(TRASH)
    assert r.status_code == 200
    assert _rows(r) == [gone]
    html = r.content.decode()
    assert "Gone &lt;script&gt;alert(1)&lt;/script&gt; Ünïcode" in html
    assert "<script>alert(1)" not in html and "<b>Lovelace" not in html
    assert f'href="/people/{ada.pk}/"' in html  # linked to
    assert live.body not in html
    assert 'aria-current="page"' in html and "/deals/trash/" in html  # the trash tabs

    r = browser.get(TRASH, {"kind": "tasks"})
    assert _rows(r) == [task] and "Send the deck" in r.content.decode()
    # unknown kinds show interactions; a stale cursor says so and starts again
    assert _rows(browser.get(TRASH, {"kind": "nope"})) == [gone]
    stale = browser.get(TRASH, {"cursor": "garbage"})
    assert stale.status_code == 200 and "out of date" in stale.content.decode()


def test_restore_from_the_page(browser, me):
    ada = PersonFactory(actor=me)
    note = _note(me, ada, body="bring me back")
    r = browser.post(f"/activities/{note.pk}/delete/", {"version": str(note.version)})
    flash = browser.get(r["Location"]).content.decode()
    assert '<a href="/activities/trash/?kind=interactions">Restore it from the trash</a>' in flash

    r = browser.post(RESTORE, {"activity": str(note.pk)})
    assert r.status_code == 302 and r["Location"] == "/activities/trash/?kind=interactions"
    assert "Restored" in browser.get(r["Location"]).content.decode()
    assert "bring me back" in browser.get(f"/people/{ada.pk}/").content.decode()
    # a second click, or nonsense, changes nothing and says why
    again = browser.post(RESTORE, {"activity": str(note.pk)}, follow=True).content.decode()
    assert "no longer in the trash" in again
    junk = browser.post(RESTORE, {"activity": "not-an-id"}, follow=True).content.decode()
    assert "Nothing to restore" in junk

    task = _task(me, ada)
    r = browser.post(f"/tasks/{task.pk}/delete/", {"version": str(task.version)}, follow=True)
    assert '<a href="/activities/trash/?kind=tasks">Restore it from the trash</a>' in html_of(r)
    r = browser.post(RESTORE, {"task": str(task.pk)})
    assert r["Location"] == "/activities/trash/?kind=tasks"
    task.refresh_from_db()
    assert task.deleted_at is None


def test_who_sees_the_page_and_another_workspace(browser, me):
    workspace = browser.membership.workspace
    reader, _ = make_browser(Role.READ_ONLY, workspace=workspace)
    assert reader.get(TRASH).status_code == 403
    member, _ = make_browser(Role.MEMBER, workspace=workspace)
    ada = PersonFactory(actor=me)
    note = _note(me, ada)
    services.activity_delete(actor=me, activity_id=note.pk)
    r = member.get(TRASH)
    assert _rows(r) == [note]  # seen, as the live one was ...
    assert "Its author or a manager can restore it" in r.content.decode()  # ... not restorable
    assert member.post(RESTORE, {"activity": str(note.pk)}).status_code == 403

    other, _ = make_browser(Role.OWNER)
    assert _rows(other.get(TRASH)) == []
    assert other.post(RESTORE, {"activity": str(note.pk)}, follow=True).status_code == 200
    note.refresh_from_db()
    assert note.deleted_at is not None


def test_the_page_costs_the_same_queries_however_many_rows(browser, me):
    def deleted_notes(n):
        for _ in range(n):
            person = PersonFactory(actor=me)
            services.activity_delete(actor=me, activity_id=_note(me, person).pk)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert browser.get(TRASH).status_code == 200
        return len(ctx.captured_queries)

    deleted_notes(2)
    count()  # (the first request of a session warms caches)
    few = count()
    deleted_notes(20)
    assert count() == few


def test_tasks_in_the_trash_leave_my_work_and_come_back(browser, me):
    task = _task(me, title="Renew the contract", assignee=str(me.user.pk))
    services.task_delete(actor=me, task_id=task.pk)
    assert "Renew the contract" not in browser.get("/my-work/").content.decode()
    assert Task.objects.in_trash_of(me).get() == task
    services.task_restore(actor=me, task_id=task.pk)
    assert "Renew the contract" in browser.get("/my-work/").content.decode()


def test_an_interaction_in_the_trash_follows_a_merge(actor):
    from rapport.contacts.merging import person_merge

    ada = PersonFactory(actor=actor, first_name="Ada")
    twin = PersonFactory(actor=actor, first_name="Ada")
    note = _note(actor, twin, body="said on the phone")
    services.activity_delete(actor=actor, activity_id=note.pk)
    person_merge(actor=actor, into_id=ada.pk, from_id=twin.pk)
    services.activity_restore(actor=actor, activity_id=note.pk)
    assert _links(note) == {("person", ada.pk, False)}


def test_the_kept_links_table_has_row_level_security():
    if connection.vendor != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_policy p ON p.polrelid = c.oid "
            "WHERE c.relrowsecurity AND p.polname = 'rapport_workspace_wall' "
            "AND c.relname = 'activities_trashedactivitytarget'"
        )
        assert cur.fetchall() == [("activities_trashedactivitytarget",)]
