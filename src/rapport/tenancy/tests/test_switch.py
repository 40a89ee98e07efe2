"""Switching the workspace a browser session acts in."""

from __future__ import annotations

import uuid

import pytest

from rapport.core.actors import Role
from rapport.tenancy.selectors import SESSION_KEY
from rapport.testing.factories import MembershipFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_switch_to_a_workspace_of_mine(browser):
    user = browser.membership.user
    second = MembershipFactory(user=user, role=Role.READ_ONLY.value)
    r = browser.post("/workspaces/switch/", {"workspace": str(second.workspace_id)})
    assert r.status_code == 302
    assert r["Location"] == "/"
    assert browser.session[SESSION_KEY] == str(second.workspace_id)
    # The settings page now speaks for the second workspace, with that role.
    html = browser.get("/settings/").content.decode()
    assert second.workspace.name in html
    assert "only owners and admins can change these settings" in html
    # And back.
    browser.post("/workspaces/switch/", {"workspace": str(browser.membership.workspace_id)})
    assert browser.session[SESSION_KEY] == str(browser.membership.workspace_id)


def test_switch_to_someone_elses_workspace_is_404(browser):
    stranger = WorkspaceFactory()
    r = browser.post("/workspaces/switch/", {"workspace": str(stranger.pk)})
    assert r.status_code == 404
    assert browser.session.get(SESSION_KEY) != str(stranger.pk)


@pytest.mark.parametrize("value", ["", "not-a-uuid", "3f1c9a6e-0d2b-4c55-9f7e-2a8b6c4d1e00"])
def test_switch_to_nonsense_is_404(browser, value):
    assert browser.post("/workspaces/switch/", {"workspace": value}).status_code == 404


def test_switch_needs_post(browser):
    assert browser.get("/workspaces/switch/").status_code == 405


def test_switch_anonymous_goes_to_login(client):
    r = client.post("/workspaces/switch/", {"workspace": str(uuid.uuid4())})
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")


def test_the_switcher_lists_my_workspaces_only(browser):
    mine = MembershipFactory(user=browser.membership.user)
    theirs = WorkspaceFactory(name="Not Mine Inc")
    html = browser.get("/settings/").content.decode()
    assert mine.workspace.name in html
    assert browser.membership.workspace.name in html
    assert theirs.name not in html
