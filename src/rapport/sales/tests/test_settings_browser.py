"""The pipeline editor in a real browser: remove a stage that holds deals, choose where they go."""

from __future__ import annotations

import pytest

from rapport.core.actors import Role
from rapport.sales import services
from rapport.sales.models import Deal
from rapport.tenancy import services as tenancy_services
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import (
    PASSWORD,
    DealFactory,
    MembershipFactory,
    PipelineFactory,
    actor_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _setup():
    owner = MembershipFactory(role=Role.OWNER.value, user__full_name="Olivia Owner")
    actor = actor_for(owner)
    pipeline = PipelineFactory(actor=actor, name="Enterprise sales")
    proposal = pipeline.stages.get(name="Proposal")
    deals = [
        DealFactory(actor=actor, pipeline=str(pipeline.pk), stage=str(proposal.pk))
        for _ in range(3)
    ]
    return owner, pipeline, proposal, deals


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_remove_a_stage_with_deals_and_choose_their_target(request, live_server, device):
    page = request.getfixturevalue("page" if device == "desktop" else "phone_page")
    page.on("dialog", lambda dialog: dialog.accept())
    owner, pipeline, proposal, deals = _setup()
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/sales/pipelines/{pipeline.pk}/")
    assert page.locator("[data-stage-row]:visible").count() == 6
    screenshot(page, f"pipeline-editor-{device}")
    assert_no_horizontal_scroll(page)

    # Move "Negotiation" above "Proposal" with the arrow (no round trip), remove "Proposal".
    row = page.locator("[data-stage-row]", has=page.locator("input[value='Negotiation']"))
    row.get_by_role("button", name="Move Negotiation up").click()
    row = page.locator("[data-stage-row]", has=page.locator("input[value='Proposal']"))
    row.get_by_role("button", name="Remove Proposal").click()
    assert page.locator("[data-stage-row]:visible").count() == 5
    page.get_by_role("button", name="Save pipeline").click()
    page.wait_for_load_state("networkidle")

    main = page.locator("main").inner_text()
    assert "Where should their deals go?" in main
    assert "holds 3 deal(s)" in main
    screenshot(page, f"pipeline-editor-moves-{device}")
    assert_no_horizontal_scroll(page)

    target = pipeline.stages.get(name="Needs analysis")
    page.select_option(f"select[name='move-{proposal.pk}']", str(target.pk))
    page.get_by_role("button", name="Save pipeline").click()
    page.wait_for_load_state("networkidle")
    assert "3 deal(s) moved" in page.locator("main").inner_text()
    screenshot(page, f"pipeline-editor-saved-{device}")
    assert_no_horizontal_scroll(page)

    names = list(pipeline.stages.order_by("position").values_list("name", flat=True))
    assert names == ["Qualification", "Needs analysis", "Negotiation", "Won", "Lost"]
    assert set(
        Deal.objects.filter(pk__in=[d.pk for d in deals]).values_list("stage", flat=True)
    ) == {target.pk}


def test_other_sales_settings_pages_on_a_phone(phone_page, live_server):
    page = phone_page
    owner, pipeline, _, _ = _setup()
    actor = actor_for(owner)
    services.lost_reason_create(actor=actor, name="Chose a competitor with a rather long name")
    services.exchange_rate_set(actor=actor, currency="EUR", rate="1.08", valid_from="2026-01-01")
    services.exchange_rate_set(actor=actor, currency="EUR", rate="1.1", valid_from="2026-02-01")
    colleague = MembershipFactory(workspace=owner.workspace, user__full_name="Mark Member")
    tenancy_services.team_create(actor=actor, name="EMEA", members=[colleague.user_id])
    login(page, live_server, owner.user.email, PASSWORD)
    for name, url in [
        ("pipelines", "/settings/sales/pipelines/"),
        ("pipeline-delete", f"/settings/sales/pipelines/{pipeline.pk}/delete/"),
        ("lost-reasons", "/settings/sales/lost-reasons/"),
        ("currencies", "/settings/sales/currencies/"),
        ("teams", "/settings/teams/"),
        ("workspace", "/settings/"),
    ]:
        page.goto(live_server.url + url)
        screenshot(page, f"settings-{name}-phone")
        assert_no_horizontal_scroll(page)
    assert (
        "1 EUR = 1.1 USD from 2026-02-01"
        in page.goto(live_server.url + "/settings/sales/currencies/").text()
    )
