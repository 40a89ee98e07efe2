"""Deleted files in the trash: the list, Restore (service, API, page), who may, and isolation."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from rapport.attachments import selectors, services
from rapport.attachments.models import Attachment
from rapport.audit.models import AuditEntry
from rapport.contacts import services as contact_services
from rapport.core.actors import Role
from rapport.core.errors import NotFound, PermissionDenied
from rapport.testing.clients import make_browser
from rapport.testing.factories import CompanyFactory, MembershipFactory, PersonFactory, actor_for
from rapport.testing.suites import assert_problem, count_queries

from . import samples
from .samples import upload

pytestmark = pytest.mark.django_db

TRASH = reverse("attachments:trash")
RESTORE = reverse("attachments:trash_restore")


def attach(actor, record, name="photo.png", target_type="person"):
    return services.attachment_upload(
        actor=actor, target_type=target_type, target_id=record.pk, upload=upload(samples.PNG, name)
    )


def trashed(actor, record, name="photo.png", target_type="person"):
    attachment = attach(actor, record, name, target_type)
    services.attachment_delete(actor=actor, attachment_id=attachment.pk)
    return attachment


def listed(actor) -> list[str]:
    page = selectors.deleted_attachments(actor=actor, cursor=None, limit=50)
    return [f.filename for f in page.rows]


def test_restore_puts_the_file_back_on_its_record_and_audits_it(actor):
    ada = PersonFactory(actor=actor)
    contract = trashed(actor, ada, "contract.png")
    assert listed(actor) == ["contract.png"]
    assert selectors.attachment_list(actor=actor, target_type="person", target_id=ada.pk).rows == []

    restored = services.attachment_restore(actor=actor, attachment_id=contract.pk, source="api")

    assert restored.deleted_at is None and restored.deleted_by is None
    files = selectors.attachment_list(actor=actor, target_type="person", target_id=ada.pk).rows
    assert [f.pk for f in files] == [contract.pk]
    with restored.file.open("rb") as f:  # the content was kept while it was in the trash
        assert f.read() == samples.PNG
    entry = AuditEntry.objects.get(object_id=str(contract.pk), action="attachment.restored")
    assert entry.source == "api" and entry.changes["deleted_at"]["after"] is None
    assert listed(actor) == []
    with pytest.raises(NotFound):  # no longer in the trash
        services.attachment_restore(actor=actor, attachment_id=contract.pk)


def test_newest_deletion_first_and_pages(actor):
    ada = PersonFactory(actor=actor)
    for n in range(5):
        trashed(actor, ada, f"f{n}.png")
    first = selectors.deleted_attachments(actor=actor, cursor=None, limit=2)
    assert [f.filename for f in first.rows] == ["f4.png", "f3.png"]
    seen = [f.filename for f in first.rows]
    cursor = first.next_cursor
    while cursor:
        page = selectors.deleted_attachments(actor=actor, cursor=cursor, limit=2)
        seen += [f.filename for f in page.rows]
        cursor = page.next_cursor
    assert seen == ["f4.png", "f3.png", "f2.png", "f1.png", "f0.png"]


def test_files_of_a_record_in_the_trash_come_back_with_it(actor):
    ada = PersonFactory(actor=actor)
    photo = trashed(actor, ada, "photo.png")
    contact_services.person_delete(actor=actor, person_id=ada.pk)
    assert listed(actor) == []  # hidden with its record
    with pytest.raises(NotFound):
        services.attachment_restore(actor=actor, attachment_id=photo.pk)
    contact_services.person_restore(actor=actor, person_id=ada.pk)
    assert listed(actor) == ["photo.png"]


def test_members_restore_their_own_files_managers_anyones(actor):
    acme = CompanyFactory(actor=actor)
    mine = trashed(actor, acme, "owner.png", target_type="company")
    member = actor_for(MembershipFactory(workspace=actor.workspace, role=Role.MEMBER.value))
    theirs = trashed(member, acme, "member.png", target_type="company")
    assert services.may_restore(member, theirs) and not services.may_restore(member, mine)
    with pytest.raises(PermissionDenied):
        services.attachment_restore(actor=member, attachment_id=mine.pk)
    assert Attachment.objects.get(pk=mine.pk).deleted_at is not None
    services.attachment_restore(actor=member, attachment_id=theirs.pk)
    manager = actor_for(MembershipFactory(workspace=actor.workspace, role=Role.MANAGER.value))
    services.attachment_restore(actor=manager, attachment_id=mine.pk)
    assert not Attachment.objects.filter(deleted_at__isnull=False).exists()


def test_another_workspace_sees_and_restores_nothing(actor):
    photo = trashed(actor, PersonFactory(actor=actor))
    stranger = actor_for(MembershipFactory(role=Role.OWNER.value))
    assert listed(stranger) == []
    with pytest.raises(NotFound):
        services.attachment_restore(actor=stranger, attachment_id=photo.pk)
    with pytest.raises(NotFound):
        services.attachment_restore(actor=actor, attachment_id="not-an-id")


def test_the_list_costs_the_same_queries_whatever_its_length(actor):
    ada, acme = PersonFactory(actor=actor), CompanyFactory(actor=actor)
    trashed(actor, ada)

    def page():
        return list(selectors.deleted_attachments(actor=actor, cursor=None, limit=50).rows)

    few, _, _ = count_queries(page)
    for n in range(6):
        trashed(actor, ada if n % 2 else acme, f"more{n}.png", "person" if n % 2 else "company")
    many, rows, _ = count_queries(page)
    assert len(rows) == 7 and many == few


# --- API --------------------------------------------------------------------------------------


def test_api_restore(api, other_api, api_as):
    owner = actor_for(api.membership)
    photo = trashed(owner, PersonFactory(actor=owner), "photo.png")
    url = f"/attachments/{photo.pk}/restore"
    assert_problem(other_api.post(url), 404)
    assert_problem(api_as(Role.READ_ONLY).post(url), 403)

    r = api.post(url)

    assert r.status_code == 200, r.content[:300]
    assert r.json()["id"] == str(photo.pk) and r.json()["filename"] == "photo.png"
    assert api.get(f"/attachments/{photo.pk}").status_code == 200
    assert_problem(api.post(url), 404)  # not in the trash any more


# --- the page ---------------------------------------------------------------------------------


def test_the_page_lists_deleted_files_and_restores_them(browser):
    owner = actor_for(browser.membership)
    ada = PersonFactory(actor=owner, first_name="Ada", last_name="Lovelace")
    photo = attach(owner, ada, "<script>x</script>.png")
    r = browser.post(reverse("attachments:delete", args=[photo.pk]))
    flash = browser.get(r["Location"]).content.decode()
    assert f'<a href="{TRASH}">Restore it from the trash</a>' in flash

    page = browser.get(TRASH).content.decode()
    assert escape(photo.filename) in page and "<script>x" not in page
    assert f'href="/people/{ada.pk}/">Ada Lovelace</a>' in page
    assert 'aria-current="page">Files</a>' in page

    r = browser.post(RESTORE, {"file": str(photo.pk)})
    assert r.status_code == 302 and r["Location"] == TRASH
    after = browser.get(TRASH).content.decode()
    assert "Restored" in after and "No deleted files." in after
    again = browser.post(RESTORE, {"file": str(photo.pk)}, follow=True).content.decode()
    assert "no longer in the trash" in again
    junk = browser.post(RESTORE, {"file": "not-an-id"}, follow=True).content.decode()
    assert "Nothing to restore" in junk


def test_read_only_members_cannot_open_the_files_trash(actor):
    reader, _ = make_browser(Role.READ_ONLY)
    assert reader.get(TRASH).status_code == 403
    assert reader.post(RESTORE, {"file": "x"}).status_code in (302, 403)


def test_an_out_of_date_page_link_shows_the_latest_deletions(browser):
    page = browser.get(TRASH, {"cursor": "garbage"}).content.decode()
    assert "out of date" in page and "No deleted files." in page
