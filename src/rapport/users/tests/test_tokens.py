"""Settings → API tokens: created once in clear, stored hashed, usable and revocable."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from rapport.core.actors import Role
from rapport.testing.clients import make_browser
from rapport.users.models import ApiToken
from rapport.users.services import hash_token

pytestmark = pytest.mark.django_db

URL = "/settings/tokens/"


def _create(browser, name="Zapier"):
    return browser.post(URL, {"name": name})


def _raw_token(html: str) -> str:
    match = re.search(r'value="(rpt_[A-Za-z0-9_-]+)"', html)
    assert match, html
    return match.group(1)


def test_owner_creates_a_token_shown_once_that_authenticates_the_api(browser):
    r = _create(browser)
    assert r.status_code == 201
    assert r["Cache-Control"] == "no-store"
    html = r.content.decode()
    raw = _raw_token(html)
    assert "only time it is shown" in html

    token = ApiToken.objects.get(workspace=browser.membership.workspace)
    assert token.name == "Zapier"
    assert token.user == browser.membership.user
    assert token.key_hash == hash_token(raw)
    assert raw not in (token.key_hash, token.prefix)  # only a hash and a prefix are stored

    # Afterwards the list shows only the prefix, and "never" used.
    listing = browser.get(URL).content.decode()
    assert raw not in listing
    assert f"{token.prefix}…" in listing
    assert "last used never" in " ".join(listing.split())

    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    r = api.get("/api/v1/contacts")
    assert r.status_code == 200, r.content
    assert r.json()["results"] == []
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert "last used never" not in " ".join(browser.get(URL).content.decode().split())


def test_revoked_token_gets_401(browser):
    raw = _raw_token(_create(browser, "CI").content.decode())
    token = ApiToken.objects.get(name="CI")
    r = browser.post(f"{URL}{token.pk}/revoke/")
    assert r.status_code == 302
    assert r["Location"] == URL
    token.refresh_from_db()
    assert token.revoked_at is not None
    r = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/contacts")
    assert r.status_code == 401
    listing = browser.get(URL).content.decode()
    assert "revoked" in listing
    assert f'action="{URL}{token.pk}/revoke/"' not in listing


def test_token_name_is_required_and_html_is_escaped(browser):
    r = _create(browser, "")
    assert r.status_code == 422
    assert not ApiToken.objects.exists()
    _create(browser, "<script>alert(1)</script>")
    html = browser.get(URL).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_admin_manages_tokens():
    client, _ = make_browser(Role.ADMIN)
    assert _create(client).status_code == 201


@pytest.mark.parametrize("role", [Role.MANAGER, Role.MEMBER, Role.READ_ONLY])
def test_non_admins_cannot_see_create_or_revoke_tokens(browser, role):
    owner_token = ApiToken.objects.create(
        workspace=browser.membership.workspace,
        user=browser.membership.user,
        name="Owner's token",
        prefix="rpt_abcdef",
        key_hash=hash_token("rpt_abcdef-secret"),
    )
    client, _ = make_browser(role, workspace=browser.membership.workspace)
    r = client.get(URL)
    assert r.status_code == 403
    html = r.content.decode()
    assert "Only owners and admins manage API tokens" in html
    assert "Owner&#x27;s token" not in html and "Owner's token" not in html
    r = _create(client)
    assert r.status_code == 403
    assert ApiToken.objects.count() == 1
    r = client.post(f"{URL}{owner_token.pk}/revoke/")
    assert r.status_code == 403
    owner_token.refresh_from_db()
    assert owner_token.revoked_at is None


def test_another_workspaces_token_cannot_be_revoked(browser):
    other, membership = make_browser(Role.OWNER)
    raw = _raw_token(_create(other, "Their nightly sync").content.decode())
    token = ApiToken.objects.get(workspace=membership.workspace)
    r = browser.post(f"{URL}{token.pk}/revoke/")
    assert r.status_code == 404
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/contacts").status_code == 200
    assert "Their nightly sync" not in browser.get(URL).content.decode()
