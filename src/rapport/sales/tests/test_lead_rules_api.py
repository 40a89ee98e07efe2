"""/api/v1/lead-scoring-rules and /lead-assignment-rules: the shared contract and what the rules
do through the API.

The rules carry no version (the models are not ``Versioned``), so the suite's ETag/If-Match
checks are replaced by the same checks without a version; writes are admin-only, like
pipelines, so the members' delete rules are replaced by the admin rule.
"""

from __future__ import annotations

import pytest

from rapport.core.actors import Role
from rapport.sales import lead_services
from rapport.sales.lead_models import Lead, LeadAssignmentRule, LeadScoringRule
from rapport.tenancy.models import Team, TeamMember
from rapport.testing.clients import make_api_client
from rapport.testing.suites import (
    ApiContractSuite,
    Resource,
    all_pages,
    assert_problem,
    count_queries,
    ids,
    unique,
)

SCORING = "/lead-scoring-rules"
ASSIGNMENT = "/lead-assignment-rules"


@pytest.fixture(autouse=True)
def _lead_target():
    lead_services.register()


SCORING_RULES = Resource(
    path=SCORING,
    object_type="sales.leadscoringrule",
    payload=lambda client, n: {
        "kind": "field",
        "field": "title",
        "operator": "contains",
        "value": f"VP {n}",
        "points": 10,
    },
    update={"points": 42, "value": "Chief"},
    history=False,
)

ASSIGNMENT_RULES = Resource(
    path=ASSIGNMENT,
    object_type="sales.leadassignmentrule",
    payload=lambda client, n: {
        "name": f"Rule {n}",
        "countries": ["DE"],
        "user": str(client.user.pk),
    },
    update={"name": "Renamed rule", "countries": ["AT", "CH"]},
    history=False,
)


class _UnversionedAdminContract(ApiContractSuite):
    """ApiContractSuite for an admin-only resource without a version."""

    def test_create_answers_201_with_location_and_etag(self, api):
        r = api.post(self.url(), self.resource.payload(api, unique()))
        assert r.status_code == 201, r.content[:500]
        assert r["Content-Type"] == "application/json"
        body = r.json()
        assert r["Location"] == f"/api/v1{self.resource.path}/{body['id']}"
        assert "version" not in body and not r.has_header("ETag")
        assert api.get(r["Location"]).json() == body

    def test_get_answers_200_with_etag(self, api):
        created = self.create(api)
        r = api.get(self.url(created["id"]))
        assert r.status_code == 200
        assert r.json() == created

    def test_patch_bumps_version_and_etag(self, api):
        created = self.create(api)
        r = api.patch(self.url(created["id"]), self.resource.update)
        assert r.status_code == 200, r.content[:500]
        body = r.json()
        for key, value in self.resource.update.items():
            assert body[key] == value, (key, body[key], value)
        assert body["updated_at"] >= created["updated_at"]
        assert self.fetch(api, created["id"]) == body

    @pytest.mark.skip(reason="the rules carry no version: If-Match is not checked")
    def test_patch_with_stale_if_match_is_412_and_changes_nothing(self, api):
        pass

    @pytest.mark.skip(reason="the rules carry no version: If-Match is not checked")
    def test_delete_with_stale_if_match_is_412(self, api):
        pass

    # Admin-only: members and managers read the rules and change nothing.
    def test_member_deletes_own_records_but_not_others(self, api, api_as):
        created = self.create(api)
        audit_before = self.audit_count(api.workspace)
        for role in (Role.MEMBER, Role.MANAGER):
            client = api_as(role)
            assert self.fetch(client, created["id"]) == created
            assert_problem(client.post(self.url(), self.resource.payload(client, unique())), 403)
            assert_problem(client.patch(self.url(created["id"]), self.resource.update), 403)
            assert_problem(client.delete(self.url(created["id"])), 403)
        assert self.fetch(api, created["id"]) == created
        assert self.audit_count(api.workspace) == audit_before

    def test_member_deletes_any_record_when_the_workspace_allows_it(self, api, api_as):
        created = self.create(api)
        api.workspace.members_can_delete_any = True
        api.workspace.save(update_fields=["members_can_delete_any"])
        assert_problem(api_as(Role.MEMBER).delete(self.url(created["id"])), 403)

    def test_managers_delete_anyones_records(self, api, api_as):
        created = self.create(api)
        assert_problem(api_as(Role.MANAGER).delete(self.url(created["id"])), 403)
        assert api_as(Role.ADMIN).delete(self.url(created["id"])).status_code == 204


class TestScoringRulesContract(_UnversionedAdminContract):
    resource = SCORING_RULES


class TestAssignmentRulesContract(_UnversionedAdminContract):
    resource = ASSIGNMENT_RULES


