"""Signing in and out, lockout after repeated failures, password reset: through the views."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import SESSION_KEY as AUTH_SESSION_KEY
from django.core import mail
from django.test import Client

from rapport.audit.models import AuditEntry
from rapport.core.actors import Role
from rapport.testing.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def _login(client: Client, email: str, password: str, **extra):
    return client.post(LOGIN, {"username": email, "password": password}, **extra)


def test_login_page_has_the_named_inputs_and_a_submit_button(client):
    r = client.get(LOGIN)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert '<button type="submit">' in html
    assert 'href="/accounts/password-reset/"' in html


def test_login_with_the_right_password_signs_in_and_is_audited():
    m = MembershipFactory(role=Role.MEMBER.value)
    client = Client()
    r = _login(client, m.user.email, PASSWORD)
    assert r.status_code == 302
    assert r["Location"] == "/"
    assert client.session[AUTH_SESSION_KEY] == str(m.user.pk)
    entry = AuditEntry.objects.get(action="user.logged_in")
    assert entry.workspace_id == m.workspace_id
    assert entry.actor_user_id == m.user.pk
    assert entry.object_repr == m.user.email
    assert entry.changes["ip_address"]["after"] == "127.0.0.1"


def test_login_ignores_the_case_of_the_email():
    m = MembershipFactory()
    client = Client()
    r = _login(client, m.user.email.upper(), PASSWORD)
    assert r.status_code == 302
    assert client.session[AUTH_SESSION_KEY] == str(m.user.pk)


def test_login_follows_a_safe_next_only():
    m = MembershipFactory()
    client = Client()
    r = client.post(LOGIN + "?next=/settings/", {"username": m.user.email, "password": PASSWORD})
    assert r["Location"] == "/settings/"
    other = Client()
    r = other.post(
        LOGIN + "?next=https://evil.example/", {"username": m.user.email, "password": PASSWORD}
    )
    assert r["Location"] == "/"


def test_wrong_password_shows_an_error_and_is_audited():
    m = MembershipFactory()
    client = Client()
    r = _login(client, m.user.email, "not-the-password")
    assert r.status_code == 200
    assert "don&#x27;t match an account" in r.content.decode()
    assert AUTH_SESSION_KEY not in client.session
    entry = AuditEntry.objects.get(action="user.login_failed")
    assert entry.workspace_id == m.workspace_id
    assert entry.object_id == str(m.user.pk)
    assert entry.actor_user_id is None  # nobody was signed in
    assert "127.0.0.1" in entry.actor_label


def test_failed_login_for_an_unknown_email_writes_no_audit_entry(client):
    r = _login(client, "nobody@example.test", "whatever-1234")
    assert r.status_code == 200
    assert not AuditEntry.objects.filter(action="user.login_failed").exists()


def test_five_failures_lock_the_account_out_for_this_ip():
    m = MembershipFactory()
    client = Client()
    for _ in range(4):
        assert _login(client, m.user.email, "wrong-password").status_code == 200
    r = _login(client, m.user.email, "wrong-password")
    assert r.status_code == 429
    html = r.content.decode()
    assert "Too many failed sign-ins" in html
    assert "Try again in 15 minutes" in html
    # Even the right password is refused while locked out.
    r = _login(client, m.user.email, PASSWORD)
    assert r.status_code == 429
    assert AUTH_SESSION_KEY not in client.session
    # Another address from the same IP is not affected (lockout is per user and IP).
    other = MembershipFactory()
    r = _login(Client(), other.user.email, PASSWORD)
    assert r.status_code == 302


def test_case_variants_of_an_email_share_one_lockout_counter():
    m = MembershipFactory()
    client = Client()
    variants = [
        m.user.email,
        m.user.email.upper(),
        m.user.email.title(),
        m.user.email,
        " " + m.user.email,
    ]
    statuses = [_login(client, v, "wrong-password").status_code for v in variants]
    assert statuses == [200, 200, 200, 200, 429]
    assert _login(client, m.user.email.upper(), PASSWORD).status_code == 429


def test_logout_is_post_only_and_audited():
    m = MembershipFactory()
    client = Client()
    assert _login(client, m.user.email, PASSWORD).status_code == 302
    assert client.get("/accounts/logout/").status_code == 405
    r = client.post("/accounts/logout/")
    assert r.status_code == 302
    assert r["Location"] == LOGIN
    assert AUTH_SESSION_KEY not in client.session
    entry = AuditEntry.objects.get(action="user.logged_out")
    assert entry.workspace_id == m.workspace_id
    assert entry.actor_user_id == m.user.pk
    r = client.get(LOGIN)
    assert "You are signed out." in r.content.decode()


def test_signed_in_user_visiting_login_is_sent_home(browser):
    r = browser.get(LOGIN)
    assert r.status_code == 302
    assert r["Location"] == "/"


def test_anonymous_settings_redirects_to_login(client):
    r = client.get("/settings/")
    assert r.status_code == 302
    assert r["Location"].startswith(LOGIN + "?next=")


def _reset_link(body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", body)
    assert match, body
    return match.group(1)


def test_password_reset_end_to_end():
    m = MembershipFactory()
    client = Client()
    r = client.get("/accounts/password-reset/")
    assert r.status_code == 200
    r = client.post("/accounts/password-reset/", {"email": m.user.email.upper()})
    assert r.status_code == 302
    assert r["Location"] == "/accounts/password-reset/sent/"
    assert "Check your email" in client.get(r["Location"]).content.decode()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [m.user.email]
    assert "Reset your Rapport password" in message.subject
    link = _reset_link(message.body)

    r = client.get(link)  # Django swaps the token for a session value and redirects
    assert r.status_code == 302
    form_url = r["Location"]
    r = client.get(form_url)
    assert r.status_code == 200
    assert "Choose a new password" in r.content.decode()
    new_password = "a-brand-new-passphrase-42"
    r = client.post(form_url, {"new_password1": new_password, "new_password2": new_password})
    assert r.status_code == 302
    assert r["Location"] == "/accounts/reset/done/"
    assert "Your password is changed" in client.get(r["Location"]).content.decode()
    assert AuditEntry.objects.filter(
        action="user.password_reset", object_id=str(m.user.pk)
    ).exists()

    # The link works once.
    r = Client().get(link, follow=True)
    assert "This link no longer works" in r.content.decode()
    # The old password no longer works, the new one does.
    assert _login(Client(), m.user.email, PASSWORD).status_code == 200
    fresh = Client()
    assert _login(fresh, m.user.email, new_password).status_code == 302
    assert fresh.session[AUTH_SESSION_KEY] == str(m.user.pk)


def test_password_reset_for_an_unknown_address_sends_nothing_but_says_the_same(client):
    r = client.post("/accounts/password-reset/", {"email": "ghost@example.test"})
    assert r.status_code == 302
    assert r["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_password_reset_lets_a_user_without_a_password_choose_one(client):
    user = UserFactory()
    user.set_unusable_password()
    user.save()
    client.post("/accounts/password-reset/", {"email": user.email})
    assert len(mail.outbox) == 1


def test_password_reset_rejects_a_weak_password():
    m = MembershipFactory()
    client = Client()
    client.post("/accounts/password-reset/", {"email": m.user.email})
    form_url = client.get(_reset_link(mail.outbox[0].body))["Location"]
    r = client.post(form_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert r.status_code == 200
    assert "too common" in r.content.decode()
