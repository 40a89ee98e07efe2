"""Settings → Lead scoring and Lead assignment in a real browser, at desktop and phone width."""

from __future__ import annotations

import pytest

from rapport.core.actors import Role
from rapport.sales import lead_services as services
from rapport.sales.lead_models import LeadAssignmentRule, LeadScoringRule
from rapport.tenancy.models import Team, TeamMember
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, MembershipFactory, actor_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _setup():
    owner = MembershipFactory(role=Role.OWNER.value, user__full_name="Olivia Owner")
    actor = actor_for(owner)
    ws = actor.workspace
    team = Team.objects.create(workspace=ws, name="DACH inside sales")
    for name in ("Dora Dach", "Ulf Ulm"):
        rep = MembershipFactory(workspace=ws, role=Role.MEMBER.value, user__full_name=name)
        TeamMember.objects.create(workspace=ws, team=team, user=rep.user)
    for data in (
        {"kind": "field", "field": "title", "operator": "contains", "value": "VP", "points": 10},
        {"kind": "field", "field": "phone", "operator": "not_empty", "points": 5},
        {"kind": "interaction", "value": "meeting", "points": 8},
        {"kind": "decay", "value": "30", "points": 5},
    ):
        services.scoring_rule_create(actor=actor, data=data)
    services.assignment_rule_create(
        actor=actor,
        data={"name": "DACH inbound", "countries": ["DE", "AT", "CH"], "team": str(team.pk)},
    )
    services.assignment_rule_create(
        actor=actor,
        data={
            "name": "Partner referrals with a very long name to see wrapping",
            "field": "source",
            "operator": "equals",
            "value": "Partner",
            "user": str(owner.user_id),
        },
    )
    return owner, team


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_scoring_page_adds_a_rule_and_deletes_it(request, live_server, device):
    from playwright.sync_api import expect

    page = request.getfixturevalue("page" if device == "desktop" else "phone_page")
    page.on("dialog", lambda dialog: dialog.accept())
    owner, _ = _setup()
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/sales/lead-scoring/")
    expect(page.get_by_text("Title contains “VP”", exact=True)).to_be_visible()
    screenshot(page, f"lead-scoring-{device}")
    assert_no_horizontal_scroll(page)

    # Choosing "Interaction" hides the field test and shows the interaction type.
    form = page.locator("form[data-lead-rule-form]")
    form.get_by_label("Kind of rule").select_option("interaction")
    expect(form.get_by_label("Lead field")).to_be_hidden()
    form.get_by_label("Interaction type").select_option("call")
    form.get_by_label("Points").fill("3")
    form.get_by_role("button", name="Add rule").click()
    expect(page.get_by_text("Each call logged with the lead", exact=True)).to_be_visible()
    assert LeadScoringRule.objects.filter(kind="interaction", value="call").exists()

    page.get_by_role("button", name="Delete rule: Each call logged with the lead").click()
    expect(page.get_by_text("Each call logged with the lead", exact=True)).to_have_count(0)

    page.get_by_role("button", name="Rescore all leads now").click()
    expect(page.get_by_text("Rescoring every open lead in the background")).to_be_visible()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_assignment_page_lists_moves_and_edits(request, live_server, device):
    from playwright.sync_api import expect

    page = request.getfixturevalue("page" if device == "desktop" else "phone_page")
    owner, _team = _setup()
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/sales/lead-assignment/")
    expect(page.get_by_text("Round robin in DACH inside sales")).to_be_visible()
    screenshot(page, f"lead-assignment-{device}")
    assert_no_horizontal_scroll(page)

    page.get_by_role("button", name="Move DACH inbound down").click()
    expect(page.locator("ol.lr-list > li").first).to_contain_text("Partner referrals")

    page.get_by_role("button", name="Edit DACH inbound").click()
    form = page.locator("form[data-lead-rule-form]")
    expect(form.get_by_label("Team", exact=True)).to_be_visible()
    expect(form.get_by_label("User", exact=True)).to_be_hidden()
    expect(form.get_by_label("Test")).to_be_hidden()  # no field test: nothing to compare
    form.get_by_label("Lead field").select_option("title")
    expect(form.get_by_label("Test")).to_be_visible()
    form.get_by_label("Test").select_option("not_empty")
    expect(form.get_by_label("Value")).to_be_hidden()
    form.get_by_label("Lead field").select_option("")
    screenshot(page, f"lead-assignment-edit-{device}")
    assert_no_horizontal_scroll(page)
    form.get_by_label("A fixed user").check()
    form.get_by_label("User", exact=True).select_option(label="Olivia Owner")
    form.get_by_role("button", name="Save rule").click()
    expect(page.get_by_text("Rule saved.")).to_be_visible()
    rule = LeadAssignmentRule.objects.get(name="DACH inbound")
    assert (rule.user_id, rule.team_id) == (owner.user_id, None)
