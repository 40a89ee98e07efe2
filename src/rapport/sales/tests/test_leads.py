"""Leads through their services: validation, audit, access, scoring, assignment, conversion."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from rapport.activities import services as activity_services
from rapport.activities.models import ActivityTarget, TaskTarget
from rapport.audit.models import AuditEntry
from rapport.contacts.models import Company, Person
from rapport.core.actors import Role
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed
from rapport.sales import lead_services as services
from rapport.sales.lead_models import Lead, LeadAssignmentRule
from rapport.sales.lead_scoring import lead_score, rescore_workspace
from rapport.sales.lead_tasks import rescore_leads
from rapport.sales.models import Deal
from rapport.tenancy.models import Team, TeamMember
from rapport.testing.factories import (
    CompanyFactory,
    MembershipFactory,
    PersonFactory,
    PipelineFactory,
    actor_for,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _lead_target():
    services.register()  # (the lead wires this into SalesConfig.ready)


@pytest.fixture
def admin():
    return actor_for(MembershipFactory(role=Role.ADMIN.value))


def member_of(actor, role=Role.MEMBER):
    return actor_for(MembershipFactory(workspace=actor.workspace, role=role.value))


def make(actor, **data):
    data.setdefault("first_name", "Ada")
    data.setdefault("email", f"ada{Lead.objects.count()}@example.org")
    return services.lead_create(actor=actor, data=data)


# --- create / update / delete -------------------------------------------------------------------


def test_create_cleans_fields_and_records_the_audit(admin):
    lead = services.lead_create(
        actor=admin,
        data={
            "first_name": " Ada ",
            "last_name": "Lovelace",
            "email": "Ada@Example.ORG",
            "phone": "+44 20 7946 0958",
            "company_name": "Analytical Engines",
            "country": "gb",
            "source": "Event",
            "tags": ["hot"],
        },
    )
    assert lead.first_name == "Ada"
    assert lead.email == "ada@example.org"
    assert lead.phone == "+442079460958"
    assert lead.country == "GB"
    assert lead.status == "new"
    assert lead.owner_id == admin.user_id  # the creator's unless routed
    assert [t.name for t in lead.tags.all()] == ["hot"]
    entry = AuditEntry.objects.get(object_id=str(lead.pk))
    assert entry.action == "lead.created"


def test_bad_input_names_every_field(admin):
    with pytest.raises(ValidationFailed) as exc:
        services.lead_create(
            actor=admin,
            data={"email": "not-an-email", "phone": "12", "country": "XX", "status": "hot"},
        )
    assert {e.field for e in exc.value.errors} >= {"email", "phone", "country", "status"}
    with pytest.raises(ValidationFailed):
        services.lead_create(actor=admin, data={})  # nothing to call the lead by
    with pytest.raises(ValidationFailed) as exc:
        services.lead_create(actor=admin, data={"email": "a@b.org", "unknown": 1})
    assert exc.value.errors[0].field == "unknown"


def test_disqualifying_needs_a_reason(admin):
    lead = make(admin)
    with pytest.raises(ValidationFailed) as exc:
        services.lead_update(actor=admin, lead_id=lead.pk, data={"status": "disqualified"})
    assert exc.value.errors[0].field == "disqualified_reason"
    lead = services.lead_update(
        actor=admin,
        lead_id=lead.pk,
        data={"status": "disqualified", "disqualified_reason": "Student"},
    )
    assert lead.status == "disqualified" and lead.version == 2
    lead = services.lead_update(actor=admin, lead_id=lead.pk, data={"status": "working"})
    assert lead.disqualified_reason == ""


def test_update_without_change_writes_nothing(admin):
    lead = make(admin, first_name="Grace")
    again = services.lead_update(actor=admin, lead_id=lead.pk, data={"first_name": "Grace"})
    assert again.version == 1
    assert AuditEntry.objects.filter(object_id=str(lead.pk)).count() == 1


def test_consent_is_recorded_with_its_time(admin):
    lead = make(admin, consent=True, consent_text="You may email me.")
    assert lead.consent and lead.consent_at is not None
    assert lead.consent_text == "You may email me."


def test_read_only_cannot_write_and_another_workspace_sees_nothing(admin):
    lead = make(admin)
    reader = member_of(admin, Role.READ_ONLY)
    with pytest.raises(PermissionDenied):
        make(reader)
    with pytest.raises(PermissionDenied):
        services.lead_update(actor=reader, lead_id=lead.pk, data={"first_name": "X"})
    stranger = actor_for(MembershipFactory(role=Role.OWNER.value))
    with pytest.raises(NotFound):
        services.lead_update(actor=stranger, lead_id=lead.pk, data={"first_name": "X"})
    with pytest.raises(NotFound):
        services.lead_delete(actor=stranger, lead_id=lead.pk)
    assert not Lead.objects.visible_to(stranger).filter(pk=lead.pk).exists()


def test_record_access_own_hides_colleagues_leads(admin):
    ws = admin.workspace
    ws.record_access = "own"
    ws.save()
    member = member_of(admin)
    mine = make(member)
    theirs = make(admin)
    visible = set(Lead.objects.visible_to(member).values_list("pk", flat=True))
    assert mine.pk in visible and theirs.pk not in visible


def test_delete_goes_to_the_trash(admin):
    lead = make(admin)
    services.lead_delete(actor=admin, lead_id=lead.pk)
    assert not Lead.objects.visible_to(admin).filter(pk=lead.pk).exists()
    assert Lead.objects.get(pk=lead.pk).deleted_at is not None


# --- scoring ------------------------------------------------------------------------------------


def test_score_from_fields_interactions_and_decay(admin):
    services.scoring_rule_create(
        actor=admin,
        data={
            "kind": "field",
            "field": "title",
            "operator": "contains",
            "value": "VP",
            "points": 10,
        },
    )
    services.scoring_rule_create(
        actor=admin, data={"kind": "field", "field": "phone", "operator": "not_empty", "points": 5}
    )
    services.scoring_rule_create(
        actor=admin, data={"kind": "interaction", "value": "call", "points": 3}
    )
    services.scoring_rule_create(actor=admin, data={"kind": "decay", "value": "30", "points": 5})
    lead = make(admin, title="VP Sales")
    assert lead.score == 10
    assert lead.score_reasons == ["+10 title contains 'VP'"]

    for _ in range(2):
        activity_services.activity_create(
            actor=admin, data={"type": "call", "targets": [{"type": "lead", "id": str(lead.pk)}]}
        )
    lead.refresh_from_db()
    assert lead.last_activity_at is not None
    score = lead_score(lead)
    assert score.score == 16 and "+6 2 × call" in score.reasons

    later = lead.last_activity_at + dt.timedelta(days=65)
    score = lead_score(lead, now=later)
    assert score.score == 6
    assert "-10 inactive 60 days" in score.reasons


def test_daily_rescore_applies_decay(admin):
    services.scoring_rule_create(actor=admin, data={"kind": "decay", "value": "7", "points": 2})
    lead = make(admin)
    assert lead.score == 0
    Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - dt.timedelta(days=15))
    assert rescore_leads() >= 1
    lead.refresh_from_db()
    assert lead.score == -4 and lead.score_reasons == ["-4 inactive 14 days"]
    assert rescore_workspace(admin.workspace.pk) == 0  # nothing changed since


def test_scoring_rules_are_validated_and_admin_only(admin):
    with pytest.raises(ValidationFailed):
        services.scoring_rule_create(
            actor=admin,
            data={
                "kind": "field",
                "field": "password",
                "operator": "equals",
                "value": "x",
                "points": 1,
            },
        )
    with pytest.raises(ValidationFailed):
        services.scoring_rule_create(actor=admin, data={"kind": "decay", "value": "0", "points": 1})
    with pytest.raises(PermissionDenied):
        services.scoring_rule_create(
            actor=member_of(admin), data={"kind": "interaction", "value": "call", "points": 1}
        )


# --- assignment ---------------------------------------------------------------------------------


def test_assignment_by_country_then_round_robin_in_a_team(admin):
    ws = admin.workspace
    de_rep = member_of(admin)
    team = Team.objects.create(workspace=ws, name="Inside sales")
    reps = [member_of(admin) for _ in range(2)]
    for rep in reps:
        TeamMember.objects.create(workspace=ws, team=team, user=rep.user)
    LeadAssignmentRule.objects.create(
        workspace=ws, position=0, countries=["DE", "AT"], user=de_rep.user
    )
    LeadAssignmentRule.objects.create(workspace=ws, position=1, team=team)
    assert make(admin, country="de").owner_id == de_rep.user_id
    owners = [make(admin, country="FR").owner_id for _ in range(4)]
    expected = sorted(r.user_id for r in reps)
    assert owners == expected + expected
    # An owner given explicitly is kept.
    assert make(admin, country="DE", owner=str(admin.user_id)).owner_id == admin.user_id


def test_assignment_by_field_value(admin):
    ws = admin.workspace
    big = member_of(admin)
    LeadAssignmentRule.objects.create(
        workspace=ws, field="source", operator="equals", value="Partner", user=big.user
    )
    assert make(admin, source="partner").owner_id == big.user_id
    assert make(admin, source="Web").owner_id == admin.user_id


# --- conversion ---------------------------------------------------------------------------------


def qualified(actor, **data):
    data.setdefault("status", "qualified")
    return make(actor, **data)


def test_only_qualified_leads_convert(admin):
    lead = make(admin)
    with pytest.raises(ValidationFailed) as exc:
        services.lead_convert(actor=admin, lead_id=lead.pk)
    assert "qualified" in exc.value.detail
    assert not Person.objects.filter(workspace=admin.workspace).exists()


def test_convert_creates_person_company_and_deal_and_moves_interactions(admin):
    PipelineFactory(actor=admin)
    lead = qualified(
        admin,
        first_name="Ada",
        last_name="L",
        email="ada@engines.example",
        company_name="Engines",
        title="CTO",
    )
    activity = activity_services.activity_create(
        actor=admin,
        data={"type": "note", "body": "Met", "targets": [{"type": "lead", "id": str(lead.pk)}]},
    )
    task = activity_services.task_create(
        actor=admin, data={"title": "Call back", "targets": [{"type": "lead", "id": str(lead.pk)}]}
    )
    done = services.lead_convert(actor=admin, lead_id=lead.pk, deal={"name": "Engines deal"})
    assert done.person_created and done.company_created
    assert done.person.email == "ada@engines.example"
    assert done.person.company_id == done.company.pk
    assert done.company.name == "Engines"
    assert done.deal.company_id == done.company.pk
    assert list(done.deal.deal_people.values_list("person_id", flat=True)) == [done.person.pk]
    assert ActivityTarget.objects.filter(
        activity=activity, target_type="person", target_id=done.person.pk
    ).exists()
    assert not ActivityTarget.objects.filter(target_type="lead", target_id=lead.pk).exists()
    assert TaskTarget.objects.filter(
        task=task, target_type="person", target_id=done.person.pk
    ).exists()
    lead.refresh_from_db()
    assert lead.converted_at is not None and lead.converted_person_id == done.person.pk
    with pytest.raises(ValidationFailed):
        services.lead_convert(actor=admin, lead_id=lead.pk)  # once only
    assert AuditEntry.objects.filter(object_id=str(lead.pk), action="lead.converted").exists()


def test_convert_matches_existing_person_and_company(admin):
    company = CompanyFactory(workspace=admin.workspace, name="Acme", domain="acme.example")
    person = PersonFactory(workspace=admin.workspace, email="bob@acme.example")
    lead = qualified(admin, email="BOB@acme.example", company_name="Something else")
    done = services.lead_convert(actor=admin, lead_id=lead.pk)
    assert done.person.pk == person.pk and not done.person_created
    assert done.company.pk == company.pk and not done.company_created
    assert done.deal is None
    assert Person.objects.filter(workspace=admin.workspace).count() == 1


def test_convert_matches_company_by_name_case_insensitively(admin):
    company = CompanyFactory(workspace=admin.workspace, name="Globex Corp", domain="")
    lead = qualified(admin, email="x@gmail.com", company_name="GLOBEX corp")
    done = services.lead_convert(actor=admin, lead_id=lead.pk)
    assert done.company.pk == company.pk
    assert Company.objects.filter(workspace=admin.workspace).count() == 1


def test_a_failed_conversion_leaves_nothing_half_made(admin):
    PipelineFactory(actor=admin)
    lead = qualified(admin, email="new@newco.example", company_name="NewCo")
    activity_services.activity_create(
        actor=admin,
        data={"type": "note", "body": "x", "targets": [{"type": "lead", "id": str(lead.pk)}]},
    )
    with pytest.raises(ValidationFailed) as exc:
        services.lead_convert(
            actor=admin,
            lead_id=lead.pk,
            deal={"name": "D", "amount": {"amount": "abc", "currency": "EUR"}},
        )
    assert any(e.field.startswith("deal.") for e in exc.value.errors)
    assert not Person.objects.filter(workspace=admin.workspace).exists()
    assert not Company.objects.filter(workspace=admin.workspace).exists()
    assert not Deal.objects.filter(workspace=admin.workspace).exists()
    lead.refresh_from_db()
    assert lead.converted_at is None
    assert ActivityTarget.objects.filter(target_type="lead", target_id=lead.pk).exists()


def test_assignment_rules_are_validated_and_admin_only(admin):
    team = Team.objects.create(workspace=admin.workspace, name="Field")
    rule = services.assignment_rule_create(
        actor=admin, data={"name": "EU", "countries": ["de", "fr"], "team": str(team.pk)}
    )
    assert rule.countries == ["DE", "FR"] and rule.position == 0
    with pytest.raises(ValidationFailed) as exc:
        services.assignment_rule_create(actor=admin, data={"countries": ["XX"]})
    assert exc.value.errors[0].field == "countries.0"
    with pytest.raises(ValidationFailed):
        services.assignment_rule_create(actor=admin, data={"name": "nobody"})
    other_team = Team.objects.create(workspace=MembershipFactory().workspace, name="Elsewhere")
    with pytest.raises(ValidationFailed) as exc:
        services.assignment_rule_create(actor=admin, data={"team": str(other_team.pk)})
    assert exc.value.errors[0].field == "team"
    stranger = MembershipFactory()
    with pytest.raises(ValidationFailed):
        services.assignment_rule_create(actor=admin, data={"user": str(stranger.user_id)})
    with pytest.raises(PermissionDenied):
        services.assignment_rule_create(actor=member_of(admin), data={"user": str(admin.user_id)})


def test_lead_tables_have_row_level_security():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    tables = ["sales_lead", "sales_leadassignmentrule", "sales_leadform", "sales_leadscoringrule"]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_policy p ON p.polrelid = c.oid "
            "WHERE c.relrowsecurity AND p.polname = 'rapport_workspace_wall' "
            "AND c.relname = ANY(%s)",
            [tables],
        )
        assert sorted(r[0] for r in cur.fetchall()) == sorted(tables)