# --- scoring rules --------------------------------------------------------------------------------


def test_a_rule_changes_scores_after_the_rescore(api, django_capture_on_commit_callbacks):
    lead = api.post("/leads", {"first_name": "Ada", "title": "VP Sales"}).json()
    assert lead["score"] == 0
    r = api.post(
        SCORING,
        {"kind": "field", "field": "title", "operator": "contains", "value": "vp", "points": 15},
    )
    assert r.status_code == 201
    api.post(SCORING, {"kind": "interaction", "value": "call", "points": 3})
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(f"{SCORING}/rescore")
    assert r.status_code == 202
    lead = api.get(f"/leads/{lead['id']}").json()
    assert lead["score"] == 15 and lead["score_reasons"] == ["+15 title contains 'vp'"]


def test_rescore_is_admin_only(api, api_as, django_capture_on_commit_callbacks):
    for role in (Role.MEMBER, Role.READ_ONLY):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert_problem(api_as(role).post(f"{SCORING}/rescore"), 403)
        assert callbacks == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"field", "points"}),
        (
            {"kind": "field", "field": "password", "operator": "equals", "value": "x", "points": 1},
            {"field"},
        ),
        (
            {"kind": "field", "field": "title", "operator": "regex", "value": "x", "points": 1},
            {"operator"},
        ),
        (
            {"kind": "field", "field": "title", "operator": "equals", "value": "", "points": 1},
            {"value"},
        ),
        (
            {"kind": "field", "field": "title", "operator": "equals", "value": "x", "points": 1001},
            {"points"},
        ),
        (
            {
                "kind": "field",
                "field": "title",
                "operator": "equals",
                "value": "x",
                "points": "ten",
            },
            {"points"},
        ),
        (
            {
                "kind": "field",
                "field": "title",
                "operator": "equals",
                "value": "x" * 256,
                "points": 1,
            },
            {"value"},
        ),
        ({"kind": "magic", "points": 1}, {"kind"}),
        ({"kind": "decay", "value": "0", "points": 1}, {"value"}),
        ({"kind": "interaction", "value": "telegram", "points": 1}, {"value"}),
        ({"kind": "interaction", "value": "call", "points": 1, "colour": "red"}, {"colour"}),
    ],
)
def test_bad_scoring_rules_are_422_with_their_fields(api, body, fields):
    body_out = assert_problem(api.post(SCORING, body), 422, *fields)
    assert body_out["detail"]
    assert not LeadScoringRule.objects.filter(workspace=api.workspace).exists()


def test_markup_is_stored_as_text_and_patch_is_validated_as_a_whole(api):
    created = api.post(
        SCORING,
        {
            "kind": "field",
            "field": "title",
            "operator": "equals",
            "value": "<script>alert(1)</script>",
            "points": 5,
        },
    ).json()
    assert created["value"] == "<script>alert(1)</script>"
    rule_url = f"{SCORING}/{created['id']}"
    # A field rule turned into a decay rule needs days.
    assert_problem(api.patch(rule_url, {"kind": "decay", "value": "soon"}), 422, "value")
    r = api.patch(rule_url, {"kind": "decay", "value": "14", "points": 2})
    assert r.status_code == 200
    assert r.json() | {} == created | {
        "kind": "decay",
        "field": "",
        "operator": "",
        "value": "14",
        "points": 2,
        "updated_at": r.json()["updated_at"],
    }
    assert_problem(api.patch(rule_url, {"points": None}), 422, "points")
    assert_problem(api.get(f"{SCORING}/not-a-uuid"), 422)


