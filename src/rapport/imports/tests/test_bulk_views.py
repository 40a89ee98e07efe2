"""Bulk work from a list page: tick rows or take everything matching, confirm, watch it run."""

from __future__ import annotations

import pytest

from rapport.contacts.models import Person
from rapport.core.actors import Role
from rapport.testing.clients import make_browser
from rapport.testing.factories import PersonFactory, actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(browser):
    actor = actor_for(browser.membership)
    return [
        PersonFactory(
            actor=actor,
            first_name=f"P{i}",
            email=f"p{i}@example.com",
            tags=["fair"] if i < 3 else [],
        )
        for i in range(5)
    ]


def test_list_rows_can_be_ticked_by_writers_only(browser, people):
    html = browser.get("/people/").content.decode()
    assert 'form="bulk-form"' in html and 'id="bulk-form"' in html
    reader, _ = make_browser(Role.READ_ONLY, workspace=browser.membership.workspace)
    assert 'id="bulk-form"' not in reader.get("/people/").content.decode()


def test_tag_the_ticked_rows(browser, people, django_capture_on_commit_callbacks):
    ids = [str(p.pk) for p in people[:2]]
    step = browser.post(
        "/bulk/",
        {"type": "person", "scope": "selected", "action": "add_tags", "item": ids, "query": ""},
    )
    assert step.status_code == 200 and b"Add tags to 2 people" in step.content
    with django_capture_on_commit_callbacks(execute=True):
        done = browser.post(
            "/bulk/",
            {
                "type": "person",
                "scope": "selected",
                "action": "add_tags",
                "item": ids,
                "tags": "vip, 2026",
                "confirm": "yes",
            },
        )
    assert done.status_code == 302
    page = browser.get(done["Location"])
    assert b"Finished" in page.content
    fragment = browser.get(done["Location"], HTTP_HX_REQUEST="true", HTTP_HX_TARGET="bulk-progress")
    assert b"hx-trigger" not in fragment.content  # finished: no more polling
    assert sorted(t.name for t in people[0].tags.all()) == ["2026", "fair", "vip"]
    assert [t.name for t in people[4].tags.all()] == []


def test_delete_everything_matching_a_filter_and_find_it_in_the_trash(
    browser, people, django_capture_on_commit_callbacks
):
    step = browser.post(
        "/bulk/", {"type": "person", "scope": "all", "action": "delete", "query": "tag=fair"}
    )
    assert b"Delete 3 people" in step.content
    with django_capture_on_commit_callbacks(execute=True):
        done = browser.post(
            "/bulk/",
            {
                "type": "person",
                "scope": "all",
                "action": "delete",
                "query": "tag=fair",
                "confirm": "yes",
            },
        )
    page = browser.get(done["Location"])
    assert b"Undo this change" in page.content and b"one by one" in page.content
    assert Person.objects.filter(deleted_at__isnull=False).count() == 3
    assert Person.objects.filter(deleted_at__isnull=True).count() == 2


def test_edit_fields_keeps_what_is_left_alone(browser, people, django_capture_on_commit_callbacks):
    people[0].title = "Kept"
    ids = [str(p.pk) for p in people]
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(
            "/bulk/",
            {
                "type": "person",
                "scope": "selected",
                "action": "update",
                "item": ids,
                "owner": "keep",
                "lifecycle_stage": "customer",
                "confirm": "yes",
            },
        )
    assert set(Person.objects.values_list("lifecycle_stage", flat=True)) == {"customer"}


def test_nothing_ticked_goes_back_with_a_message(browser, people):
    r = browser.post(
        "/bulk/",
        {"type": "person", "scope": "selected", "action": "delete", "query": "tag=fair"},
        follow=True,
    )
    assert b"Tick the rows to change first" in r.content


def test_another_workspaces_bulk_job_is_404(browser, people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        done = browser.post(
            "/bulk/",
            {"type": "person", "scope": "all", "action": "add_tags", "tags": "x", "confirm": "yes"},
        )
    other, _ = make_browser(Role.OWNER)
    assert other.get(done["Location"]).status_code == 404
