"""Settings → Pipelines, Lost reasons, Currencies: pages, roles, isolation and query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.core.actors import Role
from rapport.sales import services
from rapport.sales.models import Deal, ExchangeRate, LostReason, Pipeline, StageHistory
from rapport.testing.clients import make_browser
from rapport.testing.factories import DealFactory, PipelineFactory, actor_for

pytestmark = pytest.mark.django_db

PIPELINES = "/settings/sales/pipelines/"
REASONS = "/settings/sales/lost-reasons/"
CURRENCIES = "/settings/sales/currencies/"


@pytest.fixture
def admin(browser):
    return actor_for(browser.membership)


def editor_post(pipeline, rows, *, name=None, action="save", version=None, moves=None):
    """The editor's form as a browser posts it: one ``row`` per stage, in page order."""
    data: dict = {
        "name": name if name is not None else pipeline.name,
        "version": str(pipeline.version if version is None else version),
        "action": action,
        "row": [],
    }
    for i, stage in enumerate(rows):
        key = str(i)
        data["row"].append(key)
        data[f"stage-{key}-id"] = str(stage.get("id", ""))
        data[f"stage-{key}-name"] = stage["name"]
        data[f"stage-{key}-type"] = stage.get("type", "open")
        data[f"stage-{key}-probability"] = str(stage.get("probability", ""))
        data[f"stage-{key}-rotting_days"] = str(stage.get("rotting_days") or "")
        data[f"stage-{key}-required_fields"] = stage.get("required_fields", [])
        data[f"stage-{key}-forecast_category"] = stage.get("forecast_category", "")
    for stage_id, target in (moves or {}).items():
        data[f"move-{stage_id}"] = str(target)
    return data


def rows_of(pipeline):
    return [
        {
            "id": s.pk,
            "name": s.name,
            "type": s.type,
            "probability": s.probability,
            "rotting_days": s.rotting_days,
            "required_fields": s.required_fields,
            "forecast_category": s.forecast_category,
        }
        for s in pipeline.stages.order_by("position")
    ]


def stage_names(pipeline):
    return list(pipeline.stages.order_by("position").values_list("name", flat=True))


# --- pipelines -------------------------------------------------------------------------------


def test_empty_list_offers_the_standard_pipeline(browser):
    r = browser.get(PIPELINES)
    assert r.status_code == 200
    html = r.content.decode()
    assert "No pipeline yet" in html and "Create the standard pipeline" in html
    r = browser.post("/settings/sales/pipelines/standard/")
    assert r.status_code == 302
    pipeline = Pipeline.objects.get(workspace=browser.membership.workspace)
    assert stage_names(pipeline)[0] == "Qualification"
    assert LostReason.objects.filter(workspace=pipeline.workspace).count() == 5
    assert r["Location"] == f"{PIPELINES}{pipeline.pk}/"


def test_create_a_pipeline(browser):
    r = browser.post(PIPELINES, {"name": "Renewals"})
    assert r.status_code == 302
    pipeline = Pipeline.objects.get(name="Renewals")
    assert len(stage_names(pipeline)) == len(services.DEFAULT_STAGES)
    page = browser.get(r["Location"]).content.decode()
    assert 'value="Renewals"' in page and "Qualification" in page
    # The same name again is refused on the form.
    r = browser.post(PIPELINES, {"name": "renewals"})
    assert r.status_code == 422
    assert "There is already a pipeline called" in r.content.decode()


def test_edit_stages_rename_reorder_add_and_require(admin, browser):
    pipeline = PipelineFactory(actor=admin, name="Sales")
    rows = rows_of(pipeline)
    rows[0], rows[1] = rows[1], rows[0]  # reorder
    rows[0]["name"] = "Discovery"
    rows[0]["rotting_days"] = 14
    rows[0]["required_fields"] = ["amount", "close_date"]
    rows.insert(2, {"name": "Demo", "type": "open", "probability": 30})
    r = browser.post(f"{PIPELINES}{pipeline.pk}/", editor_post(pipeline, rows))
    assert r.status_code == 302, r.content.decode()[:2000]
    pipeline.refresh_from_db()
    assert stage_names(pipeline)[:4] == ["Discovery", "Qualification", "Demo", "Proposal"]
    first = pipeline.stages.get(name="Discovery")
    assert (first.rotting_days, first.required_fields) == (14, ["amount", "close_date"])
    assert pipeline.version == 2


