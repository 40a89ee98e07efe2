"""When two people or companies merge, their deals follow the survivor."""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from rapport.contacts import merging

from .models import Deal, DealPerson


def _move_company_deals(*, actor, loser, survivor) -> int:
    # The trash's deals too, so a restored deal finds the survivor. By the company alone, as
    # contacts.merging moves its people: SQLite would walk the workspace's index instead.
    return Deal.objects.filter(company=loser).update(
        company=survivor, version=F("version") + 1, updated_at=timezone.now()
    )


def _count_company_deals(loser) -> int:
    return Deal.objects.filter(company=loser, deleted_at__isnull=True).count()


def _move_person_deals(*, actor, loser, survivor) -> int:
    links = DealPerson.objects.filter(workspace_id=loser.workspace_id)
    # A deal naming both keeps the survivor's role; the loser's row would clash with it.
    already = links.filter(person=survivor).values("deal")
    links.filter(person=loser, deal__in=already).delete()
    return links.filter(person=loser).update(person=survivor)


def _count_person_deals(loser) -> int:
    return DealPerson.objects.filter(workspace_id=loser.workspace_id, person=loser).count()


merging.register_mover("company", _move_company_deals, label="deals", count=_count_company_deals)
merging.register_mover("person", _move_person_deals, label="deals", count=_count_person_deals)
