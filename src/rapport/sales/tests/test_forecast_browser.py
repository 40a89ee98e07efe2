"""The forecast, quotas and dashboard pages in a real browser: charts drawn under the strict
CSP (a violation is a console error), no horizontal scroll on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD

from .test_dashboard import Set
from .test_forecast import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def watch(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def charts_drawn(page, count: int) -> None:
    canvases = page.locator("canvas[data-chart]")
    expect(canvases).to_have_count(count)
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas[data-chart]')]"
        ".every(c => c.dataset.chartReady === '1' && c.width > 0 && c.height > 0)"
    )


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_forecast_and_dashboard_pages_draw_their_charts(request, live_server, owner, device):
    page = request.getfixturevalue("page" if device == "desktop" else "phone_page")
    World(owner)
    Set(owner, pipeline_name="Renewals")
    errors = watch(page)
    login(page, live_server, owner.user.email, PASSWORD)

    page.goto(f"{live_server.url}/forecast/?period=quarter&start=2026-01-01&periods=2")
    expect(page.get_by_role("heading", name="Forecast", exact=True)).to_be_visible()
    expect(page.get_by_role("rowheader", name="Alice Archer 5 deals").first).to_be_visible()
    charts_drawn(page, 1)
    assert_no_horizontal_scroll(page)
    screenshot(page, f"sales-forecast-{device}")

    page.goto(f"{live_server.url}/forecast/?period=quarter&start=2026-01-01&group_by=team")
    charts_drawn(page, 1)
    assert_no_horizontal_scroll(page)

    page.goto(f"{live_server.url}/forecast/quotas/?period=quarter&year=2026")
    expect(page.get_by_role("button", name="Save quotas")).to_be_visible()
    assert_no_horizontal_scroll(page)
    screenshot(page, f"sales-quotas-{device}")

    page.goto(f"{live_server.url}/sales/dashboard/")
    expect(page.get_by_role("heading", name="Sales dashboard")).to_be_visible()
    charts_drawn(page, 6)
    assert_no_horizontal_scroll(page)
    screenshot(page, f"sales-dashboard-{device}")

    assert errors == []
