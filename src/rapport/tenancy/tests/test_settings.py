"""The settings page: workspace settings, members and invitations, by role."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from rapport.audit.models import AuditEntry
from rapport.core.actors import Role
from rapport.tenancy.models import Invitation, Membership, Workspace
from rapport.testing.clients import make_browser
from rapport.testing.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _member(workspace, role: Role):
    client, membership = make_browser(role, workspace=workspace)
    return client, membership


def test_owner_sees_editable_settings_members_and_invite_form(browser):
    ws = browser.membership.workspace
    other = MembershipFactory(workspace=ws, role=Role.MEMBER.value)
    r = browser.get("/settings/")
    assert r.status_code == 200
    html = r.content.decode()
    assert f'value="{ws.name}"' in html
    assert "Save settings" in html
    assert other.user.email in html
    assert f'action="/settings/members/{other.pk}/role/"' in html
    assert f'action="/settings/members/{other.pk}/remove/"' in html
    assert "data-confirm=" in html
    assert 'action="/settings/invitations/"' in html


def test_owner_updates_the_workspace(browser):
    r = browser.post(
        "/settings/",
        {"name": "Acme Sales", "members_can_delete_any": "on", "default_region": "DE"},
    )
    assert r.status_code == 302
    ws = Workspace.objects.get(pk=browser.membership.workspace_id)
    assert (ws.name, ws.members_can_delete_any, ws.default_region) == ("Acme Sales", True, "DE")
    assert AuditEntry.objects.filter(action="workspace.updated", workspace=ws).exists()
    # Unticking the box turns it off.
    browser.post("/settings/", {"name": "Acme Sales", "default_region": "DE"})
    ws.refresh_from_db()
    assert ws.members_can_delete_any is False


def test_workspace_update_errors_are_shown_and_nothing_changes(browser):
    ws = browser.membership.workspace
    r = browser.post("/settings/", {"name": "  ", "default_region": "ZZ"})
    assert r.status_code == 422
    html = r.content.decode()
    assert "This field is required." in html
    assert "Select a valid choice" in html
    ws.refresh_from_db()
    assert ws.name != ""


@pytest.mark.parametrize("role", [Role.MANAGER, Role.MEMBER, Role.READ_ONLY])
def test_non_admins_see_read_only_settings_and_cannot_change_anything(browser, role):
    ws = browser.membership.workspace
    client, me = _member(ws, role)
    r = client.get("/settings/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "only owners and admins can change these settings" in html
    assert "Save settings" not in html
    assert "/role/" not in html and "/remove/" not in html
    assert 'action="/settings/invitations/"' not in html
    assert browser.membership.user.email in html  # members are listed for everyone

    r = client.post("/settings/", {"name": "Hijacked", "default_region": "US"})
    assert r.status_code == 403
    assert "Only workspace owners and admins can do this." in r.content.decode()
    ws.refresh_from_db()
    assert ws.name != "Hijacked"

    r = client.post(f"/settings/members/{me.pk}/role/", {"role": "owner"})
    assert r.status_code == 403
    me.refresh_from_db()
    assert me.role == role.value

    r = client.post(f"/settings/members/{browser.membership.pk}/remove/")
    assert r.status_code == 403
    assert Membership.objects.filter(pk=browser.membership.pk).exists()

    r = client.post("/settings/invitations/", {"email": "new@example.com", "role": "member"})
    assert r.status_code == 403
    assert not Invitation.objects.exists()
    assert mail.outbox == []

    browser.post("/settings/invitations/", {"email": "pending@example.com", "role": "member"})
    inv = Invitation.objects.get()
    r = client.post(f"/settings/invitations/{inv.pk}/revoke/")
    assert r.status_code == 403
    inv.refresh_from_db()
    assert inv.revoked_at is None


def test_admin_changes_a_role_and_removes_a_member():
    client, admin = make_browser(Role.ADMIN)
    target = MembershipFactory(workspace=admin.workspace, role=Role.MEMBER.value)
    r = client.post(f"/settings/members/{target.pk}/role/", {"role": "manager"})
    assert r.status_code == 302
    target.refresh_from_db()
    assert target.role == "manager"
    assert "is now Manager" in client.get("/settings/").content.decode()
    assert AuditEntry.objects.filter(
        action="member.role_changed", object_id=str(target.pk)
    ).exists()

    r = client.post(f"/settings/members/{target.pk}/remove/")
    assert r.status_code == 302
    assert not Membership.objects.filter(pk=target.pk).exists()


def test_admin_cannot_touch_owners_and_sees_no_controls_for_them():
    client, admin = make_browser(Role.ADMIN)
    owner = MembershipFactory(workspace=admin.workspace, role=Role.OWNER.value)
    html = client.get("/settings/").content.decode()
    assert f"/settings/members/{owner.pk}/role/" not in html
    assert '<option value="owner"' not in html  # an admin cannot grant owner
    r = client.post(f"/settings/members/{owner.pk}/role/", {"role": "member"})
    assert r.status_code == 403
    assert "Only an owner" in r.content.decode()
    owner.refresh_from_db()
    assert owner.role == "owner"
    assert client.post(f"/settings/members/{owner.pk}/remove/").status_code == 403


def test_the_last_owner_cannot_be_demoted(browser):
    m = browser.membership
    r = browser.post(f"/settings/members/{m.pk}/role/", {"role": "member"}, follow=True)
    assert "A workspace needs at least one owner." in r.content.decode()
    m.refresh_from_db()
    assert m.role == "owner"


def test_members_of_another_workspace_are_404(browser):
    stranger = MembershipFactory(role=Role.MEMBER.value)
    assert (
        browser.post(f"/settings/members/{stranger.pk}/role/", {"role": "admin"}).status_code == 404
    )
    assert browser.post(f"/settings/members/{stranger.pk}/remove/").status_code == 404
    stranger.refresh_from_db()
    assert stranger.role == "member"


def test_admin_invites_and_revokes(django_capture_on_commit_callbacks):
    client, admin = make_browser(Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            "/settings/invitations/", {"email": "New.Person@Example.com", "role": "member"}
        )
    assert r.status_code == 302
    inv = Invitation.objects.get(workspace=admin.workspace)
    assert inv.email == "new.person@example.com"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.com"]
    link = re.search(r"http://testserver/invitations/[\w-]+/", mail.outbox[0].body)
    assert link, mail.outbox[0].body

    html = client.get("/settings/").content.decode()
    assert "new.person@example.com" in html
    assert f"/settings/invitations/{inv.pk}/revoke/" in html

    r = client.post(f"/settings/invitations/{inv.pk}/revoke/")
    assert r.status_code == 302
    inv.refresh_from_db()
    assert inv.revoked_at is not None
    assert "new.person@example.com" not in client.get("/settings/").content.decode()


def test_invite_errors_are_shown_next_to_the_form():
    client, admin = make_browser(Role.ADMIN)
    MembershipFactory(
        workspace=admin.workspace, role=Role.MEMBER.value, user__email="taken@example.com"
    )
    r = client.post("/settings/invitations/", {"email": "Taken@example.com", "role": "member"})
    assert r.status_code == 422
    assert "is already a member of this workspace" in r.content.decode()
    r = client.post("/settings/invitations/", {"email": "not-an-email", "role": "member"})
    assert r.status_code == 422
    assert "Enter a valid email address." in r.content.decode()
    # An admin cannot invite an owner: the choice is not offered and is refused.
    r = client.post("/settings/invitations/", {"email": "boss@example.com", "role": "owner"})
    assert r.status_code == 422
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_names_are_escaped_on_the_settings_page(browser):
    MembershipFactory(
        workspace=browser.membership.workspace, user__full_name="<img src=x onerror=alert(1)>"
    )
    html = browser.get("/settings/").content.decode()
    assert "<img src=x onerror=alert(1)>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_user_in_no_workspace_is_told_so():
    client = Client()
    client.force_login(UserFactory())
    for url in ("/settings/", "/settings/tokens/", "/settings/audit/", "/search/?q=x"):
        r = client.get(url)
        assert r.status_code == 403, url
        assert "workspace" in r.content.decode().lower()
