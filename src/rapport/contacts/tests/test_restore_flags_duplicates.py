"""Restoring from the trash flags duplicates as creating does (new duplicates are flagged as
they appear): a record that comes back next to its twin shows up on the Duplicates page."""

from __future__ import annotations

import pytest

from rapport.contacts import dedupe, services
from rapport.contacts.models import DuplicatePair, OtherIdentifier
from rapport.testing.factories import actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(browser):
    return actor_for(browser.membership)


def person(actor, **data):
    return services.person_create(actor=actor, data=data)


def trashed(actor, **data):
    p = person(actor, **data)
    services.person_delete(actor=actor, person_id=p.pk)
    return p


def test_a_restored_person_is_flagged_with_the_twin_created_while_it_was_in_the_trash(
    actor, browser
):
    gone = trashed(actor, first_name="Zoë", last_name="Ünal", phone="+442079460958")
    twin = person(actor, first_name="<script>x</script>", phone="+44 20 7946 0958")
    assert not DuplicatePair.objects.exists()  # a trashed record is no candidate

    services.person_restore(actor=actor, person_id=gone.pk)

    pair = DuplicatePair.objects.get()
    assert {pair.person_a_id, pair.person_b_id} == {gone.pk, twin.pk}
    assert "same phone" in pair.reasons and pair.status == "open"
    page = browser.get("/duplicates/").content.decode()
    assert f"/duplicates/{pair.pk}/" in page and "Zoë Ünal" in page
    assert "<script>x</script>" not in page  # escaped


def test_a_restored_person_whose_kept_email_a_live_person_now_has_is_flagged_same_email(actor):
    # Its own email would be refused (409); an email it kept from a merge is not its column.
    gone = person(actor, first_name="Ada", email="ada@example.com")
    OtherIdentifier.objects.create(
        workspace=actor.workspace, person=gone, kind="email", value="lovelace@example.com"
    )
    services.person_delete(actor=actor, person_id=gone.pk)
    live = person(actor, first_name="Augusta", email="lovelace@example.com")

    services.person_restore(actor=actor, person_id=gone.pk)

    pair = DuplicatePair.objects.get()
    assert {pair.person_a_id, pair.person_b_id} == {gone.pk, live.pk}
    assert pair.reasons[0] == "same email" and pair.score == 100


def test_restoring_keeps_a_dismissed_pair_dismissed(actor, browser):
    a = person(actor, first_name="Grace", phone="+442079460958")
    b = person(actor, first_name="Hopper", phone="+442079460958")
    pair = DuplicatePair.objects.get()
    dedupe.pair_dismiss(actor=actor, pair_id=pair.pk)
    services.person_delete(actor=actor, person_id=b.pk)

    restored = services.person_restore(actor=actor, person_id=b.pk)

    pair.refresh_from_db()
    assert restored.deleted_at is None and pair.status == "dismissed"
    assert DuplicatePair.objects.count() == 1
    assert f"/duplicates/{pair.pk}/" not in browser.get("/duplicates/").content.decode()
    assert a.pk in (pair.person_a_id, pair.person_b_id)


def test_a_restored_company_is_flagged_by_similar_name_over_the_api(api):
    from rapport.contacts.models import Company

    gone = api.post("/companies", {"name": "Initech Systems"}).json()
    assert api.delete(f"/companies/{gone['id']}").status_code == 204
    live = api.post("/companies", {"name": "Initech Systems GmbH"}).json()
    assert not DuplicatePair.objects.filter(workspace=api.workspace).exists()

    assert api.post(f"/companies/{gone['id']}/restore").status_code == 200

    pair = DuplicatePair.objects.get(workspace=api.workspace)
    assert {str(pair.company_a_id), str(pair.company_b_id)} == {gone["id"], live["id"]}
    listed = api.get("/duplicates").json()["results"]
    assert len(listed) == 1
    assert Company.objects.filter(workspace=api.workspace, deleted_at__isnull=True).count() == 2


def test_restore_many_flags_each_record(actor):
    one = trashed(actor, first_name="Ann", phone="+442079460958")
    two = trashed(actor, first_name="Bob", phone="+442079460959")
    person(actor, first_name="Cy", phone="+442079460958")
    person(actor, first_name="Di", phone="+442079460959")

    outcomes = services.trash_restore_many(
        actor=actor, refs=[("person", one.pk), ("person", two.pk)]
    )

    assert all(o.error is None for o in outcomes)
    assert DuplicatePair.objects.filter(status="open").count() == 2
