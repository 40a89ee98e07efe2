"""The notification centre in a real browser: the bell, opening one, a phone's width."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rapport.core.actors import Role
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, MembershipFactory, PersonFactory, actor_for

from .helpers import send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_notification_centre_on_a_phone(phone_page, live_server, owner):
    page = phone_page
    colleague = MembershipFactory(workspace=owner.workspace, role=Role.MEMBER.value)
    person = PersonFactory(actor=actor_for(owner), first_name="Grace", last_name="Hopper")
    send(
        actor_for(colleague),
        [owner.user_id],
        kind="assignment",
        title="Maximiliane Schwarzenberger-Oberhausen assigned you "
        + "Vertragsverlängerungsverhandlungsvorbereitung" * 2,
        body="Prepare the renewal before the quarterly review with the procurement team.",
    )
    send(
        actor_for(colleague),
        [owner.user_id],
        title="You were mentioned on Grace Hopper",
        url=f"/people/{person.pk}/",
        target_type="person",
        target_id=person.pk,
    )
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(live_server.url + "/")
    bell = page.locator("a.notif-bell")
    assert bell.get_attribute("aria-label") == "Notifications, 2 unread"
    assert_no_horizontal_scroll(page)
    screenshot(page, "notifications-bell-phone")

    bell.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/notifications/")
    assert page.locator(".notif-item.is-unread").count() == 2
    assert_no_horizontal_scroll(page)
    screenshot(page, "notifications-list-phone")

    page.get_by_text("You were mentioned on Grace Hopper").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/people/{person.pk}/")
    assert page.locator("a.notif-bell").get_attribute("aria-label") == ("Notifications, 1 unread")

    page.goto(live_server.url + "/notifications/preferences/")
    assert_no_horizontal_scroll(page)
    screenshot(page, "notifications-preferences-phone")
    page.get_by_label("One daily digest").check()
    page.select_option("select[name=digest_hour]", "18")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_text("Your notification settings are saved.")).to_be_visible()

    page.goto(live_server.url + "/notifications/")
    page.get_by_role("button", name="Mark all read").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".notif-item.is-unread").count() == 0
    assert page.locator("a.notif-bell .notif-count").count() == 0
