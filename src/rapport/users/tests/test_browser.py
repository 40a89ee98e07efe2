"""Signing in, out and resetting a password in a real browser."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from rapport.core.actors import Role
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_and_out_through_the_real_form(page, live_server):
    m = MembershipFactory(role=Role.MEMBER.value, user__full_name="Sam Signin")
    page.goto(f"{live_server.url}/settings/")
    assert "/accounts/login/?next=/settings/" in page.url
    page.fill("input[name=username]", m.user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/settings/")
    page.locator(".usermenu summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/accounts/login/$"))
    assert "You are signed out." in page.locator(".messages").inner_text()
    page.goto(f"{live_server.url}/settings/")
    assert "/accounts/login/" in page.url


def test_password_reset_on_a_phone(phone_page, live_server):
    page = phone_page
    m = MembershipFactory()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.fill("input[name=email]", m.user.email)
    page.get_by_role("button", name="Send the reset link").click()
    page.wait_for_load_state("networkidle")
    assert "Check your email" in page.locator("h1").inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, "password-reset-sent-phone")

    link = re.search(r"http://\S+/accounts/reset/\S+", mail.outbox[-1].body).group(0)
    page.goto(link)
    assert "Choose a new password" in page.locator("h1").inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, "password-reset-confirm-phone")
    page.fill("input[name=new_password1]", "violet-anchor-meadow-88")
    page.fill("input[name=new_password2]", "violet-anchor-meadow-88")
    page.get_by_role("button", name="Save the new password").click()
    page.wait_for_load_state("networkidle")
    assert "Your password is changed" in page.locator("h1").inner_text()

    login(page, live_server, m.user.email, "violet-anchor-meadow-88")
    assert page.url == f"{live_server.url}/"