def test_editor_buttons_work_without_javascript(admin, browser):
    pipeline = PipelineFactory(actor=admin)
    rows = rows_of(pipeline)
    url = f"{PIPELINES}{pipeline.pk}/"
    r = browser.post(url, editor_post(pipeline, rows, action="down:0"))
    html = r.content.decode()
    assert r.status_code == 200
    assert html.index('value="Needs analysis"') < html.index('value="Qualification"')
    r = browser.post(url, editor_post(pipeline, rows, action="add"))
    html = r.content.decode()
    assert html.count('name="row" value="') - html.count('value="__KEY__"') == len(rows) + 1
    r = browser.post(url, editor_post(pipeline, rows, action="remove:1"))
    assert 'value="Needs analysis"' not in r.content.decode()
    assert stage_names(pipeline)[1] == "Needs analysis"  # nothing saved


def test_stage_errors_are_shown_on_their_row(admin, browser):
    pipeline = PipelineFactory(actor=admin)
    rows = rows_of(pipeline)
    rows[1]["name"] = rows[0]["name"]
    rows[2]["probability"] = 250
    r = browser.post(f"{PIPELINES}{pipeline.pk}/", editor_post(pipeline, rows))
    assert r.status_code == 422
    html = r.content.decode()
    assert "Nothing was saved" in html
    assert "Correct the highlighted stages." in html
    assert html.count('aria-invalid="true"') == 1  # the probability of the third stage
    rows[2]["probability"] = 20
    r = browser.post(f"{PIPELINES}{pipeline.pk}/", editor_post(pipeline, rows))
    assert r.status_code == 422
    assert "Two stages have this name." in r.content.decode()


def test_removing_a_stage_with_deals_asks_where_they_go(admin, browser):
    pipeline = PipelineFactory(actor=admin, name="Sales")
    other = PipelineFactory(actor=admin, name="Partners")
    qual = pipeline.stages.get(name="Qualification")
    deals = [DealFactory(actor=admin, pipeline=str(pipeline.pk)) for _ in range(2)]
    rows = [r for r in rows_of(pipeline) if r["name"] != "Qualification"]
    url = f"{PIPELINES}{pipeline.pk}/"

    r = browser.post(url, editor_post(pipeline, rows))
    assert r.status_code == 422
    html = r.content.decode()
    assert "Where should their deals go?" in html
    assert f'name="move-{qual.pk}"' in html
    assert "holds 2 deal(s)" in html
    # Targets: any stage of any pipeline, but not the removed stage itself.
    target = other.stages.get(name="Proposal")
    assert f'value="{target.pk}"' in html
    assert f'<option value="{qual.pk}"' not in html
    assert Deal.objects.filter(stage=qual).count() == 2  # nothing moved yet

    needs = pipeline.stages.get(name="Needs analysis")
    r = browser.post(url, editor_post(pipeline, rows, moves={qual.pk: needs.pk}))
    assert r.status_code == 302, r.content.decode()[:3000]
    assert "Qualification" not in stage_names(pipeline)
    for deal in deals:
        deal.refresh_from_db()
        assert deal.stage_id == needs.pk
        assert StageHistory.objects.filter(deal=deal, stage_name="Qualification").exists()
    flashes = browser.get(url).content.decode()
    assert "2 deal(s) moved" in flashes


def test_a_stale_version_is_a_clear_conflict(admin, browser):
    pipeline = PipelineFactory(actor=admin)
    rows = rows_of(pipeline)
    services.pipeline_update(actor=admin, pipeline_id=pipeline.pk, data={"name": "Changed"})
    rows[0]["name"] = "Mine"
    r = browser.post(f"{PIPELINES}{pipeline.pk}/", editor_post(pipeline, rows, version=1))
    assert r.status_code == 409
    html = r.content.decode()
    assert "Someone else changed this pipeline" in html
    assert "Reload the latest version" in html
    assert stage_names(pipeline)[0] == "Qualification"


