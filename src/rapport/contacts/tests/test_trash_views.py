"""The Trash page: list, filters, restore (one, selected, all matching), delete forever, roles."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.contacts import services
from rapport.contacts.models import Company, Person
from rapport.core.actors import Role
from rapport.testing.clients import make_browser
from rapport.testing.factories import actor_for

pytestmark = pytest.mark.django_db

_n = itertools.count()


@pytest.fixture
def actor(browser):
    return actor_for(browser.membership)


def person(actor, **data):
    n = next(_n)
    data = {"first_name": "Tina", "last_name": f"Trash{n}", "email": f"tina{n}@example.com"} | data
    return services.person_create(actor=actor, data=data)


def company(actor, **data):
    n = next(_n)
    data = {"name": f"Binco {n}", "domain": f"binco{n}.example"} | data
    return services.company_create(actor=actor, data=data)


def trashed(actor, obj):
    if isinstance(obj, Person):
        services.person_delete(actor=actor, person_id=obj.pk)
    else:
        services.company_delete(actor=actor, company_id=obj.pk)
    return obj


def html(response) -> str:
    return response.content.decode()


def test_the_trash_page_lists_deleted_records(browser, actor):
    p = trashed(actor, person(actor, first_name="Gone"))
    c = trashed(actor, company(actor, name="Vanished Ltd"))
    live = person(actor, first_name="Alive")
    r = browser.get("/trash/")
    assert r.status_code == 200
    page = html(r)
    assert "Gone" in page and "Vanished Ltd" in page and "Alive" not in page
    assert f'value="person:{p.pk}"' in page and f'value="company:{c.pk}"' in page
    assert "Restore selected" in page and "Restore all matching" in page
    assert "Delete forever" in page  # the owner is an admin
    assert "30 days" in page
    assert browser.membership.user.display_name in page
    assert 'href="/trash/"' in html(browser.get("/people/"))  # in the main nav
    assert str(live.pk) not in page


def test_empty_and_filtered_states(browser, actor):
    assert "The trash is empty." in html(browser.get("/trash/"))
    trashed(actor, person(actor, first_name="Findme"))
    trashed(actor, company(actor, name="Other Co"))
    page = html(browser.get("/trash/", {"type": "person"}))
    assert "Findme" in page and "Other Co" not in page
    page = html(browser.get("/trash/", {"q": "other"}))
    assert "Findme" not in page and "Other Co" in page
    page = html(browser.get("/trash/", {"q": "nobody"}))
    assert "Nothing in the trash matches these filters." in page
    page = html(browser.get("/trash/", {"deleted_by": "me"}))
    assert "Findme" in page and "Other Co" in page
    today = timezone.localdate().isoformat()
    page = html(browser.get("/trash/", {"deleted_after": today, "deleted_before": today}))
    assert "Findme" in page
    r = browser.get("/trash/", {"deleted_by": "nobody-at-all"})
    assert r.status_code == 422
    assert "These filters could not be applied" in html(r)


def test_the_trash_page_pages_with_constant_queries(browser, actor):
    for i in range(3):
        trashed(actor, person(actor) if i % 2 else company(actor))
    browser.get("/trash/")
    with CaptureQueriesContext(connection) as few:
        browser.get("/trash/")
    for i in range(20):
        trashed(actor, person(actor) if i % 2 else company(actor))
    with CaptureQueriesContext(connection) as many:
        r = browser.get("/trash/")
    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)
    assert "Older deletions" not in html(r)
    for _ in range(30):
        trashed(actor, person(actor))
    page = html(browser.get("/trash/"))
    assert "Older deletions" in page
    next_url = page.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    second = browser.get("/trash/" + next_url.replace("&amp;", "&"))
    assert second.status_code == 200 and "Latest deletions" in html(second)


def test_restore_one(browser, actor):
    p = trashed(actor, person(actor, first_name="Back"))
    r = browser.post("/trash/restore/", {"item": f"person:{p.pk}", "type": "person"})
    assert r.status_code == 302 and r["Location"] == "/trash/?type=person"
    assert Person.objects.get(pk=p.pk).deleted_at is None
    page = html(browser.get(r["Location"]))
    assert f'Restored <a href="/people/{p.pk}/">Back' in page
    assert AuditEntry.objects.get(action="contact.restored").source == "ui"


def test_restore_selected_and_all_matching(browser, actor):
    a, b = trashed(actor, person(actor)), trashed(actor, company(actor))
    keep = trashed(actor, person(actor))
    browser.post("/trash/restore/", {"item": [f"person:{a.pk}", f"company:{b.pk}", "bogus"]})
    assert Person.objects.get(pk=a.pk).deleted_at is None
    assert Company.objects.get(pk=b.pk).deleted_at is None
    assert Person.objects.get(pk=keep.pk).deleted_at is not None

    others = [trashed(actor, company(actor, name=f"Bulk {i}")) for i in range(3)]
    r = browser.post("/trash/restore/", {"all": "1", "type": "company"})
    assert r.status_code == 302
    assert not Company.objects.filter(pk__in=[c.pk for c in others], deleted_at__isnull=False)
    assert Person.objects.get(pk=keep.pk).deleted_at is not None  # not a company: stays
    assert "Restored 3 records." in html(browser.get(r["Location"]))


def test_restore_with_nothing_ticked_says_so(browser):
    r = browser.post("/trash/restore/", {})
    assert "Nothing to restore" in html(browser.get(r["Location"]))


def test_a_clash_shows_a_message_linking_the_live_record(browser, actor):
    old = trashed(actor, person(actor, email="twice@example.com"))
    live = person(actor, email="twice@example.com")
    r = browser.post("/trash/restore/", {"item": f"person:{old.pk}"}, follow=True)
    page = html(r)
    assert "twice@example.com already exists" in page
    assert f'<a href="/people/{live.pk}/">Open the existing person</a>' in page
    assert Person.objects.get(pk=old.pk).deleted_at is not None


def test_delete_forever_is_for_admins(browser, actor):
    p = trashed(actor, person(actor))
    manager, _ = make_browser(Role.MANAGER, workspace=actor.workspace)
    page = html(manager.get("/trash/"))
    assert "Delete forever" not in page and "Restore" in page
    r = manager.post("/trash/delete/", {"item": f"person:{p.pk}"})
    assert r.status_code == 403
    assert Person.objects.filter(pk=p.pk).exists()

    r = browser.post("/trash/delete/", {"item": f"person:{p.pk}"}, follow=True)
    assert "Deleted 1 record for good." in html(r)
    assert not Person.objects.filter(pk=p.pk).exists()
    assert AuditEntry.objects.filter(action="contact.purged", object_id=str(p.pk)).exists()


def test_members_and_readers(browser, actor):
    theirs = trashed(actor, person(actor, first_name="Theirs"))
    member, membership = make_browser(Role.MEMBER, workspace=actor.workspace)
    mine = person(actor_for(membership), first_name="Mine")
    trashed(actor_for(membership), mine)
    page = html(member.get("/trash/"))
    assert f'value="person:{mine.pk}"' in page
    assert f'value="person:{theirs.pk}"' not in page  # listed, not restorable by them
    assert "Only its owner or a manager can restore it" in page
    member.post("/trash/restore/", {"item": [f"person:{theirs.pk}", f"person:{mine.pk}"]})
    assert Person.objects.get(pk=mine.pk).deleted_at is None
    assert Person.objects.get(pk=theirs.pk).deleted_at is not None

    reader, _ = make_browser(Role.READ_ONLY, workspace=actor.workspace)
    assert reader.get("/trash/").status_code == 403
    assert 'href="/trash/"' not in html(reader.get("/people/"))
    reader.post("/trash/restore/", {"item": f"person:{theirs.pk}"})
    assert Person.objects.get(pk=theirs.pk).deleted_at is not None


def test_another_workspace_sees_and_restores_nothing(browser, actor):
    p = trashed(actor, person(actor, first_name="Secret"))
    stranger, _ = make_browser(Role.OWNER)
    assert "Secret" not in html(stranger.get("/trash/"))
    stranger.post("/trash/restore/", {"item": f"person:{p.pk}"})
    stranger.post("/trash/delete/", {"item": f"person:{p.pk}"})
    assert Person.objects.get(pk=p.pk).deleted_at is not None


def test_the_person_page_shows_a_deleted_company_as_in_trash(browser, actor):
    c = company(actor, name="Binned Inc")
    p = person(actor, company=str(c.pk))
    trashed(actor, c)
    page = html(browser.get(f"/people/{p.pk}/"))
    assert "Binned Inc" in page and "in trash" in page
    assert f'href="/companies/{c.pk}/"' not in page
    assert "in trash" in html(browser.get("/people/"))
    services.company_restore(actor=actor, company_id=c.pk)
    assert f'href="/companies/{c.pk}/"' in html(browser.get(f"/people/{p.pk}/"))


def test_purge_date_follows_the_workspace_retention(browser, actor):
    actor.workspace.trash_retention_days = 7
    actor.workspace.save()
    p = trashed(actor, person(actor))
    Person.objects.filter(pk=p.pk).update(deleted_at=timezone.now() - dt.timedelta(days=1))
    page = html(browser.get("/trash/"))
    assert "7 days" in page
    expected = timezone.localtime(timezone.now() + dt.timedelta(days=6)).date()
    assert f"{expected.day} {expected:%b %Y}" in page
