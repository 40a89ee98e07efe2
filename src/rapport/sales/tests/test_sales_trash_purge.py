"""Deleted deals and leads go for good once the workspace's trash retention has passed: the
same daily job as people and companies (``contacts.tasks.purge_trash``), one audit entry per
record, linked rows and search entries with them, younger deletions and other workspaces
untouched."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.contacts.tasks import purge_trash
from rapport.core.actors import Actor, Role
from rapport.core.errors import PermissionDenied
from rapport.sales import lead_services, quote_services, services
from rapport.sales.lead_models import Lead
from rapport.sales.models import Deal, DealPerson, StageHistory
from rapport.sales.quote_models import DealLineItem, Quote, QuoteLine
from rapport.search.models import SearchEntry
from rapport.tenancy import services as tenancy_services
from rapport.testing.factories import DealFactory, MembershipFactory, PersonFactory, actor_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return actor_for(MembershipFactory(role=Role.ADMIN.value))


def days_ago(n: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=n)


def deleted_deal(actor, *, days: float, **data) -> Deal:
    deal = DealFactory(actor=actor, **data)
    services.deal_delete(actor=actor, deal_id=deal.pk)
    Deal.objects.filter(pk=deal.pk).update(deleted_at=days_ago(days))
    return deal


def deleted_lead(actor, *, days: float, **data) -> Lead:
    lead = lead_services.lead_create(actor=actor, data={"first_name": "Lead", **data})
    lead_services.lead_delete(actor=actor, lead_id=lead.pk)
    Lead.objects.filter(pk=lead.pk).update(deleted_at=days_ago(days))
    return lead


def purged(obj, action: str) -> int:
    return AuditEntry.objects.filter(object_id=str(obj.pk), action=action).count()


def test_deals_past_the_retention_go_with_their_links(admin):
    person = PersonFactory(actor=admin)
    product = quote_services.product_create(
        actor=admin,
        data={"sku": "W", "name": "Widget", "prices": [{"amount": "5", "currency": "EUR"}]},
    )
    old = DealFactory(
        actor=admin,
        name="Old <script>x</script> Ünï",
        amount={"amount": "1.00", "currency": "EUR"},
        people=[{"id": str(person.pk), "role": "champion"}],
    )
    quote_services.deal_line_items_set(
        actor=admin, deal_id=old.pk, items=[{"product": str(product.pk), "quantity": "2"}]
    )
    quote = quote_services.quote_create_from_deal(actor=admin, deal_id=old.pk)
    lead = lead_services.lead_create(
        actor=admin, data={"first_name": "Conv", "status": "qualified"}
    )
    Lead.objects.filter(pk=lead.pk).update(converted_deal=old)
    services.deal_delete(actor=admin, deal_id=old.pk)
    Deal.objects.filter(pk=old.pk).update(deleted_at=days_ago(31))
    young = deleted_deal(admin, days=29)
    live = DealFactory(actor=admin)
    SearchEntry.objects.create(  # a stale entry must not outlive the deal either
        workspace=admin.workspace, object_type="sales.deal", object_id=old.pk, title="x"
    )

    assert services.deal_purge(actor=Actor.system(admin.workspace, "retention")) == 1

    assert not Deal.objects.filter(pk=old.pk).exists()
    assert not StageHistory.objects.filter(deal_id=old.pk).exists()
    assert not DealPerson.objects.filter(deal_id=old.pk).exists()
    assert not DealLineItem.objects.filter(deal_id=old.pk).exists()
    assert not Quote.objects.filter(pk=quote.pk).exists()
    assert not QuoteLine.objects.filter(quote_id=quote.pk).exists()
    assert not SearchEntry.objects.filter(object_id=old.pk).exists()
    lead.refresh_from_db()
    assert lead.converted_deal_id is None  # the lead stays, without the link
    assert Deal.objects.filter(pk__in=[young.pk, live.pk]).count() == 2
    assert purged(old, "deal.purged") == 1 and purged(young, "deal.purged") == 0
    entry = AuditEntry.objects.get(object_id=str(old.pk), action="deal.purged")
    assert entry.actor_kind == "system" and entry.source == "retention"
    person.refresh_from_db()
    assert person.deleted_at is None  # the deal's people live on


def test_leads_past_the_retention_go_and_younger_ones_stay(admin):
    old = deleted_lead(admin, days=40, email="old@example.org", tags=["vip"])
    young = deleted_lead(admin, days=10)
    live = lead_services.lead_create(actor=admin, data={"first_name": "Live"})
    actor = Actor.system(admin.workspace, "retention")
    assert lead_services.lead_purge(actor=actor) == 1
    assert not Lead.objects.filter(pk=old.pk).exists()
    assert not Lead.tags.through.objects.filter(lead_id=old.pk).exists()
    assert set(Lead.objects.values_list("pk", flat=True)) == {young.pk, live.pk}
    assert purged(old, "lead.purged") == 1
    # The retention is the workspace's: shorter, and the younger one goes too.
    tenancy_services.workspace_update(actor=admin, trash_retention_days=7)
    assert lead_services.lead_purge(actor=actor) == 1
    assert list(Lead.objects.values_list("pk", flat=True)) == [live.pk]


def test_purge_runs_in_batches_and_counts_every_record(admin):
    for _ in range(5):
        deleted_lead(admin, days=60)
    actor = Actor.system(admin.workspace, "retention")
    assert lead_services.lead_purge(actor=actor, batch_size=2) == 5
    assert AuditEntry.objects.filter(workspace=admin.workspace, action="lead.purged").count() == 5


def test_the_daily_job_purges_deals_and_leads_of_every_workspace(admin):
    other = actor_for(MembershipFactory(role=Role.OWNER.value))
    gone = [deleted_deal(admin, days=45), deleted_lead(admin, days=45)]
    elsewhere = [deleted_deal(other, days=45), deleted_lead(other, days=2)]
    # Only the first workspace: the other keeps its old deal.
    assert purge_trash(workspace_id=str(admin.workspace.pk)) == 2
    assert not Deal.objects.filter(pk=gone[0].pk).exists()
    assert not Lead.objects.filter(pk=gone[1].pk).exists()
    assert Deal.objects.filter(pk=elsewhere[0].pk).exists()
    assert purge_trash() == 1  # now everyone's: the other's old deal, not its young lead
    assert not Deal.objects.filter(pk=elsewhere[0].pk).exists()
    assert Lead.objects.filter(pk=elsewhere[1].pk).exists()


def test_members_and_managers_may_not_purge(admin):
    deleted_lead(admin, days=45)
    for role in (Role.MEMBER, Role.MANAGER, Role.READ_ONLY):
        actor = actor_for(MembershipFactory(role=role.value, workspace=admin.workspace))
        with pytest.raises(PermissionDenied):
            lead_services.lead_purge(actor=actor)
        with pytest.raises(PermissionDenied):
            services.deal_purge(actor=actor)
    assert Lead.objects.filter(workspace=admin.workspace).count() == 1
    assert services.deal_purge(actor=admin) == 0  # an admin may (nothing old enough)
    assert lead_services.lead_purge(actor=admin) == 1


def test_purge_query_count_is_per_batch_not_per_linked_row(admin, django_assert_max_num_queries):
    for _ in range(3):
        deleted_deal(admin, days=45)
    actor = Actor.system(admin.workspace, "retention")
    with django_assert_max_num_queries(40):
        assert services.deal_purge(actor=actor) == 3