def test_delete_a_pipeline_moving_its_deals(admin, browser):
    pipeline = PipelineFactory(actor=admin, name="Old")
    keep = PipelineFactory(actor=admin, name="New")
    deal = DealFactory(actor=admin, pipeline=str(pipeline.pk))
    url = f"{PIPELINES}{pipeline.pk}/delete/"
    r = browser.get(url)
    html = r.content.decode()
    assert r.status_code == 200 and "1 deal" in html
    target = keep.stages.get(name="Proposal")
    assert f'value="{target.pk}"' in html
    assert f'value="{pipeline.stages.first().pk}"' not in html
    # Without a target: asked again, nothing deleted.
    r = browser.post(url, {"version": pipeline.version})
    assert r.status_code == 422 and "say which stage they move to" in r.content.decode()
    r = browser.post(url, {"version": pipeline.version, "move_to": str(target.pk)})
    assert r.status_code == 302
    assert not Pipeline.objects.filter(pk=pipeline.pk).exists()
    deal.refresh_from_db()
    assert (deal.pipeline_id, deal.stage_id) == (keep.pk, target.pk)


def test_the_only_pipeline_cannot_be_deleted(admin, browser):
    pipeline = PipelineFactory(actor=admin)
    r = browser.get(f"{PIPELINES}{pipeline.pk}/delete/")
    assert "keeps at least one" in r.content.decode()


def test_another_workspaces_pipeline_is_404(browser):
    _, theirs = make_browser(Role.OWNER)
    stranger = PipelineFactory(actor=actor_for(theirs))
    for url in (f"{PIPELINES}{stranger.pk}/", f"{PIPELINES}{stranger.pk}/delete/"):
        assert browser.get(url).status_code == 404
    rows = rows_of(stranger)
    assert (
        browser.post(f"{PIPELINES}{stranger.pk}/", editor_post(stranger, rows)).status_code == 404
    )
    assert stranger.stages.count() == len(rows)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.MEMBER, Role.READ_ONLY])
