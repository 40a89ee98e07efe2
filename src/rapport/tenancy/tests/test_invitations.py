"""Accepting an invitation: new people create their account, existing ones sign in first."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.core import mail
from django.test import Client
from django.utils import timezone

from rapport.core.actors import Role
from rapport.tenancy.models import Invitation, Membership
from rapport.tenancy.selectors import SESSION_KEY
from rapport.testing.clients import make_browser
from rapport.testing.factories import PASSWORD, MembershipFactory, UserFactory
from rapport.users.models import User

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "lemon-harbour-quartz-71"


@pytest.fixture
def invite(browser, django_capture_on_commit_callbacks):
    """Invites an address into the owner's workspace; returns (accept path, invitation)."""

    def make(email: str, role: str = "member"):
        with django_capture_on_commit_callbacks(execute=True):
            r = browser.post("/settings/invitations/", {"email": email, "role": role})
        assert r.status_code == 302, r.content.decode()
        match = re.search(r"http://testserver(/invitations/[\w-]+/)", mail.outbox[-1].body)
        assert match, mail.outbox[-1].body
        return match.group(1), Invitation.objects.get(email=email.lower(), accepted_at=None)

    return make


def test_new_person_creates_an_account_and_lands_in_the_workspace(browser, invite):
    path, inv = invite("newbie@example.com", "manager")
    client = Client()
    r = client.get(path)
    assert r.status_code == 200
    html = r.content.decode()
    assert f"Join {browser.membership.workspace.name}" in html
    assert "newbie@example.com" in html
    assert "as <strong>Manager</strong>" in html
    assert 'name="password1"' in html

    r = client.post(
        path, {"full_name": "New Bie", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert r.status_code == 302
    assert r["Location"] == "/"
    user = User.objects.get(email="newbie@example.com")
    assert user.full_name == "New Bie"
    assert user.check_password(NEW_PASSWORD)
    assert client.session[AUTH_SESSION_KEY] == str(user.pk)
    assert client.session[SESSION_KEY] == str(inv.workspace_id)
    m = Membership.objects.get(user=user, workspace=inv.workspace)
    assert m.role == "manager"
    inv.refresh_from_db()
    assert inv.accepted_at is not None
    # The link is spent.
    r = Client().get(path)
    assert r.status_code == 404
    assert "This invitation link no longer works" in r.content.decode()


def test_new_account_form_checks_the_password(browser, invite):
    path, _ = invite("weak@example.com")
    client = Client()
    r = client.post(path, {"full_name": "W", "password1": "password", "password2": "password"})
    assert r.status_code == 422
    assert "too common" in r.content.decode()
    r = client.post(
        path, {"full_name": "W", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"}
    )
    assert r.status_code == 422
    assert "The two passwords don" in r.content.decode()
    assert not User.objects.filter(email="weak@example.com").exists()


def test_existing_user_signs_in_then_accepts_with_one_click(browser, invite):
    existing = MembershipFactory(user__email="known@example.com", role=Role.OWNER.value)
    path, inv = invite("known@example.com", "admin")

    # Anonymous: told to sign in (the link never signs anyone into an existing account).
    anon = Client()
    r = anon.get(path)
    assert r.status_code == 200
    assert "Sign in to accept" in r.content.decode()
    r = anon.post(
        path, {"full_name": "Mallory", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert AUTH_SESSION_KEY not in anon.session
    assert not Membership.objects.filter(user=existing.user, workspace=inv.workspace).exists()

    # Signing in through the real form with ?next= comes back to the invitation.
    client = Client()
    r = client.post(
        f"/accounts/login/?next={path}", {"username": "known@example.com", "password": PASSWORD}
    )
    assert r["Location"] == path
    r = client.get(path)
    assert "Accept and open" in r.content.decode()
    r = client.post(path)
    assert r.status_code == 302
    assert client.session[SESSION_KEY] == str(inv.workspace_id)
    assert Membership.objects.get(user=existing.user, workspace=inv.workspace).role == "admin"
    # Still a member of their own workspace too.
    assert Membership.objects.filter(user=existing.user, workspace=existing.workspace).exists()


def test_signed_in_as_someone_else_is_told_so(browser, invite):
    path, inv = invite("intended@example.com")
    other, other_m = make_browser(Role.MEMBER)
    r = other.get(path)
    assert r.status_code == 403
    html = r.content.decode()
    assert f"signed in as <strong>{other_m.user.email}</strong>" in html
    assert "invitation is for <strong>intended@example.com</strong>" in " ".join(html.split())
    assert "Sign out and continue" in html
    r = other.post(path)
    assert r.status_code == 403
    inv.refresh_from_db()
    assert inv.accepted_at is None


def test_revoked_and_expired_links_show_a_clear_message(browser, invite):
    path, inv = invite("late@example.com")
    inv.expires_at = timezone.now() - timedelta(minutes=1)
    inv.save()
    r = Client().get(path)
    assert r.status_code == 404
    assert "expired" in r.content.decode()

    path2, inv2 = invite("gone@example.com")
    browser.post(f"/settings/invitations/{inv2.pk}/revoke/")
    r = Client().post(
        path2, {"full_name": "G", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert r.status_code == 404
    assert "This invitation link no longer works" in r.content.decode()
    assert not User.objects.filter(email="gone@example.com").exists()


def test_a_made_up_token_is_404(client):
    r = client.get("/invitations/not-a-real-token/")
    assert r.status_code == 404
    assert "no longer works" in r.content.decode()


def test_a_user_without_a_password_is_sent_to_choose_one(browser, invite):
    user = UserFactory(email="nopass@example.com")
    user.set_unusable_password()
    user.save()
    path, _ = invite("nopass@example.com")
    r = Client().get(path)
    assert "has no password yet" in r.content.decode()
