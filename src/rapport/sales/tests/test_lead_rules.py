"""Lead scoring and assignment rules: the services (validation, roles, audit, order) and
Settings → Lead scoring / Lead assignment (pages, roles, isolation, query counts)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.audit.models import AuditEntry
from rapport.core.actors import Role
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed
from rapport.sales import lead_services as services
from rapport.sales.lead_models import Lead, LeadAssignmentRule, LeadScoringRule
from rapport.tenancy.models import Team, TeamMember
from rapport.testing.clients import make_browser
from rapport.testing.factories import MembershipFactory, actor_for

pytestmark = pytest.mark.django_db

SCORING = "/settings/sales/lead-scoring/"
ASSIGNMENT = "/settings/sales/lead-assignment/"
TITLE_VP = {"kind": "field", "field": "title", "operator": "contains", "value": "VP", "points": 10}


@pytest.fixture(autouse=True)
def _lead_target():
    services.register()


@pytest.fixture
def admin():
    return actor_for(MembershipFactory(role=Role.ADMIN.value))


def member_of(actor, role=Role.MEMBER):
    return actor_for(MembershipFactory(workspace=actor.workspace, role=role.value))


def make_lead(actor, **data):
    data.setdefault("first_name", "Ada")
    return services.lead_create(actor=actor, data=data)


def errors_of(exc_info) -> dict[str, str]:
    return {e.field: e.message for e in exc_info.value.errors}


def audit_actions(actor, rule) -> list[str]:
    return list(
        AuditEntry.objects.filter(workspace=actor.workspace, object_id=str(rule.pk))
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )


# --- scoring rule services ----------------------------------------------------------------------


def test_a_new_rule_changes_scores_after_the_rescore(admin, django_capture_on_commit_callbacks):
    lead = make_lead(admin, title="VP Sales")
    assert lead.score == 0
    services.scoring_rule_create(actor=admin, data=TITLE_VP)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.leads_rescore_queue(actor=admin)
    assert len(callbacks) == 1
    lead.refresh_from_db()
    assert lead.score == 10 and lead.score_reasons == ["+10 title contains 'VP'"]


def test_update_changes_the_rule_and_records_only_what_changed(admin):
    rule = services.scoring_rule_create(actor=admin, data=TITLE_VP)
    updated = services.scoring_rule_update(actor=admin, rule_id=rule.pk, data={"points": 25})
    assert (updated.points, updated.value) == (25, "VP")
    entry = AuditEntry.objects.get(action="lead_scoring_rule.updated", object_id=str(rule.pk))
    assert entry.changes == {"points": {"before": 10, "after": 25}}
    # Nothing changed: nothing written.
    services.scoring_rule_update(actor=admin, rule_id=rule.pk, data={"points": 25})
    assert audit_actions(admin, rule) == ["lead_scoring_rule.created", "lead_scoring_rule.updated"]
    assert make_lead(admin, title="vp marketing").score == 25


def test_changing_the_kind_asks_for_what_the_new_kind_needs(admin):
    rule = services.scoring_rule_create(
        actor=admin, data={"kind": "interaction", "value": "Call", "points": 3}
    )
    assert rule.value == "call" and rule.field == ""
    with pytest.raises(ValidationFailed) as exc:
        services.scoring_rule_update(actor=admin, rule_id=rule.pk, data={"kind": "field"})
    assert set(errors_of(exc)) == {"field"}
    rule = services.scoring_rule_update(
        actor=admin, rule_id=rule.pk, data={"kind": "decay", "value": "30", "points": 5}
    )
    assert (rule.kind, rule.value, rule.points) == ("decay", "30", 5)


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, {"field", "points"}),
        ({**TITLE_VP, "field": "password"}, {"field"}),
        ({**TITLE_VP, "field": "custom.nope"}, {"field"}),
        ({**TITLE_VP, "operator": "regex"}, {"operator"}),
        ({**TITLE_VP, "value": ""}, {"value"}),
        ({**TITLE_VP, "points": 1001}, {"points"}),
        ({**TITLE_VP, "points": -5000}, {"points"}),
        ({**TITLE_VP, "points": "ten"}, {"points"}),
        ({**TITLE_VP, "points": 0}, {"points"}),
        ({**TITLE_VP, "value": "x" * 256}, {"value"}),
        ({**TITLE_VP, "kind": "magic"}, {"kind"}),
        ({**TITLE_VP, "colour": "red"}, {"colour"}),
        ({"kind": "interaction", "value": "carrier pigeon", "points": 1}, {"value"}),
        ({"kind": "decay", "value": "0", "points": 1}, {"value"}),
        ({"kind": "decay", "value": "30", "points": -1}, {"points"}),
        ({"kind": "decay", "points": 1}, {"value"}),
    ],
)
def test_bad_scoring_rules_name_their_fields_and_change_nothing(admin, data, fields):
    with pytest.raises(ValidationFailed) as exc:
        services.scoring_rule_create(actor=admin, data=data)
    assert set(errors_of(exc)) == fields
    assert all(message for message in errors_of(exc).values())
    assert not LeadScoringRule.objects.filter(workspace=admin.workspace).exists()


def test_markup_and_unicode_are_plain_values(admin):
    rule = services.scoring_rule_create(
        actor=admin,
        data={
            "kind": "field",
            "field": "company_name",
            "operator": "equals",
            "value": "<script>alert(1)</script>",
            "points": 7,
        },
    )
    assert rule.value == "<script>alert(1)</script>"  # kept as text, escaped where shown
    rule = services.scoring_rule_create(
        actor=admin,
        data={
            "kind": "field",
            "field": "title",
            "operator": "equals",
            "value": "Директор",
            "points": 1,
        },
    )
    assert make_lead(admin, title="директор").score == 1


def test_scoring_rules_are_admin_only_and_walled(admin):
    rule = services.scoring_rule_create(actor=admin, data=TITLE_VP)
    for role in (Role.MEMBER, Role.MANAGER, Role.READ_ONLY):
        someone = member_of(admin, role)
        with pytest.raises(PermissionDenied):
            services.scoring_rule_create(actor=someone, data=TITLE_VP)
        with pytest.raises(PermissionDenied):
            services.scoring_rule_update(actor=someone, rule_id=rule.pk, data={"points": 1})
        with pytest.raises(PermissionDenied):
            services.scoring_rule_delete(actor=someone, rule_id=rule.pk)
        with pytest.raises(PermissionDenied):
            services.leads_rescore_queue(actor=someone)
    stranger = actor_for(MembershipFactory(role=Role.OWNER.value))
    with pytest.raises(NotFound):
        services.scoring_rule_update(actor=stranger, rule_id=rule.pk, data={"points": 1})
    with pytest.raises(NotFound):
        services.scoring_rule_delete(actor=stranger, rule_id=rule.pk)
    assert LeadScoringRule.objects.get(pk=rule.pk).points == 10
    services.scoring_rule_delete(actor=admin, rule_id=rule.pk)
    assert audit_actions(admin, rule) == ["lead_scoring_rule.created", "lead_scoring_rule.deleted"]


# --- assignment rule services -------------------------------------------------------------------


def team_of(actor, name, size):
    team = Team.objects.create(workspace=actor.workspace, name=name)
    reps = [member_of(actor) for _ in range(size)]
    for rep in reps:
        TeamMember.objects.create(workspace=actor.workspace, team=team, user=rep.user)
    return team, sorted(rep.user_id for rep in reps)


def test_an_assignment_rule_routes_a_new_lead(admin):
    partner_manager = member_of(admin)
    team, reps = team_of(admin, "DACH", 2)
    services.assignment_rule_create(
        actor=admin, data={"name": "DACH", "countries": ["de", "AT"], "team": str(team.pk)}
    )
    services.assignment_rule_create(
        actor=admin,
        data={
            "name": "Partners",
            "field": "source",
            "operator": "equals",
            "value": "Partner",
            "user": str(partner_manager.user_id),
        },
    )
    form_lead = services.lead_create(actor=actor_for_system(admin), data={"email": "a@b.de"})
    assert form_lead.owner_id is None  # no country, no partner: nobody
    assert make_lead(admin, country="DE").owner_id == reps[0]
    assert make_lead(admin, country="AT").owner_id == reps[1]
    assert make_lead(admin, source="partner").owner_id == partner_manager.user_id


def actor_for_system(actor):
    from rapport.core.actors import Actor

    return Actor.system(actor.workspace, "web form")


def test_update_moves_deactivates_and_retargets(admin):
    rep = member_of(admin)
    team, reps = team_of(admin, "Inside", 1)
    first = services.assignment_rule_create(actor=admin, data={"user": str(rep.user_id)})
    second = services.assignment_rule_create(
        actor=admin, data={"countries": ["FR"], "team": str(team.pk)}
    )
    assert (first.position, second.position) == (0, 1)
    services.assignment_rule_update(actor=admin, rule_id=second.pk, data={"position": 0})
    order = list(
        LeadAssignmentRule.objects.filter(workspace=admin.workspace)
        .order_by("position")
        .values_list("pk", flat=True)
    )
    assert order == [second.pk, first.pk]
    assert make_lead(admin, country="FR").owner_id == reps[0]

    services.assignment_rule_update(actor=admin, rule_id=second.pk, data={"active": False})
    assert make_lead(admin, country="FR").owner_id == rep.user_id
    # Sending a user replaces the team.
    rule = services.assignment_rule_update(
        actor=admin, rule_id=second.pk, data={"user": str(admin.user_id), "active": True}
    )
    assert (rule.user_id, rule.team_id) == (admin.user_id, None)
    entry = AuditEntry.objects.filter(
        action="lead_assignment_rule.updated", object_id=str(second.pk)
    ).latest("created_at")
    assert set(entry.changes) == {"active", "team_id", "user_id"}


def test_delete_closes_the_gap_in_the_order(admin):
    rules = [
        services.assignment_rule_create(
            actor=admin, data={"name": f"R{i}", "user": str(admin.user_id)}
        )
        for i in range(3)
    ]
    services.assignment_rule_delete(actor=admin, rule_id=rules[0].pk)
    left = LeadAssignmentRule.objects.filter(workspace=admin.workspace).order_by("position")
    assert [(r.name, r.position) for r in left] == [("R1", 0), ("R2", 1)]
    assert audit_actions(admin, rules[0])[-1] == "lead_assignment_rule.deleted"
    # A new rule goes last, after the others.
    assert (
        services.assignment_rule_create(actor=admin, data={"user": str(admin.user_id)}).position
        == 2
    )


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"user": None}, {"user"}),
        ({"name": "x" * 101, "user": "me"}, {"name", "user"}),
        ({"countries": ["XX"], "user": None}, {"countries.0"}),
        ({"countries": "DE", "team": None}, {"countries"}),
        ({"field": "password", "operator": "equals", "value": "1"}, {"field"}),
        ({"field": "title", "operator": "like", "value": "1"}, {"operator"}),
        ({"field": "title", "operator": "equals"}, {"value"}),
        ({"active": "yes"}, {"active"}),
        ({"position": -1}, {"position"}),
        ({"colour": "red"}, {"colour"}),
    ],
)
def test_bad_assignment_rules_name_their_fields(admin, data, fields):
    data = {"user": str(admin.user_id), **data}
    with pytest.raises(ValidationFailed) as exc:
        services.assignment_rule_create(actor=admin, data=data)
    assert fields <= set(errors_of(exc))
    assert not LeadAssignmentRule.objects.filter(workspace=admin.workspace).exists()


def test_another_workspaces_team_or_user_is_refused(admin):
    elsewhere = actor_for(MembershipFactory(role=Role.OWNER.value))
    their_team = Team.objects.create(workspace=elsewhere.workspace, name="Theirs")
    with pytest.raises(ValidationFailed) as exc:
        services.assignment_rule_create(actor=admin, data={"team": str(their_team.pk)})
    assert errors_of(exc) == {"team": "No such team in this workspace."}
    with pytest.raises(ValidationFailed) as exc:
        services.assignment_rule_create(actor=admin, data={"user": str(elsewhere.user_id)})
    assert errors_of(exc) == {"user": "Must be a member of this workspace."}
    team, _ = team_of(admin, "Ours", 1)
    with pytest.raises(ValidationFailed) as exc:
        services.assignment_rule_create(
            actor=admin, data={"team": str(team.pk), "user": str(admin.user_id)}
        )
    assert set(errors_of(exc)) == {"team"}
    rule = services.assignment_rule_create(actor=admin, data={"user": str(admin.user_id)})
    with pytest.raises(NotFound):
        services.assignment_rule_update(actor=elsewhere, rule_id=rule.pk, data={"name": "x"})
    with pytest.raises(NotFound):
        services.assignment_rule_delete(actor=elsewhere, rule_id=rule.pk)
    with pytest.raises(PermissionDenied):
        services.assignment_rule_update(actor=member_of(admin), rule_id=rule.pk, data={})
    with pytest.raises(PermissionDenied):
        services.assignment_rule_delete(actor=member_of(admin, Role.MANAGER), rule_id=rule.pk)


# --- Settings → Lead scoring ----------------------------------------------------------------------


@pytest.fixture
def page_admin(browser):
    return actor_for(browser.membership)


def count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_scoring_page_empty_state_create_edit_delete(page_admin, browser):
    html = browser.get(SCORING).content.decode()
    assert "No scoring rules yet" in html and "Rescore all leads now" in html
    assert 'href="/settings/sales/lead-scoring/"' in html  # the Settings tab

    r = browser.post(
        SCORING,
        {"kind": "field", "field": "title", "operator": "contains", "value": "VP", "points": "10"},
    )
    assert r.status_code == 302
    rule = LeadScoringRule.objects.get(workspace=page_admin.workspace)
    html = browser.get(SCORING).content.decode()
    assert "Title contains “VP”" in html and "+10" in html

    r = browser.post(
        f"{SCORING}{rule.pk}/", {"kind": "interaction", "interaction": "meeting", "points": "4"}
    )
    assert r.status_code == 302
    rule.refresh_from_db()
    assert (rule.kind, rule.value, rule.field, rule.points) == ("interaction", "meeting", "", 4)
    assert "Each meeting logged with the lead" in browser.get(SCORING).content.decode()

    assert browser.post(f"{SCORING}{rule.pk}/delete/").status_code == 302
    assert not LeadScoringRule.objects.filter(pk=rule.pk).exists()


def test_scoring_form_errors_are_shown_inline(page_admin, browser):
    r = browser.post(
        SCORING,
        {"kind": "field", "field": "password", "operator": "equals", "value": "", "points": "5000"},
    )
    assert r.status_code == 422
    html = r.content.decode()
    assert "Nothing was saved" in html
    assert "Unknown lead field" in html and "Must be between -1000 and 1000" in html
    r = browser.post(SCORING, {"kind": "interaction", "interaction": "pigeon", "points": "1"})
    assert r.status_code == 422 and "Choose the interaction type" in r.content.decode()
    r = browser.post(
        SCORING,
        {
            "kind": "field",
            "field": "title",
            "operator": "equals",
            "value": "<script>x</script>",
            "points": "1",
        },
    )
    assert r.status_code == 302
    html = browser.get(SCORING).content.decode()
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_rescore_button_queues_the_workspace(
    page_admin, browser, django_capture_on_commit_callbacks
):
    lead = make_lead(page_admin, title="VP")
    services.scoring_rule_create(actor=page_admin, data=TITLE_VP)
    with django_capture_on_commit_callbacks(execute=True):
        r = browser.post(f"{SCORING}rescore/", follow=True)
    assert "Rescoring every open lead in the background" in r.content.decode()
    lead.refresh_from_db()
    assert lead.score == 10


def test_members_read_the_rules_and_cannot_change_them(page_admin, browser):
    rule = services.scoring_rule_create(actor=page_admin, data=TITLE_VP)
    arule = services.assignment_rule_create(
        actor=page_admin, data={"user": str(page_admin.user_id)}
    )
    for role in (Role.MEMBER, Role.READ_ONLY):
        client, _ = make_browser(role, workspace=page_admin.workspace)
        html = client.get(SCORING).content.decode()
        assert "Title contains “VP”" in html and "only owners and admins" in html
        assert "Rescore all leads now" not in html and "Add a rule" not in html
        assert client.post(SCORING, TITLE_VP).status_code == 403
        assert client.post(f"{SCORING}{rule.pk}/", {"points": "1"}).status_code == 403
        assert client.post(f"{SCORING}{rule.pk}/delete/").status_code == 403
        assert client.post(f"{SCORING}rescore/").status_code == 403
        assert client.get(ASSIGNMENT).status_code == 200
        assert client.post(f"{ASSIGNMENT}{arule.pk}/delete/").status_code == 403
        assert (
            client.post(f"{ASSIGNMENT}{arule.pk}/move/", {"direction": "down"}).status_code == 403
        )
    assert LeadScoringRule.objects.get(pk=rule.pk).points == 10
    assert LeadAssignmentRule.objects.filter(pk=arule.pk).exists()


def test_another_workspaces_rules_are_404_on_the_pages(page_admin, browser):
    elsewhere = actor_for(MembershipFactory(role=Role.OWNER.value))
    rule = services.scoring_rule_create(actor=elsewhere, data=TITLE_VP)
    arule = services.assignment_rule_create(actor=elsewhere, data={"user": str(elsewhere.user_id)})
    assert browser.get(f"{SCORING}{rule.pk}/").status_code == 404
    assert browser.post(f"{SCORING}{rule.pk}/", TITLE_VP).status_code == 404
    assert browser.post(f"{SCORING}{rule.pk}/delete/").status_code == 404
    assert browser.get(f"{ASSIGNMENT}{arule.pk}/").status_code == 404
    assert browser.post(f"{ASSIGNMENT}{arule.pk}/move/", {"direction": "up"}).status_code == 404
    assert browser.post(f"{ASSIGNMENT}{arule.pk}/delete/").status_code == 404
    assert "No scoring rules yet" in browser.get(SCORING).content.decode()
    assert LeadScoringRule.objects.filter(pk=rule.pk).exists()


def test_scoring_page_query_count_is_constant(page_admin, browser):
    services.scoring_rule_create(actor=page_admin, data=TITLE_VP)
    count(browser, SCORING)  # warm up (session, caches)
    n = count(browser, SCORING)
    for i in range(10):
        services.scoring_rule_create(actor=page_admin, data={**TITLE_VP, "value": f"V{i}"})
        services.scoring_rule_create(
            actor=page_admin, data={"kind": "interaction", "value": "call", "points": i + 1}
        )
    services.scoring_rule_create(
        actor=page_admin, data={"kind": "decay", "value": "30", "points": 2}
    )
    assert count(browser, SCORING) == n


# --- Settings → Lead assignment -------------------------------------------------------------------


def test_assignment_page_create_move_edit_delete(page_admin, browser):
    html = browser.get(ASSIGNMENT).content.decode()
    assert "No assignment rules yet" in html
    team, reps = team_of(page_admin, "DACH team", 2)
    r = browser.post(
        ASSIGNMENT,
        {
            "name": "DACH",
            "countries": "de, at ch",
            "target": "team",
            "team": str(team.pk),
            "user": "",
            "active": "on",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    r = browser.post(
        ASSIGNMENT,
        {
            "name": "Partners",
            "field": "source",
            "operator": "equals",
            "value": "Partner",
            "target": "user",
            "user": str(page_admin.user_id),
            "active": "on",
        },
    )
    assert r.status_code == 302
    dach = LeadAssignmentRule.objects.get(workspace=page_admin.workspace, name="DACH")
    partners = LeadAssignmentRule.objects.get(workspace=page_admin.workspace, name="Partners")
    assert dach.countries == ["DE", "AT", "CH"] and dach.team_id == team.pk
    html = browser.get(ASSIGNMENT).content.decode()
    assert "Country is DE, AT, CH" in html and "Round robin in DACH team" in html
    assert "Source equals “Partner”" in html

    assert browser.post(f"{ASSIGNMENT}{partners.pk}/move/", {"direction": "up"}).status_code == 302
    partners.refresh_from_db()
    dach.refresh_from_db()
    assert (partners.position, dach.position) == (0, 1)

    r = browser.post(
        f"{ASSIGNMENT}{dach.pk}/",
        {
            "name": "DACH",
            "countries": "DE",
            "target": "user",
            "user": str(reps[0]),
            "team": str(team.pk),
        },
    )
    assert r.status_code == 302
    dach.refresh_from_db()
    assert (dach.user_id, dach.team_id, dach.active) == (reps[0], None, False)
    assert "off" in browser.get(ASSIGNMENT).content.decode()

    assert browser.post(f"{ASSIGNMENT}{partners.pk}/delete/").status_code == 302
    dach.refresh_from_db()
    assert dach.position == 0


def test_assignment_form_errors_are_shown_inline(page_admin, browser):
    elsewhere = MembershipFactory()
    r = browser.post(
        ASSIGNMENT,
        {
            "countries": "DE, XX",
            "field": "title",
            "operator": "",
            "target": "user",
            "user": str(elsewhere.user_id),
        },
    )
    assert r.status_code == 422
    html = r.content.decode()
    assert "Use an ISO 3166-1 alpha-2 country code" in html
    assert "Choose equals, contains or not_empty" in html
    assert "Must be a member of this workspace" in html
    r = browser.post(ASSIGNMENT, {"target": "team", "team": ""})
    assert r.status_code == 422 and "Assign to one user or one team" in r.content.decode()
    assert not LeadAssignmentRule.objects.filter(workspace=page_admin.workspace).exists()


def test_assignment_page_query_count_is_constant(page_admin, browser):
    team, _ = team_of(page_admin, "T0", 1)
    services.assignment_rule_create(actor=page_admin, data={"team": str(team.pk)})
    count(browser, ASSIGNMENT)
    n = count(browser, ASSIGNMENT)
    for i in range(8):
        team, _ = team_of(page_admin, f"T{i + 1}", 2)
        services.assignment_rule_create(
            actor=page_admin, data={"name": f"R{i}", "countries": ["DE"], "team": str(team.pk)}
        )
        services.assignment_rule_create(
            actor=page_admin,
            data={
                "field": "source",
                "operator": "equals",
                "value": "x",
                "user": str(page_admin.user_id),
            },
        )
    assert count(browser, ASSIGNMENT) == n


def test_leads_keep_scores_of_other_workspaces_untouched(admin, django_capture_on_commit_callbacks):
    elsewhere = actor_for(MembershipFactory(role=Role.OWNER.value))
    theirs = make_lead(elsewhere, title="VP")
    services.scoring_rule_create(actor=admin, data=TITLE_VP)
    with django_capture_on_commit_callbacks(execute=True):
        services.leads_rescore_queue(actor=admin)
    assert Lead.objects.get(pk=theirs.pk).score == 0
