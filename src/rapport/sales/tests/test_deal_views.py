"""The deal pages (record page, form, delete, history, stage path), the Deals section of
person and company pages, deal changes on their timelines and deals in global search."""

from __future__ import annotations

import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.core.actors import Role
from rapport.sales import services
from rapport.sales.models import Deal, LostReason, Stage
from rapport.sales.sections import human_duration
from rapport.tenancy import services as tenancy_services
from rapport.testing.clients import make_browser
from rapport.testing.factories import (
    CompanyFactory,
    DealFactory,
    PersonFactory,
    actor_for,
)

pytestmark = pytest.mark.django_db

_emails = itertools.count()


def person(actor, **data):
    data.setdefault("email", f"deal-person{next(_emails)}@example.com")
    return PersonFactory(actor=actor, **data)


@pytest.fixture
def actor(browser):
    return actor_for(browser.membership)


def html(response) -> str:
    return response.content.decode()


def stage(deal_or_pipeline, name: str) -> Stage:
    pipeline_id = getattr(deal_or_pipeline, "pipeline_id", None) or deal_or_pipeline.pk
    return Stage.objects.get(pipeline_id=pipeline_id, name=name)


def member(browser, role: Role):
    client, membership = make_browser(role, workspace=browser.membership.workspace)
    return client, actor_for(membership)


# --- the form ---------------------------------------------------------------------------------