def test_scoring_list_pages_in_order_and_filters_by_kind(api):
    made = [
        api.post(SCORING, {"kind": "interaction", "value": "call", "points": i + 1}).json()
        for i in range(3)
    ]
    decay = api.post(SCORING, {"kind": "decay", "value": "30", "points": 1}).json()
    first = api.get(SCORING, {"limit": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    assert ids(all_pages(api, SCORING, {"limit": 2})) == ids([*made, decay])
    assert ids(all_pages(api, SCORING, {"kind": "decay"})) == [decay["id"]]
    assert_problem(api.get(SCORING, {"kind": "other"}), 422)
    assert_problem(api.get(SCORING, {"cursor": "garbage"}), 422)


# --- assignment rules -----------------------------------------------------------------------------


def test_an_assignment_rule_routes_a_new_lead(api, api_as):
    reps = [api_as(Role.MEMBER) for _ in range(2)]
    team = Team.objects.create(workspace=api.workspace, name="DACH")
    for rep in reps:
        TeamMember.objects.create(workspace=api.workspace, team=team, user=rep.user)
    r = api.post(ASSIGNMENT, {"name": "DACH", "countries": ["de", "ch"], "team": str(team.pk)})
    assert r.status_code == 201, r.content
    assert r.json()["countries"] == ["DE", "CH"] and r.json()["user"] is None
    owners = [
        api.post("/leads", {"first_name": "Lea", "country": "CH"}).json()["owner"] for _ in range(2)
    ]
    assert sorted(owners) == sorted(str(rep.user.pk) for rep in reps)
    other = api.post("/leads", {"first_name": "Tom", "country": "FR"}).json()
    assert other["owner"] == str(api.user.pk)  # no rule matched: the creator's


def test_patch_position_reorders_and_the_list_follows(api):
    made = [api.post(ASSIGNMENT, ASSIGNMENT_RULES.payload(api, i)).json() for i in range(3)]
    r = api.patch(f"{ASSIGNMENT}/{made[2]['id']}", {"position": 0})
    assert r.status_code == 200 and r.json()["position"] == 0
    listed = all_pages(api, ASSIGNMENT, {"limit": 2})
    assert ids(listed) == [made[2]["id"], made[0]["id"], made[1]["id"]]
    assert [row["position"] for row in listed] == [0, 1, 2]
    api.patch(f"{ASSIGNMENT}/{made[0]['id']}", {"active": False})
    assert made[0]["id"] not in ids(all_pages(api, ASSIGNMENT, {"active": "true"}))
    assert api.delete(f"{ASSIGNMENT}/{made[2]['id']}").status_code == 204
    assert [row["position"] for row in all_pages(api, ASSIGNMENT)] == [0, 1]


def test_other_workspaces_team_and_user_are_refused(api, other_api):
    their_team = Team.objects.create(workspace=other_api.workspace, name="Theirs")
    assert_problem(api.post(ASSIGNMENT, {"team": str(their_team.pk)}), 422, "team")
    assert_problem(api.post(ASSIGNMENT, {"user": str(other_api.user.pk)}), 422, "user")
    assert_problem(api.post(ASSIGNMENT, {"user": "me"}), 422, "user")
    assert_problem(api.post(ASSIGNMENT, {}), 422, "user")
    ours = api.post(ASSIGNMENT, {"user": str(api.user.pk)}).json()
    assert_problem(
        api.patch(f"{ASSIGNMENT}/{ours['id']}", {"team": str(their_team.pk)}), 422, "team"
    )
    assert_problem(
        api.post(ASSIGNMENT, {"user": str(api.user.pk), "countries": ["XX"]}), 422, "countries.0"
    )
    assert_problem(
        api.post(
            ASSIGNMENT,
            {"user": str(api.user.pk), "field": "ssn", "operator": "equals", "value": "1"},
        ),
        422,
        "field",
    )
    assert LeadAssignmentRule.objects.filter(workspace=api.workspace).count() == 1
    assert LeadAssignmentRule.objects.filter(workspace=other_api.workspace).count() == 0


def test_read_only_reads_both_lists(api, api_as):
    api.post(SCORING, SCORING_RULES.payload(api, 1))
    api.post(ASSIGNMENT, ASSIGNMENT_RULES.payload(api, 1))
    reader = api_as(Role.READ_ONLY)
    assert len(all_pages(reader, SCORING)) == 1
    assert len(all_pages(reader, ASSIGNMENT)) == 1


def test_assignment_list_query_count_does_not_grow_with_teams(api):
    api.get(ASSIGNMENT)

    def add(n):
        team = Team.objects.create(workspace=api.workspace, name=f"Team {n}")
        api.post(ASSIGNMENT, {"team": str(team.pk)})
        api.post(ASSIGNMENT, ASSIGNMENT_RULES.payload(api, n))

    add(0)
    few, _, _ = count_queries(lambda: api.get(ASSIGNMENT, {"limit": 100}))
    for n in range(1, 8):
        add(n)
    many, r, sql = count_queries(lambda: api.get(ASSIGNMENT, {"limit": 100}))
    assert len(r.json()["results"]) == 16
    assert many == few, "\n".join(sql)


def test_no_lead_is_touched_by_another_workspaces_rules(api, other_api):
    other_api.post(ASSIGNMENT, {"user": str(other_api.user.pk)})
    lead = api.post("/leads", {"first_name": "Ada"}).json()
    assert lead["owner"] == str(api.user.pk)
    assert Lead.objects.get(pk=lead["id"]).owner_id == api.user.pk


def test_unknown_workspace_reader_gets_404(api):
    created = api.post(ASSIGNMENT, ASSIGNMENT_RULES.payload(api, 1)).json()
    stranger = make_api_client(Role.READ_ONLY)
    assert_problem(stranger.get(f"{ASSIGNMENT}/{created['id']}"), 404)
    assert_problem(stranger.post(f"{SCORING}/rescore"), 403)
