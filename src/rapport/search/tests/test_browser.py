"""The command palette in a real browser: sign in, Ctrl+K, a typo, Enter, the person's page."""

from __future__ import annotations

import re

import pytest

from rapport.core.actors import Role
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import (
    PASSWORD,
    CompanyFactory,
    MembershipFactory,
    PersonFactory,
    actor_for,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_palette_finds_a_person_despite_a_typo_and_opens_them(page, live_server):
    m = MembershipFactory(role=Role.MEMBER.value)
    person = PersonFactory(
        actor=actor_for(m),
        first_name="Margaret",
        last_name="Hamilton",
        email="margaret@apollo.example.com",
        title="Director of Software Engineering",
    )
    PersonFactory(
        actor=actor_for(m),
        first_name="Neil",
        last_name="Armstrong",
        email="neil@apollo.example.com",
    )

    login(page, live_server, m.user.email, PASSWORD)
    assert page.url == f"{live_server.url}/"

    page.keyboard.press("Control+k")
    palette = page.locator("#palette")
    palette.wait_for(state="visible")
    page.keyboard.type("margret hamiltn")
    option = page.locator("#palette-results a", has_text="Margaret Hamilton")
    option.wait_for()
    assert page.locator("#palette-results a").first.get_attribute("aria-selected") == "true"
    assert "Neil" not in page.locator("#palette-results").inner_text()
    screenshot(page, "search-palette-desktop")

    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/people/{person.pk}/$"))
    page.wait_for_load_state("networkidle")
    assert page.url == f"{live_server.url}/people/{person.pk}/"
    assert "Margaret Hamilton" in page.locator("main").inner_text()


def test_top_search_box_submits_to_the_results_page_on_a_phone(phone_page, live_server):
    page = phone_page
    m = MembershipFactory(role=Role.MEMBER.value)
    PersonFactory(
        actor=actor_for(m),
        first_name="Katherine",
        last_name="Johnson",
        email="katherine@nasa.example.com",
    )
    CompanyFactory(actor=actor_for(m), name="Johnson Space Center", domain="jsc.example.com")
    login(page, live_server, m.user.email, PASSWORD)

    page.locator(".topsearch input[name=q]").fill("jonson")
    page.locator(".topsearch input[name=q]").press("Enter")
    page.wait_for_url(re.compile(r".*/search/\?q=jonson$"))
    page.wait_for_load_state("networkidle")
    results = page.locator(".search-results")
    assert "Katherine Johnson" in results.inner_text()
    assert "Johnson Space Center" in results.inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, "search-results-phone")

    page.goto(f"{live_server.url}/search/?q=nothing-like-this")
    assert "Nothing matches" in page.locator("main").inner_text()
    assert_no_horizontal_scroll(page)


def test_typing_in_the_top_search_box_opens_the_palette_on_a_desktop(page, live_server):
    m = MembershipFactory(role=Role.MEMBER.value)
    person = PersonFactory(
        actor=actor_for(m), first_name="Grace", last_name="Hopper", email="grace@navy.example.com"
    )
    login(page, live_server, m.user.email, PASSWORD)

    page.locator(".topsearch input[name=q]").click()
    page.keyboard.type("grace hoper")
    page.locator("#palette").wait_for(state="visible")
    page.locator("#palette-results a", has_text="Grace Hopper").wait_for()
    # Every letter typed reached the palette, none was lost to the switch.
    assert page.locator("#palette-input").input_value() == "grace hoper"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/people/{person.pk}/$"))
