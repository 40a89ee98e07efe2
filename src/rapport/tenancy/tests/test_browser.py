"""Settings and sign-in pages in a real browser at phone width (375 px)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from rapport.contacts.services import company_update
from rapport.core.actors import Role
from rapport.tenancy.models import Invitation, Membership
from rapport.tenancy.services import invitation_create
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, CompanyFactory, MembershipFactory, actor_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_page_on_a_phone(phone_page, live_server):
    page = phone_page
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.locator("h1").inner_text() == "Sign in"
    assert_no_horizontal_scroll(page)
    screenshot(page, "login-phone")
    # A wrong password says so, still without sideways scrolling.
    m = MembershipFactory()
    page.fill("input[name=username]", m.user.email)
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "don't match an account" in page.locator("main").inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, "login-error-phone")


def test_lockout_page_on_a_phone(phone_page, live_server):
    page = phone_page
    m = MembershipFactory()
    for _ in range(5):
        login(page, live_server, m.user.email, "wrong-password")
    assert "Too many failed sign-ins" in page.locator("main").inner_text()
    assert "Try again in 15 minutes" in page.locator("main").inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, "login-locked-out-phone")


def test_owner_manages_members_on_a_phone(phone_page, live_server):
    page = phone_page
    page.on("dialog", lambda dialog: dialog.accept())
    owner = MembershipFactory(
        role=Role.OWNER.value, user__full_name="Olivia Owner", workspace__name="Acme Sales"
    )
    colleague = MembershipFactory(
        workspace=owner.workspace,
        role=Role.MEMBER.value,
        user__full_name="Mark Member-With-A-Rather-Long-Name",
        user__email="mark.member.with.a.long.address@a-long-company-domain.example.com",
    )
    leaver = MembershipFactory(
        workspace=owner.workspace, role=Role.READ_ONLY.value, user__full_name="Larry Leaver"
    )
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/")
    assert page.locator("input[name=name]").input_value() == "Acme Sales"
    assert_no_horizontal_scroll(page)
    screenshot(page, "settings-phone")

    # Change a role.
    row = page.locator(".member-row", has_text="Mark Member")
    row.locator("select[name=role]").select_option("manager")
    row.get_by_role("button", name="Change role").click()
    page.wait_for_load_state("networkidle")
    assert "is now Manager" in page.locator(".messages").inner_text()
    colleague.refresh_from_db()
    assert colleague.role == "manager"

    # Remove a member (the confirm dialog is accepted).
    page.locator(".member-row", has_text="Larry Leaver").get_by_role(
        "button", name="Remove"
    ).click()
    page.wait_for_load_state("networkidle")
    assert "Member removed." in page.locator(".messages").inner_text()
    assert not Membership.objects.filter(pk=leaver.pk).exists()

    # Invite someone.
    page.fill("input[name=email]", "new.hire@example.com")
    page.locator("#id_role").select_option("admin")
    page.get_by_role("button", name="Send invitation").click()
    page.wait_for_load_state("networkidle")
    assert "Invitation sent to new.hire@example.com" in page.locator(".messages").inner_text()
    assert Invitation.objects.filter(email="new.hire@example.com", role="admin").exists()
    assert_no_horizontal_scroll(page)
    screenshot(page, "settings-after-invite-phone")


def test_tokens_and_audit_pages_on_a_phone(phone_page, live_server):
    page = phone_page
    owner = MembershipFactory(role=Role.OWNER.value)
    company = CompanyFactory(actor=actor_for(owner), name="Initech", domain="initech.example.com")
    company_update(
        actor=actor_for(owner),
        company_id=company.pk,
        data={"name": "Initech Holdings", "industry": "Printers and other office equipment"},
    )
    login(page, live_server, owner.user.email, PASSWORD)

    page.goto(f"{live_server.url}/settings/tokens/")
    page.fill("input[name=name]", "Nightly export")
    page.get_by_role("button", name="Create token").click()
    page.wait_for_load_state("networkidle")
    token = page.locator("#new-token").input_value()
    assert token.startswith("rpt_")
    assert_no_horizontal_scroll(page)
    screenshot(page, "tokens-created-phone")

    page.goto(f"{live_server.url}/settings/audit/")
    assert "Company created" in page.locator("main").inner_text()
    changed = page.locator(".audit-table > tbody > tr", has_text="Company changed")
    changed.locator("summary").click()
    expect(changed.locator("details.changes[open]")).to_contain_text("Initech Holdings")
    page.evaluate("window.scrollTo(0, 0)")
    assert "API token created" in page.locator("main").inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, "audit-phone")


def test_member_sees_read_only_settings_on_a_phone(phone_page, live_server):
    page = phone_page
    owner = MembershipFactory(role=Role.OWNER.value)
    member = MembershipFactory(workspace=owner.workspace, role=Role.MEMBER.value)
    login(page, live_server, member.user.email, PASSWORD)
    page.goto(f"{live_server.url}/settings/")
    text = page.locator("main").inner_text()
    assert "only owners and admins can change these settings" in text
    assert page.locator("input[name=name]").is_disabled()
    assert page.get_by_role("button", name="Save settings").count() == 0
    assert_no_horizontal_scroll(page)
    screenshot(page, "settings-member-phone")
    page.goto(f"{live_server.url}/settings/tokens/")
    assert "Only owners and admins manage API tokens" in page.locator("main").inner_text()
    assert_no_horizontal_scroll(page)


def test_settings_tokens_and_audit_on_a_desktop(page, live_server):
    owner = MembershipFactory(role=Role.OWNER.value, workspace__name="Globex")
    MembershipFactory(workspace=owner.workspace, role=Role.ADMIN.value)
    company = CompanyFactory(actor=actor_for(owner), name="Hooli", domain="hooli.example.com")
    company_update(actor=actor_for(owner), company_id=company.pk, data={"industry": "Search"})
    login(page, live_server, owner.user.email, PASSWORD)
    for path, name in (
        ("/settings/", "settings-desktop"),
        ("/settings/tokens/", "tokens-desktop"),
        ("/settings/audit/", "audit-desktop"),
    ):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").inner_text() == "Settings"
        assert_no_horizontal_scroll(page)
        screenshot(page, name)
    # The record link of an audit entry opens the record.
    page.get_by_role("link", name="Hooli").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{live_server.url}/companies/{company.pk}/"


def test_invitee_creates_an_account_on_a_phone(phone_page, live_server):
    page = phone_page
    owner = MembershipFactory(role=Role.OWNER.value, workspace__name="Initech")
    invitation_create(
        actor=actor_for(owner),
        email="peter@initech.example.com",
        role="member",
        accept_url_template=f"{live_server.url}/invitations/{{token}}/",
    )
    link = re.search(r"http://\S+/invitations/[\w-]+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    assert "Join Initech" in page.locator("h1").inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, "invitation-accept-phone")
    page.fill("input[name=full_name]", "Peter Gibbons")
    page.fill("input[name=password1]", "tps-reports-cover-sheet-9")
    page.fill("input[name=password2]", "tps-reports-cover-sheet-9")
    page.get_by_role("button", name="Create my account and join").click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{live_server.url}/"
    assert "Welcome to Initech!" in page.locator(".messages").inner_text()
    assert Membership.objects.filter(
        workspace=owner.workspace, user__email="peter@initech.example.com"
    ).exists()