def test_non_admins_read_but_cannot_change(admin, browser, role):
    pipeline = PipelineFactory(actor=admin, name="Sales")
    reason = services.lost_reason_create(actor=admin, name="Price")
    client, _ = make_browser(role, workspace=admin.workspace)
    html = client.get(f"{PIPELINES}{pipeline.pk}/").content.decode()
    assert "only owners and admins can change pipelines" in html
    assert 'name="row"' not in html and "Qualification" in html
    assert "Add pipeline" not in client.get(PIPELINES).content.decode()
    assert "only owners and admins" in client.get(CURRENCIES).content.decode()
    assert 'name="name"' not in client.get(REASONS).content.decode()

    rows = rows_of(pipeline)
    rows[0]["name"] = "Hijacked"
    posts = [
        (PIPELINES, {"name": "Mine"}),
        ("/settings/sales/pipelines/standard/", {}),
        (f"{PIPELINES}{pipeline.pk}/", editor_post(pipeline, rows)),
        (f"{PIPELINES}{pipeline.pk}/delete/", {"version": 1}),
        (REASONS, {"name": "Mine"}),
        (f"{REASONS}{reason.pk}/", {"name": "Mine"}),
        (f"{REASONS}{reason.pk}/delete/", {}),
        (f"{CURRENCIES}base/", {"default_currency": "EUR"}),
        (f"{CURRENCIES}rates/", {"currency": "EUR", "rate": "1.1", "valid_from": "2026-01-01"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert stage_names(pipeline)[0] == "Qualification"
    assert Pipeline.objects.filter(workspace=admin.workspace).count() == 1
    assert LostReason.objects.get(pk=reason.pk).name == "Price"
    admin.workspace.refresh_from_db()
    assert admin.workspace.default_currency == "USD"


def test_editor_query_count_is_constant_in_the_number_of_stages(admin, browser):
    small = PipelineFactory(actor=admin, stages=[{"name": "A"}, {"name": "Won", "type": "won"}])
    big = PipelineFactory(
        actor=admin, stages=[{"name": f"S{i}", "required_fields": ["amount"]} for i in range(20)]
    )
    DealFactory(actor=admin, pipeline=str(big.pk))

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert browser.get(url).status_code == 200
        return len(ctx.captured_queries)

    count(PIPELINES)  # warm up (session, caches)
    assert count(f"{PIPELINES}{small.pk}/") == count(f"{PIPELINES}{big.pk}/")
    n = count(PIPELINES)
    PipelineFactory(actor=admin)
    assert count(PIPELINES) == n


# --- lost reasons ----------------------------------------------------------------------------


def test_lost_reasons_crud(admin, browser):
    r = browser.get(REASONS)
    assert "No lost reasons yet" in r.content.decode()
    assert browser.post(REASONS, {"name": "Price"}).status_code == 302
    reason = LostReason.objects.get(workspace=admin.workspace, name="Price")
    r = browser.post(REASONS, {"name": "price"})
    assert r.status_code == 422 and "already a lost reason" in r.content.decode()

    assert browser.post(f"{REASONS}{reason.pk}/", {"name": "Too expensive"}).status_code == 302
    reason.refresh_from_db()
    assert reason.name == "Too expensive"
    assert browser.post(f"{REASONS}{reason.pk}/", {"active": "0"}).status_code == 302
    reason.refresh_from_db()
    assert reason.active is False
    assert "Switch on" in browser.get(REASONS).content.decode()
    browser.post(f"{REASONS}{reason.pk}/", {"active": "1"})
    reason.refresh_from_db()
    assert reason.active is True

    services.lost_reason_create(actor=admin, name="Timing")
    r = browser.post(f"{REASONS}{reason.pk}/", {"name": "Timing"})
    assert r.status_code == 422 and "already a lost reason" in r.content.decode()

    assert browser.post(f"{REASONS}{reason.pk}/delete/").status_code == 302
    assert not LostReason.objects.filter(pk=reason.pk).exists()


def test_another_workspaces_lost_reason_is_404(browser):
    _, m = make_browser(Role.OWNER)
    reason = services.lost_reason_create(actor=actor_for(m), name="Price")
    assert browser.post(f"{REASONS}{reason.pk}/", {"name": "X"}).status_code == 404
    assert browser.post(f"{REASONS}{reason.pk}/delete/").status_code == 404
    assert LostReason.objects.filter(pk=reason.pk, name="Price").exists()


# --- currencies ------------------------------------------------------------------------------


def test_add_a_rate_and_see_it_explained(admin, browser):
    r = browser.get(CURRENCIES)
    assert "No exchange rates yet" in r.content.decode()
    r = browser.post(
        f"{CURRENCIES}rates/", {"currency": "EUR", "rate": "1.08", "valid_from": "2026-01-01"}
    )
    assert r.status_code == 302
    rate = ExchangeRate.objects.get(workspace=admin.workspace)
    assert (rate.base, rate.currency, rate.rate) == ("USD", "EUR", Decimal("1.08"))
    html = browser.get(CURRENCIES).content.decode()
    assert "1 EUR = 1.08 USD from 2026-01-01" in html

    # Bad input is reported on the form.
    r = browser.post(f"{CURRENCIES}rates/", {"currency": "EUR", "rate": "-3", "valid_from": ""})
    assert r.status_code == 422
    assert "This field is required." in r.content.decode()
    r = browser.post(
        f"{CURRENCIES}rates/", {"currency": "EUR", "rate": "abc", "valid_from": "2026-02-01"}
    )
    assert r.status_code == 422 and "Not a decimal number." in r.content.decode()

    assert browser.post(f"{CURRENCIES}rates/{rate.pk}/delete/").status_code == 302
    assert not ExchangeRate.objects.filter(pk=rate.pk).exists()


def test_import_rates_reports_each_bad_line(admin, browser):
    csv = (
        "currency,rate,date\n"
        "EUR,1.08,2026-01-01\n"
        "GBP,1.27,2026-01-01\n"
        "XXZ,1.5,2026-01-01\n"
        "EUR,-1,2026-02-01\n"
    )
    upload = SimpleUploadedFile("rates.csv", csv.encode(), content_type="text/csv")
    r = browser.post(f"{CURRENCIES}rates/import/", {"file": upload})
    assert r.status_code == 200
    html = r.content.decode()
    assert "2 rates stored, 2 lines rejected" in html
    assert "Line 4: currency: Use an ISO 4217 currency code" in html
    assert "Line 5: rate:" in html
    assert ExchangeRate.objects.filter(workspace=admin.workspace).count() == 2

    bad = SimpleUploadedFile("x.csv", b"foo,bar\n1,2\n", content_type="text/csv")
    r = browser.post(f"{CURRENCIES}rates/import/", {"file": bad})
    assert r.status_code == 422 and "must name the columns" in r.content.decode()


def test_change_the_base_currency(admin, browser):
    services.exchange_rate_set(actor=admin, currency="EUR", rate="1.08", valid_from="2026-01-01")
    html = browser.get(CURRENCIES).content.decode()
    assert "Rates are kept per base currency" in html
    r = browser.post(f"{CURRENCIES}base/", {"default_currency": "EUR"})
    assert r.status_code == 302
    admin.workspace.refresh_from_db()
    assert admin.workspace.default_currency == "EUR"
    html = browser.get(CURRENCIES).content.decode()
    assert "Base currency: EUR" in html
    assert "Rates are also stored for other base currencies: USD" in html
    assert "No exchange rates yet" in html
    r = browser.post(f"{CURRENCIES}base/", {"default_currency": "ZZZ"})
    assert r.status_code == 422


def test_rate_history_is_paginated_newest_first_with_constant_queries(admin, browser):
    day = dt.date(2025, 1, 1)
    for i in range(60):
        services.exchange_rate_set(
            actor=admin, currency="EUR", rate=f"1.{i:02d}", valid_from=day + dt.timedelta(i)
        )
    services.exchange_rate_set(actor=admin, currency="GBP", rate="1.27", valid_from=day)
    r = browser.get(CURRENCIES + "?currency=EUR")
    html = r.content.decode()
    assert html.count("/delete/") == 50
    assert html.index("2025-03-01") < html.index("2025-02-28")  # newest first
    assert "Older rates" in html
    nxt = html.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    html2 = browser.get(CURRENCIES + nxt).content.decode()
    assert html2.count("/delete/") == 10 and "2025-01-01" in html2

    def count():
        with CaptureQueriesContext(connection) as ctx:
            browser.get(CURRENCIES)
        return len(ctx.captured_queries)

    n = count()
    for code in ("JPY", "CHF", "CAD"):
        services.exchange_rate_set(actor=admin, currency=code, rate="0.5", valid_from=day)
    assert count() == n


def test_a_stage_can_require_a_deal_custom_field(admin, browser):
    from rapport.customization import services as custom_services

    custom_services.field_create(
        actor=admin,
        data={
            "object_type": "sales.deal",
            "label": "Budget code",
            "key": "budget_code",
            "type": "text",
        },
    )
    pipeline = PipelineFactory(actor=admin)
    html = browser.get(f"{PIPELINES}{pipeline.pk}/").content.decode()
    assert 'value="custom.budget_code"' in html and "Budget code" in html
    rows = rows_of(pipeline)
    rows[2]["required_fields"] = ["custom.budget_code", "amount"]
    r = browser.post(f"{PIPELINES}{pipeline.pk}/", editor_post(pipeline, rows))
    assert r.status_code == 302
    assert pipeline.stages.get(name="Proposal").required_fields == ["custom.budget_code", "amount"]
    pipeline.refresh_from_db()
    rows[2]["required_fields"] = ["custom.nope"]
    r = browser.post(f"{PIPELINES}{pipeline.pk}/", editor_post(pipeline, rows))
    assert r.status_code == 422
    assert "is not a deal field a stage can require" in r.content.decode()
