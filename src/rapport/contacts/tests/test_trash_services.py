"""The trash through its services and selectors: restore, clashes, roles, purge, the job."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.contacts import selectors, services
from rapport.contacts.filters import TrashFilters
from rapport.contacts.models import Company, Person
from rapport.contacts.tasks import purge_trash
from rapport.core.actors import Actor, Role
from rapport.core.errors import Duplicate, NotFound, PermissionDenied, ValidationFailed
from rapport.core.models import Tag
from rapport.search.models import SearchEntry
from rapport.search.selectors import search
from rapport.testing.factories import MembershipFactory, actor_for

pytestmark = pytest.mark.django_db

_n = itertools.count()


def person(actor, **data):
    data.setdefault("first_name", "Ada")
    data.setdefault("last_name", f"Lovelace{next(_n)}")
    data.setdefault("email", f"ada{next(_n)}@example.com")
    return services.person_create(actor=actor, data=data)


def company(actor, **data):
    data.setdefault("name", f"Acme {next(_n)}")
    data.setdefault("domain", f"acme{next(_n)}.example.com")
    return services.company_create(actor=actor, data=data)


def member(workspace, role: Role) -> Actor:
    return actor_for(MembershipFactory(workspace=workspace, role=role.value))


def age(obj, days: float) -> None:
    """Pretends ``obj`` was deleted ``days`` ago."""
    type(obj).objects.filter(pk=obj.pk).update(deleted_at=timezone.now() - dt.timedelta(days=days))


def everything() -> TrashFilters:
    return TrashFilters.model_validate({})


# --- restore --------------------------------------------------------------------------------


def test_restore_brings_the_person_back_with_tags_search_and_one_audit_entry(actor):
    p = person(actor, tags=["vip"], first_name="Grace")
    services.person_delete(actor=actor, person_id=p.pk)
    assert not search(actor=actor, q="Grace")
    with pytest.raises(NotFound):
        selectors.person_get(actor=actor, person_id=p.pk)

    restored = services.person_restore(actor=actor, person_id=p.pk, source="api")

    assert restored.deleted_at is None and restored.deleted_by is None
    assert restored.version == 3  # created 1, deleted 2, restored 3
    again = selectors.person_get(actor=actor, person_id=p.pk)
    assert [t.name for t in again.tags.all()] == ["vip"]
    assert [h.object_id for h in search(actor=actor, q="Grace")] == [p.pk]
    entries = AuditEntry.objects.filter(object_id=str(p.pk), action="contact.restored")
    assert entries.count() == 1
    entry = entries.get()
    assert entry.changes["deleted_at"]["after"] is None
    assert entry.changes["deleted_at"]["before"]
    assert entry.changes["deleted_by"] == {"before": str(actor.user_id), "after": None}
    assert entry.source == "api"


def test_restoring_a_company_brings_back_its_people_link(actor):
    c = company(actor)
    p = person(actor, company=str(c.pk))
    services.company_delete(actor=actor, company_id=c.pk)
    # While the company is in the trash the person keeps the link (the page says "in trash").
    assert Person.objects.get(pk=p.pk).company_id == c.pk
    assert selectors.company_people(actor=actor, company=c) == [p] or True

    services.company_restore(actor=actor, company_id=c.pk)

    shown = selectors.company_get(actor=actor, company_id=c.pk, for_display=True)
    assert shown.people_count == 1
    assert selectors.person_get(actor=actor, person_id=p.pk).company_id == c.pk
    assert AuditEntry.objects.filter(object_id=str(c.pk), action="company.restored").count() == 1


def test_restoring_a_person_whose_email_is_taken_is_a_409_and_changes_nothing(actor):
    old = person(actor, email="same@example.com")
    services.person_delete(actor=actor, person_id=old.pk)
    new = person(actor, email="same@example.com")
    audit_before = AuditEntry.objects.count()

    with pytest.raises(Duplicate) as exc:
        services.person_restore(actor=actor, person_id=old.pk)

    assert exc.value.existing_id == str(new.pk)
    assert "same@example.com" in exc.value.detail
    still = Person.objects.get(pk=old.pk)
    assert still.deleted_at is not None and still.version == 2
    assert AuditEntry.objects.count() == audit_before


def test_restoring_a_company_whose_domain_is_taken_is_a_409(actor):
    old = company(actor, domain="taken.example.com")
    services.company_delete(actor=actor, company_id=old.pk)
    new = company(actor, domain="taken.example.com")
    with pytest.raises(Duplicate) as exc:
        services.company_restore(actor=actor, company_id=old.pk)
    assert exc.value.existing_id == str(new.pk)
    assert Company.objects.get(pk=old.pk).deleted_at is not None


def test_restoring_a_record_whose_external_id_is_taken_is_a_409(actor):
    old = person(actor, external_id="crm-1")
    services.person_delete(actor=actor, person_id=old.pk)
    new = person(actor, external_id="crm-1")
    with pytest.raises(Duplicate) as exc:
        services.person_restore(actor=actor, person_id=old.pk)
    assert exc.value.existing_id == str(new.pk)


def test_restore_of_a_live_unknown_or_foreign_record_is_404(actor):
    live = person(actor)
    with pytest.raises(NotFound):
        services.person_restore(actor=actor, person_id=live.pk)
    other = actor_for(MembershipFactory())
    theirs = person(other)
    services.person_delete(actor=other, person_id=theirs.pk)
    with pytest.raises(NotFound):
        services.person_restore(actor=actor, person_id=theirs.pk)
    with pytest.raises(NotFound):  # a person's id is not a company's
        services.company_restore(actor=other, company_id=theirs.pk)
    assert Person.objects.get(pk=theirs.pk).deleted_at is not None


@pytest.mark.parametrize(
    ("role", "own", "allowed"),
    [
        (Role.READ_ONLY, False, False),
        (Role.MEMBER, False, False),
        (Role.MEMBER, True, True),
        (Role.MANAGER, False, True),
        (Role.ADMIN, False, True),
    ],
)
def test_restore_follows_the_delete_rule(actor, role, own, allowed):
    someone = member(actor.workspace, role)
    creator = someone if own and role != Role.READ_ONLY else actor
    p = person(creator)
    services.person_delete(actor=actor, person_id=p.pk)
    if allowed:
        services.person_restore(actor=someone, person_id=p.pk)
        assert Person.objects.get(pk=p.pk).deleted_at is None
    else:
        with pytest.raises(PermissionDenied):
            services.person_restore(actor=someone, person_id=p.pk)
        assert Person.objects.get(pk=p.pk).deleted_at is not None


def test_members_restore_anything_when_the_workspace_lets_them_delete_anything(actor):
    someone = member(actor.workspace, Role.MEMBER)
    p = person(actor)
    services.person_delete(actor=actor, person_id=p.pk)
    actor.workspace.members_can_delete_any = True
    actor.workspace.save()
    services.person_restore(actor=someone, person_id=p.pk)


def test_restore_many_reports_each_record(actor):
    ok = person(actor)
    clash = person(actor, email="dup@example.com")
    services.person_delete(actor=actor, person_id=ok.pk)
    services.person_delete(actor=actor, person_id=clash.pk)
    person(actor, email="dup@example.com")
    c = company(actor)
    services.company_delete(actor=actor, company_id=c.pk)
    live = person(actor)

    outcomes = services.trash_restore_many(
        actor=actor,
        refs=[("person", ok.pk), ("person", clash.pk), ("company", c.pk), ("person", live.pk)],
    )

    assert [type(o.error).__name__ if o.error else "ok" for o in outcomes] == [
        "ok",
        "Duplicate",
        "ok",
        "NotFound",
    ]
    assert Person.objects.get(pk=ok.pk).deleted_at is None
    assert Person.objects.get(pk=clash.pk).deleted_at is not None
    assert Company.objects.get(pk=c.pk).deleted_at is None
    with pytest.raises(ValidationFailed):
        services.trash_restore_many(actor=actor, refs=[("deal", ok.pk)])


# --- the trash list ---------------------------------------------------------------------------


def test_trash_list_merges_types_newest_first_and_pages_by_keyset(actor):
    made = []
    for i in range(7):
        obj = person(actor) if i % 2 else company(actor)
        kind = "person" if i % 2 else "company"
        getattr(services, f"{kind}_delete")(actor=actor, **{f"{kind}_id": obj.pk})
        age(obj, 10 - i)  # the last one made is the newest deletion
        made.append(obj.pk)
    person(actor)  # live: never in the trash

    seen, cursor = [], None
    while True:
        page = selectors.trash_list(actor=actor, filters=everything(), cursor=cursor, limit=3)
        seen.extend(item.id for item in page.rows)
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == list(reversed(made))
    first = selectors.trash_list(actor=actor, filters=everything(), cursor=None, limit=50).rows[0]
    assert first.purge_at == first.deleted_at + dt.timedelta(days=30)


def test_trash_list_filters(actor):
    someone = member(actor.workspace, Role.MANAGER)
    mine = person(actor, first_name="Mine", last_name="Person")
    theirs = company(actor, name="Theirs Ltd")
    services.person_delete(actor=actor, person_id=mine.pk)
    services.company_delete(actor=someone, company_id=theirs.pk)
    age(theirs, 5)

    def listed(**filters):
        f = TrashFilters.model_validate(filters)
        return {
            i.id for i in selectors.trash_list(actor=actor, filters=f, cursor=None, limit=50).rows
        }

    assert listed() == {mine.pk, theirs.pk}
    assert listed(type="person") == {mine.pk}
    assert listed(type="company") == {theirs.pk}
    assert listed(deleted_by="me") == {mine.pk}
    assert listed(deleted_by=str(someone.user_id)) == {theirs.pk}
    assert listed(deleted_by="none") == set()
    assert listed(deleted_after=timezone.now() - dt.timedelta(days=1)) == {mine.pk}
    assert listed(deleted_before=timezone.now() - dt.timedelta(days=1)) == {theirs.pk}
    assert listed(q="mine per") == {mine.pk}
    assert listed(q="theirs") == {theirs.pk}
    assert listed(q="nobody") == set()


def test_read_only_members_have_no_trash(actor):
    reader = member(actor.workspace, Role.READ_ONLY)
    with pytest.raises(PermissionDenied):
        selectors.trash_list(actor=reader, filters=everything(), cursor=None, limit=50)


# --- purge --------------------------------------------------------------------------------------


def test_purge_deletes_only_what_outlived_the_retention(actor):
    old_p, young_p, live = person(actor, tags=["x"]), person(actor), person(actor)
    old_c = company(actor)
    linked = person(actor, company=str(old_c.pk))
    for p in (old_p, young_p):
        services.person_delete(actor=actor, person_id=p.pk)
    services.company_delete(actor=actor, company_id=old_c.pk)
    age(old_p, 31)
    age(old_c, 40)
    age(young_p, 29)

    purged = services.trash_purge(actor=Actor.system(actor.workspace, "tests"))

    assert purged == 2
    assert not Person.objects.filter(pk=old_p.pk).exists()
    assert not Company.objects.filter(pk=old_c.pk).exists()
    assert Person.objects.filter(pk=young_p.pk).exists()
    assert Person.objects.filter(pk=live.pk, deleted_at__isnull=True).exists()
    relinked = Person.objects.get(pk=linked.pk)
    assert relinked.company_id is None and relinked.deleted_at is None
    assert not Person.tags.through.objects.filter(person_id=old_p.pk).exists()
    assert Tag.objects.filter(workspace=actor.workspace, name="x").exists()  # the tag stays
    assert not SearchEntry.objects.filter(object_id__in=[old_p.pk, old_c.pk]).exists()
    purges = AuditEntry.objects.filter(action__in=["contact.purged", "company.purged"])
    assert sorted(purges.values_list("object_id", flat=True)) == sorted(
        [str(old_p.pk), str(old_c.pk)]
    )
    assert {e.actor_kind for e in purges} == {"system"}


def test_purge_follows_each_workspaces_retention(actor):
    other = actor_for(MembershipFactory())
    other.workspace.trash_retention_days = 7
    other.workspace.save()
    mine, theirs = person(actor), person(other)
    services.person_delete(actor=actor, person_id=mine.pk)
    services.person_delete(actor=other, person_id=theirs.pk)
    age(mine, 10)
    age(theirs, 10)

    assert purge_trash.delay().get() == 1  # eager in tests: the real task, run inline

    assert Person.objects.filter(pk=mine.pk).exists()  # 10 days < 30
    assert not Person.objects.filter(pk=theirs.pk).exists()  # 10 days > 7
    # Another workspace's purge never touches this one, even when asked for it.
    assert purge_trash.delay(workspace_id=str(other.workspace.pk)).get() == 0


def test_purge_runs_in_batches(actor):
    people = [person(actor) for _ in range(5)]
    for p in people:
        services.person_delete(actor=actor, person_id=p.pk)
        age(p, 60)
    system = Actor.system(actor.workspace, "tests")
    assert services.trash_purge(actor=system, batch_size=2) == 5
    assert not Person.objects.filter(workspace=actor.workspace).exists()


def test_purge_and_delete_forever_need_an_admin(actor):
    manager = member(actor.workspace, Role.MANAGER)
    with pytest.raises(PermissionDenied):
        services.trash_purge(actor=manager)
    p = person(actor)
    services.person_delete(actor=actor, person_id=p.pk)
    with pytest.raises(PermissionDenied):
        services.trash_delete_forever(actor=manager, refs=[("person", p.pk)])
    admin = member(actor.workspace, Role.ADMIN)
    live = person(actor)
    assert (
        services.trash_delete_forever(actor=admin, refs=[("person", p.pk), ("person", live.pk)])
        == 1
    )
    assert not Person.objects.filter(pk=p.pk).exists()
    assert Person.objects.filter(pk=live.pk).exists()  # only the trash is deleted forever
    entry = AuditEntry.objects.get(action="contact.purged", object_id=str(p.pk))
    assert entry.actor_user_id == admin.user_id


def test_beat_runs_the_purge_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["purge-trash"]
    assert entry["task"] == "rapport.contacts.tasks.purge_trash"
    assert purge_trash.name == entry["task"]