def test_create_a_deal_through_the_form(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    ada = person(actor, first_name="Ada", last_name="Lovelace", company=str(acme.pk))
    DealFactory(actor=actor, name="Warm-up")  # (creates the standard pipeline)
    proposal = Stage.objects.get(pipeline__workspace=actor.workspace, name="Proposal")
    r = browser.get(f"/deals/new/?company={acme.pk}&person={ada.pk}&stage={proposal.pk}")
    assert r.status_code == 200
    body = html(r)
    assert 'value="Acme"' in body and 'value="Ada Lovelace"' in body
    assert f'<option value="{proposal.pk}" selected>' in body
    r = browser.post(
        f"/deals/new/?company={acme.pk}",
        {
            "name": "Acme — 50 seats",
            "stage": str(proposal.pk),
            "amount": "12500.50",
            "currency": "eur",
            "close_date": "2031-03-31",
            "owner": str(actor.user.pk),
            "company": str(acme.pk),
            "company_name": "Acme",
            "people_rows": "3",
            "person_0": str(ada.pk),
            "person_0_name": "Ada Lovelace",
            "role_0": "champion",
            "person_1": "",
            "person_1_name": "",
            "role_1": "",
            "next_step": "Send the quote",
            "tags": "enterprise, q1",
            "forecast_category": "commit",
        },
    )
    assert r.status_code == 302, html(r)
    deal = Deal.objects.get(name="Acme — 50 seats")
    assert r["Location"] == f"/deals/{deal.pk}/"
    assert (deal.amount, deal.currency, deal.stage_id) == (
        pytest.approx(12500.50),
        "EUR",
        proposal.pk,
    )
    assert deal.company_id == acme.pk and deal.forecast_category == "commit"
    assert [(dp.person_id, dp.role) for dp in deal.deal_people.all()] == [(ada.pk, "champion")]
    assert sorted(t.name for t in deal.tags.all()) == ["enterprise", "q1"]


def test_service_errors_land_on_their_fields(browser, actor):
    DealFactory(actor=actor)
    r = browser.post(
        "/deals/new/",
        {"name": "", "amount": "12,5x", "currency": "EURO", "people_rows": "1",
         "person_0_name": ""},
    )  # fmt: skip
    assert r.status_code == 200
    form = r.context["form"]
    assert {"name", "amount", "currency"} <= set(form.errors), form.errors
    r = browser.post(
        "/deals/new/", {"name": "x", "people_rows": "1", "person_0_name": "Nobody Atall"}
    )
    assert "There is no one called" in r.context["form"].errors["person_0_name"][0]
    assert Deal.objects.count() == 1


def test_a_stage_refuses_a_deal_without_its_required_fields(browser, actor):
    deal = DealFactory(actor=actor, name="Lacking")
    lost = stage(deal, "Lost")
    r = browser.post(
        f"/deals/{deal.pk}/edit/",
        {"name": deal.name, "stage": str(lost.pk), "version": deal.version,
         "people_rows": "0", "owner": str(deal.owner_id), "currency": "USD",
         "amount": "1000.00"},
    )  # fmt: skip
    assert r.status_code == 200
    form = r.context["form"]
    assert "Lost reason" in " ".join(form.non_field_errors())
    assert form.errors["lost_reason"]
    deal.refresh_from_db()
    assert deal.stage.name == "Qualification"


def test_edit_with_a_stale_version_changes_nothing(browser, actor):
    deal = DealFactory(actor=actor, name="Old name")
    services.deal_update(actor=actor, deal_id=deal.pk, data={"next_step": "Call"})
    r = browser.post(
        f"/deals/{deal.pk}/edit/",
        {"name": "New name", "version": deal.version, "stage": str(deal.stage_id),
         "people_rows": "0", "owner": str(deal.owner_id), "currency": "USD",
         "amount": "1000.00"},
    )  # fmt: skip
    assert r.status_code == 200
    assert r.context["form"].conflict
    assert "Someone else changed this record" in html(r)
    deal.refresh_from_db()
    assert deal.name == "Old name"


def test_edit_sends_only_what_changed(browser, actor):
    deal = DealFactory(actor=actor, name="Keep", next_step="Old step")
    r = browser.get(f"/deals/{deal.pk}/edit/")
    form = r.context["form"]
    data = {k: v for k, v in form.initial.items() if isinstance(v, str | int) and v is not None}
    data.update(next_step="New step", people_rows=str(form.people_count))
    r = browser.post(f"/deals/{deal.pk}/edit/", data)
    assert r.status_code == 302, r.context["form"].errors
    deal.refresh_from_db()
    assert (deal.name, deal.next_step, deal.version) == ("Keep", "New step", 2)


def test_delete_puts_the_deal_in_the_trash(browser, actor):
    deal = DealFactory(actor=actor)
    assert browser.get(f"/deals/{deal.pk}/delete/").status_code == 405
    r = browser.post(f"/deals/{deal.pk}/delete/", {"version": deal.version})
    assert r.status_code == 302
    deal.refresh_from_db()
    assert deal.deleted_at is not None
    assert browser.get(f"/deals/{deal.pk}/").status_code == 404


# --- access -------------------------------------------------------------------------------------


def test_another_workspaces_deal_is_not_found(browser, db):
    _, membership = make_browser(Role.OWNER)
    theirs = DealFactory(actor=actor_for(membership))
    for path in ("", "edit/", "history/"):
        assert browser.get(f"/deals/{theirs.pk}/{path}").status_code == 404
    assert browser.post(f"/deals/{theirs.pk}/delete/").status_code == 404
    assert (
        browser.post(f"/deals/{theirs.pk}/move/", {"stage": str(theirs.stage_id)}).status_code
        == 404
    )


def test_a_deal_hidden_by_record_access_is_not_found(browser, actor):
    client, other = member(browser, Role.MEMBER)
    _, colleague = member(browser, Role.MEMBER)
    theirs = DealFactory(actor=actor, owner=str(colleague.user.pk))
    mine = DealFactory(actor=actor, owner=str(other.user.pk))
    assert client.get(f"/deals/{theirs.pk}/").status_code == 200  # "all" by default
    tenancy_services.workspace_update(actor=actor, record_access="own")
    assert client.get(f"/deals/{theirs.pk}/").status_code == 404
    assert client.get(f"/deals/{theirs.pk}/edit/").status_code == 404
    assert client.get(f"/deals/{mine.pk}/").status_code == 200


def test_read_only_members_cannot_edit(browser, actor):
    deal = DealFactory(actor=actor)
    client, _ = member(browser, Role.READ_ONLY)
    r = client.get(f"/deals/{deal.pk}/")
    assert r.status_code == 200
    assert f"/deals/{deal.pk}/edit/" not in html(r)
    assert 'action="/deals/' not in html(r)  # no stage buttons, no delete
    assert client.get(f"/deals/{deal.pk}/edit/").status_code == 403
    assert client.get("/deals/new/").status_code == 403
    assert client.post(f"/deals/{deal.pk}/edit/", {"name": "x"}).status_code == 403
    assert client.post(f"/deals/{deal.pk}/delete/", {"version": 1}).status_code == 403
    assert client.post(f"/deals/{deal.pk}/move/", {"stage": str(deal.stage_id)}).status_code == 403
    deal.refresh_from_db()
    assert deal.deleted_at is None


# --- the record page ---------------------------------------------------------------------------


def test_the_deal_page_shows_stage_path_facts_people_and_history(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    ada = person(actor, first_name="Ada", last_name="Lovelace")
    services.pipeline_create_default(actor=actor)
    services.exchange_rate_set(actor=actor, currency="EUR", rate="1.1", valid_from="2020-01-01")
    deal = DealFactory(
        actor=actor,
        name="Big one",
        company=str(acme.pk),
        amount={"amount": "1000.00", "currency": "EUR"},
        people=[{"id": str(ada.pk), "role": "decision_maker"}],
    )
    services.deal_move(actor=actor, deal_id=deal.pk, stage=str(stage(deal, "Proposal").pk))
    body = html(browser.get(f"/deals/{deal.pk}/"))
    path = body.split('class="stage-path"', 1)[1].split("</ol>", 1)[0]
    assert re.findall(r'class="stage-button"[^>]*>([^<]+)<', path)[:2] == [
        "Qualification",
        "Needs analysis",
    ]
    assert 'aria-current="step"' in path and "Proposal<span" in path
    assert "€1,000.00" in body
    assert "EUR 1,000.00 × 1.1 (rate of 2020-01-01) = 1,100.00" in body  # the conversion, explained
    assert "Ada Lovelace" in body and "Decision maker" in body
    assert f'href="/companies/{acme.pk}/"' in body
    history = body.split('class="stage-history"', 1)[1].split("</ol>", 1)[0]
    assert "Proposal" in history and "Qualification" in history and "less than a minute" in history
    assert "Moved" not in body  # (no message)
    assert 'id="section-timeline"' in body and 'id="section-quick_add"' in body


def test_won_and_lost_deals_show_their_status(browser, actor):
    deal = DealFactory(actor=actor, name="Gone")
    reason = LostReason.objects.get(workspace=actor.workspace, name="Price")
    services.deal_move(
        actor=actor, deal_id=deal.pk, stage=str(stage(deal, "Lost").pk),
        data={"lost_reason": str(reason.pk), "lost_note": "Too expensive"},
    )  # fmt: skip
    body = html(browser.get(f"/deals/{deal.pk}/"))
    assert "deal-badge-lost" in body and "Too expensive" in body and "Price" in body


def test_clicking_a_stage_moves_the_deal_or_asks_for_required_fields(browser, actor):
    deal = DealFactory(actor=actor)
    proposal, lost = stage(deal, "Proposal"), stage(deal, "Lost")
    r = browser.post(f"/deals/{deal.pk}/move/", {"stage": str(proposal.pk), "version": 1})
    assert r.status_code == 302
    deal.refresh_from_db()
    assert deal.stage_id == proposal.pk
    r = browser.post(f"/deals/{deal.pk}/move/", {"stage": str(lost.pk), "version": deal.version})
    assert r.status_code == 422
    body = html(r)
    assert "Lost requires: <strong>Lost reason</strong>" in body
    assert "Fill in Lost reason before moving the deal to &#x27;Lost&#x27;." in body
    assert 'name="lost_reason"' in body and 'name="name"' not in body
    reason = LostReason.objects.get(workspace=actor.workspace, name="Timing")
    r = browser.post(
        f"/deals/{deal.pk}/move/",
        {"stage": str(lost.pk), "version": deal.version, "filling": "1",
         "lost_reason": str(reason.pk)},
    )  # fmt: skip
    assert r.status_code == 302
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason_id) == ("lost", reason.pk)


def test_the_history_tab_lists_field_changes(browser, actor):
    deal = DealFactory(actor=actor, name="Tracked")
    services.deal_move(actor=actor, deal_id=deal.pk, stage=str(stage(deal, "Proposal").pk))
    body = html(browser.get(f"/deals/{deal.pk}/history/"))
    assert "Deal moved to another stage" in body
    assert "Qualification" in body and "Proposal" in body


def _queries(client, path: str) -> int:
    client.get(path)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx)


