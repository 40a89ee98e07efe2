"""The deals table shows the columns of the open saved view, in its order (standard deal fields
and ``sales.deal`` custom fields), keeps inline editing on the editable ones, sorts by them, and
its columns are chosen with the view editor's column chooser."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.core.actors import Role
from rapport.customization import services as custom_services
from rapport.customization.models import SavedView
from rapport.testing.clients import make_browser
from rapport.testing.factories import CompanyFactory, DealFactory, actor_for

pytestmark = pytest.mark.django_db

TABLE = "/deals/table/"


@pytest.fixture
def actor(browser):
    return actor_for(browser.membership)


@pytest.fixture
def seats(actor):
    return custom_services.field_create(
        actor=actor,
        data={"object_type": "sales.deal", "key": "seats", "label": "Seats", "type": "number"},
    )


def view(actor, columns, **data) -> SavedView:
    return custom_services.view_create(
        actor=actor,
        data={"object_type": "sales.deal", "name": "Mine", "columns": columns, **data},
    )


def headers(response) -> list[str]:
    head = re.search(r"<thead>(.*?)</thead>", response.content.decode(), re.S)
    assert head is not None
    return [
        re.sub(r"<[^>]+>", "", th).strip() for th in re.findall(r"<th[^>]*>(.*?)</th>", head[1])
    ]


def first_row(response) -> str:
    body = re.search(r"<tbody>\s*<tr[^>]*>(.*?)</tr>", response.content.decode(), re.S)
    assert body is not None
    return body[1]


def test_without_a_view_the_default_columns_show(browser, actor):
    DealFactory(actor=actor, name="Plain")
    r = browser.get(TABLE)
    assert headers(r) == ["Name", "Stage", "Amount", "Close date", "Owner", "Company"]
    assert first_row(r).count("cell-edit") == 5  # every editable column edits in place


def test_the_views_columns_show_in_its_order(browser, actor, seats):
    company = CompanyFactory(actor=actor, name="Initech")
    DealFactory(
        actor=actor,
        name="Big <b>one</b>",
        company=str(company.pk),
        tags=["hot", "ünï"],
        custom={"seats": 250},
    )
    chosen = view(actor, ["custom.seats", "name", "tags", "company", "amount", "created_at"])
    r = browser.get(TABLE, {"view": str(chosen.pk)})
    assert r.status_code == 200
    assert headers(r) == ["Seats", "Name", "Tags", "Company", "Amount", "Created"]
    row = first_row(r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[0].strip() == "250"
    assert "Big &lt;b&gt;one&lt;/b&gt;" in cells[1] and "<b>one" not in row
    assert "hot" in cells[2] and "ünï" in cells[2] and "?tag=hot" in cells[2]
    assert "Initech" in cells[3]
    # name and amount still edit in place; stage, close date and owner are not shown
    assert row.count("cell-edit") == 2
    assert "Stage" not in headers(r)


def test_sorting_by_a_custom_column_and_keeping_it_in_the_sort_menu(browser, actor, seats):
    for name, n in (("Few", 5), ("Many", 500), ("Some", 50)):
        DealFactory(actor=actor, name=name, custom={"seats": n})
    chosen = view(actor, ["name", "custom.seats"])
    r = browser.get(TABLE, {"view": str(chosen.pk)})
    html = r.content.decode()
    assert f"view={chosen.pk}&amp;sort=custom.seats" in html
    r = browser.get(TABLE, {"view": str(chosen.pk), "sort": "-custom.seats"})
    assert [d.name for d in r.context["deals"]] == ["Many", "Some", "Few"]
    assert 'aria-sort="descending"' in r.content.decode()
    assert ("-custom.seats", "Seats (descending)") in r.context["sort_options"]
    assert '<option value="-custom.seats" selected>' in r.content.decode()


def test_a_view_whose_columns_are_all_gone_falls_back_to_the_default(browser, actor, seats):
    DealFactory(actor=actor)
    chosen = view(actor, ["custom.seats"])
    custom_services.field_delete(actor=actor, field_id=seats.pk)
    r = browser.get(TABLE, {"view": str(chosen.pk)})
    assert r.status_code == 200
    assert headers(r)[0] == "Name"


def test_inline_editing_still_works_in_a_views_column(browser, actor):
    deal = DealFactory(actor=actor, name="Before")
    chosen = view(actor, ["amount", "name"])
    assert browser.get(TABLE, {"view": str(chosen.pk)}).status_code == 200
    url = reverse("sales:deal_table_cell", args=[deal.pk, "name"])
    r = browser.post(url, {"name": "After", "version": deal.version})
    assert r.status_code == 200
    deal.refresh_from_db()
    assert deal.name == "After"


def test_columns_are_chosen_with_the_view_editor(browser, actor, seats):
    DealFactory(actor=actor, name="Chosen", custom={"seats": 7})
    chosen = view(actor, [])
    table = browser.get(TABLE, {"view": str(chosen.pk)}).content.decode()
    edit_url = reverse("customization:view_edit", args=[chosen.pk])
    assert f"{edit_url}#columns-title" in table  # "Choose columns"
    form = browser.get(edit_url).content.decode()
    assert 'name="col-custom.seats"' in form and 'name="col-close_date"' in form
    r = browser.post(
        edit_url,
        {
            "action": "save",
            "version": chosen.version,
            "name": "Mine",
            "page_size": "50",
            "col-custom.seats": "on",
            "pos-custom.seats": "1",
            "col-name": "on",
            "pos-name": "2",
            "col-close_date": "on",
            "pos-close_date": "3",
        },
    )
    assert r.status_code == 302 and r["Location"] == f"{TABLE}?view={chosen.pk}"
    assert headers(browser.get(r["Location"])) == ["Seats", "Name", "Close date"]


def test_only_who_may_change_a_view_is_offered_its_columns(browser, actor):
    DealFactory(actor=actor)
    shared = view(actor, ["name"], shared=True)
    client, _ = make_browser(Role.MEMBER, workspace=browser.membership.workspace)
    html = client.get(TABLE, {"view": str(shared.pk)}).content.decode()
    assert reverse("customization:view_edit", args=[shared.pk]) not in html
    assert headers(client.get(TABLE, {"view": str(shared.pk)})) == ["Name"]


def test_another_workspaces_view_is_404(browser, actor):
    _, stranger = make_browser(Role.OWNER)
    theirs = view(actor_for(stranger), ["name"], shared=True)
    assert browser.get(TABLE, {"view": str(theirs.pk)}).status_code == 404


def _count(client, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(TABLE, params).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_rows_whatever_the_columns(browser, actor, seats):
    every = [
        "name",
        "stage",
        "amount",
        "close_date",
        "owner",
        "company",
        "tags",
        "updated_at",
        "created_at",
        "custom.seats",
    ]
    chosen = view(actor, every)
    params = {"view": str(chosen.pk)}
    DealFactory(actor=actor, tags=["a"], custom={"seats": 1})
    browser.get(TABLE, params)  # warm caches
    before = _count(browser, params)
    for i in range(10):
        DealFactory(
            actor=actor,
            company=str(CompanyFactory(actor=actor).pk),
            owner=str(actor.user.pk) if i % 2 else None,
            tags=[f"t{i}", "a"],
            custom={"seats": i},
        )
    assert _count(browser, params) == before
    assert len(browser.get(TABLE, params).context["deals"]) == 11
