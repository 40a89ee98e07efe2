"""Settings → Teams, and the workspace's record access setting."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.core.actors import Role
from rapport.tenancy import services
from rapport.tenancy.models import Team, Workspace
from rapport.testing.clients import make_browser
from rapport.testing.factories import MembershipFactory, actor_for

pytestmark = pytest.mark.django_db

TEAMS = "/settings/teams/"


def test_record_access_is_set_on_the_workspace_page(browser):
    ws = browser.membership.workspace
    html = browser.get("/settings/").content.decode()
    assert 'name="record_access"' in html
    assert "Managers, admins and owners always see every deal." in html
    r = browser.post(
        "/settings/", {"name": ws.name, "default_region": "US", "record_access": "team"}
    )
    assert r.status_code == 302
    ws.refresh_from_db()
    assert ws.record_access == "team"
    # Left out: unchanged (older forms and scripts do not reset it).
    browser.post("/settings/", {"name": ws.name, "default_region": "US"})
    ws.refresh_from_db()
    assert ws.record_access == "team"
    r = browser.post("/settings/", {"name": ws.name, "default_region": "US", "record_access": "x"})
    assert r.status_code == 422
    ws.refresh_from_db()
    assert ws.record_access == "team"


def test_a_member_cannot_change_record_access(browser):
    ws = browser.membership.workspace
    client, _ = make_browser(Role.MEMBER, workspace=ws)
    html = client.get("/settings/").content.decode()
    assert 'name="record_access"' in html and "disabled" in html
    r = client.post("/settings/", {"name": ws.name, "default_region": "US", "record_access": "own"})
    assert r.status_code == 403
    assert Workspace.objects.get(pk=ws.pk).record_access == "all"


def test_create_a_team_with_members_rename_and_change_them(browser):
    ws = browser.membership.workspace
    ann = MembershipFactory(workspace=ws, role=Role.MEMBER.value, user__full_name="Ann Seller")
    bob = MembershipFactory(workspace=ws, role=Role.MEMBER.value, user__full_name="Bob Closer")
    html = browser.get(TEAMS).content.decode()
    assert "No teams yet" in html and "Ann Seller" in html  # a checkbox per member

    r = browser.post(TEAMS, {"name": "EMEA", "members": [str(ann.user_id), str(bob.user_id)]})
    assert r.status_code == 302
    team = Team.objects.get(workspace=ws, name="EMEA")
    assert set(team.members.values_list("pk", flat=True)) == {ann.user_id, bob.user_id}
    html = browser.get(TEAMS).content.decode()
    assert "Ann Seller, Bob Closer" in html

    r = browser.post(f"{TEAMS}{team.pk}/", {"name": "Europe", "members": [str(bob.user_id)]})
    assert r.status_code == 302
    team.refresh_from_db()
    assert team.name == "Europe"
    assert list(team.members.values_list("pk", flat=True)) == [bob.user_id]

    # Duplicate names and strangers are refused with a clear error.
    services.team_create(actor=actor_for(browser.membership), name="US")
    r = browser.post(f"{TEAMS}{team.pk}/", {"name": "us"})
    assert r.status_code == 422 and "There is already a team called" in r.content.decode()
    stranger = MembershipFactory()
    r = browser.post(TEAMS, {"name": "APAC", "members": [str(stranger.user_id)]})
    assert r.status_code == 422 and "Select a valid choice" in r.content.decode()
    assert not Team.objects.filter(name="APAC").exists()

    assert browser.post(f"{TEAMS}{team.pk}/delete/").status_code == 302
    assert not Team.objects.filter(pk=team.pk).exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.MEMBER, Role.READ_ONLY])
def test_non_admins_see_teams_but_cannot_change_them(browser, role):
    ws = browser.membership.workspace
    team = services.team_create(actor=actor_for(browser.membership), name="EMEA")
    client, me = make_browser(role, workspace=ws)
    html = client.get(TEAMS).content.decode()
    assert "EMEA" in html and "only owners and admins can change teams" in html
    assert "Create team" not in html and "/delete/" not in html
    assert client.post(TEAMS, {"name": "Mine", "members": [str(me.user_id)]}).status_code == 403
    assert client.post(TEAMS, {"name": ""}).status_code == 403
    assert client.post(f"{TEAMS}{team.pk}/", {"name": "Mine"}).status_code == 403
    assert client.post(f"{TEAMS}{team.pk}/delete/").status_code == 403
    assert list(Team.objects.filter(workspace=ws).values_list("name", flat=True)) == ["EMEA"]


def test_another_workspaces_team_is_404(browser):
    other = MembershipFactory()
    team = services.team_create(actor=actor_for(other), name="Theirs")
    assert browser.post(f"{TEAMS}{team.pk}/", {"name": "Mine"}).status_code == 404
    assert browser.post(f"{TEAMS}{team.pk}/delete/").status_code == 404
    assert Team.objects.get(pk=team.pk).name == "Theirs"


def test_teams_page_query_count_is_constant(browser):
    ws = browser.membership.workspace
    actor = actor_for(browser.membership)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert browser.get(TEAMS).status_code == 200
        return len(ctx.captured_queries)

    services.team_create(actor=actor, name="T0")
    count()
    n = count()
    for i in range(1, 5):
        members = [MembershipFactory(workspace=ws).user_id for _ in range(2)]
        services.team_create(actor=actor, name=f"T{i}", members=members)
    assert count() == n