def test_deal_page_queries_do_not_grow_with_people_or_history(browser, actor):
    services.exchange_rate_set(actor=actor, currency="EUR", rate="1.1", valid_from="2020-01-01")

    def make(n: int):
        people = [person(actor, first_name=f"P{n}{i}") for i in range(n)]
        deal = DealFactory(
            actor=actor,
            amount={"amount": "10.00", "currency": "EUR"},
            people=[{"id": str(p.pk), "role": "user"} for p in people],
            tags=[f"t{i}" for i in range(n)],
        )
        for i in range(n):
            name = ("Needs analysis", "Proposal")[i % 2]
            services.deal_move(actor=actor, deal_id=deal.pk, stage=str(stage(deal, name).pk))
        return deal

    few, many = make(1), make(6)
    assert _queries(browser, f"/deals/{few.pk}/") == _queries(browser, f"/deals/{many.pk}/")


# --- person and company pages -------------------------------------------------------------------


def test_the_deals_section_of_company_and_person_pages(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    ada = person(actor, first_name="Ada", company=str(acme.pk))
    open_deal = DealFactory(
        actor=actor, name="Open deal", company=str(acme.pk),
        people=[{"id": str(ada.pk), "role": "champion"}],
    )  # fmt: skip
    won = DealFactory(actor=actor, name="Won deal", company=str(acme.pk))
    services.deal_move(actor=actor, deal_id=won.pk, stage=str(stage(won, "Won").pk))
    body = html(browser.get(f"/companies/{acme.pk}/"))
    section = body.split('id="section-deals"', 1)[1].split("</section>", 1)[0]
    assert section.index("Open deal") < section.index("Won deal")  # open first
    assert f"/deals/new/?company={acme.pk}" in section
    assert "$1,000.00" in section
    body = html(browser.get(f"/people/{ada.pk}/"))
    section = body.split('id="section-deals"', 1)[1].split("</section>", 1)[0]
    assert "Open deal" in section and "Champion" in section and "Won deal" not in section
    assert f"/deals/new/?person={ada.pk}" in section
    assert open_deal.pk


def test_the_deals_section_hides_deals_the_reader_may_not_see(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    client, reader = member(browser, Role.MEMBER)
    DealFactory(actor=actor, name="Secret deal", company=str(acme.pk), owner=str(actor.user.pk))
    DealFactory(actor=actor, name="Their deal", company=str(acme.pk), owner=str(reader.user.pk))
    tenancy_services.workspace_update(actor=actor, record_access="own")
    body = html(client.get(f"/companies/{acme.pk}/"))
    assert "Their deal" in body and "Secret deal" not in body


def test_deals_section_queries_are_constant(browser, actor):
    services.exchange_rate_set(actor=actor, currency="GBP", rate="1.3", valid_from="2020-01-01")

    def make(n: int):
        company = CompanyFactory(actor=actor)
        who = person(actor, company=str(company.pk))
        for i in range(n):
            DealFactory(
                actor=actor,
                company=str(company.pk),
                people=[{"id": str(who.pk), "role": "user"}],
                amount={"amount": "5.00", "currency": ("USD", "GBP")[i % 2]},
            )
        return company, who

    (c1, p1), (c2, p2) = make(12), make(20)  # (both more than the section lists)
    assert _queries(browser, f"/companies/{c1.pk}/") == _queries(browser, f"/companies/{c2.pk}/")
    assert _queries(browser, f"/people/{p1.pk}/") == _queries(browser, f"/people/{p2.pk}/")


# --- timelines ----------------------------------------------------------------------------------


def test_a_deals_stage_change_shows_on_its_company_timeline(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    ada = person(actor, first_name="Ada", company=str(acme.pk))
    deal = DealFactory(
        actor=actor, name="Moving deal", company=str(acme.pk),
        people=[{"id": str(ada.pk), "role": "user"}],
    )  # fmt: skip
    services.deal_move(actor=actor, deal_id=deal.pk, stage=str(stage(deal, "Proposal").pk))
    for path in (f"/companies/{acme.pk}/", f"/people/{ada.pk}/", f"/deals/{deal.pk}/"):
        body = html(browser.get(path))
        timeline = body.split('id="section-timeline"', 1)[1]
        assert "Deal moved to another stage" in timeline, path
        assert "Deal created" in timeline, path
    # the change filter chip and paging keep working
    from rapport.activities import selectors as activity_selectors

    tl = activity_selectors.timeline(
        actor=actor, target_type="company", target_id=acme.pk, kinds=["change"], limit=1
    )
    assert len(tl.items) == 1 and tl.next_cursor
    seen = [tl.items[0].id]
    while tl.next_cursor:
        tl = activity_selectors.timeline(
            actor=actor, target_type="company", target_id=acme.pk, kinds=["change"],
            cursor=tl.next_cursor, limit=1,
        )  # fmt: skip
        seen += [i.id for i in tl.items]
    assert len(seen) == len(set(seen)) >= 3  # company created, deal created, deal moved


def test_a_hidden_deals_changes_stay_off_the_timeline(browser, actor):
    acme = CompanyFactory(actor=actor, name="Acme")
    client, _ = member(browser, Role.MEMBER)
    DealFactory(actor=actor, name="Secret", company=str(acme.pk), owner=str(actor.user.pk))
    tenancy_services.workspace_update(actor=actor, record_access="own")
    timeline = html(client.get(f"/companies/{acme.pk}/")).split('id="section-timeline"', 1)[1]
    assert "Deal created" not in timeline


# --- search ---------------------------------------------------------------------------------------


def test_search_finds_deals_but_only_visible_ones(browser, actor):
    client, reader = member(browser, Role.MEMBER)
    mine = DealFactory(actor=actor, name="Zephyr expansion", owner=str(reader.user.pk))
    secret = DealFactory(actor=actor, name="Zephyr secret", owner=str(actor.user.pk))
    body = html(client.get("/search/?q=zephyr"))
    assert f'href="/deals/{mine.pk}/"' in body and f'href="/deals/{secret.pk}/"' in body
    assert "Deal" in body
    tenancy_services.workspace_update(actor=actor, record_access="own")
    body = html(client.get("/search/?q=zephyr"))
    assert f'href="/deals/{mine.pk}/"' in body
    assert f'href="/deals/{secret.pk}/"' not in body and "Zephyr secret" not in body
    body = html(browser.get("/search/?q=zephyr"))  # the owner sees everything
    assert "Zephyr secret" in body


def test_human_durations():
    assert human_duration(None) == "—"
    assert human_duration(5) == "less than a minute"
    assert human_duration(125) == "2 min"
    assert human_duration(3 * 3600 + 60 * 5) == "3 h 5 min"
    assert human_duration(86400 + 7200) == "1 day 2 h"
    assert human_duration(86400 * 3) == "3 days"
    assert human_duration(86400 * 400) == "1 year 35 d"


def test_quick_add_logs_an_interaction_on_the_deal(browser, actor):
    deal = DealFactory(actor=actor, name="Chatty")
    r = browser.post(
        "/activities/new/",
        {"target_type": "deal", "target_id": str(deal.pk), "type": "note",
         "body": "Talked budget", "next": f"/deals/{deal.pk}/"},
    )  # fmt: skip
    assert r.status_code == 302 and r["Location"] == f"/deals/{deal.pk}/"
    timeline = html(browser.get(f"/deals/{deal.pk}/")).split('id="section-timeline"', 1)[1]
    assert "Talked budget" in timeline
    deal.refresh_from_db()
    assert deal.last_interaction_at is not None
