"""The forecast and quotas pages."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.core.actors import Role
from rapport.sales.models import Quota
from rapport.testing.clients import make_browser
from rapport.testing.factories import DealFactory, MembershipFactory

from .test_forecast import World

pytestmark = pytest.mark.django_db


def test_forecast_page_shows_the_figures_and_the_chart_data(browser):
    World(browser.membership)
    response = browser.get("/forecast/?period=quarter&start=2026-01-01&periods=2&group_by=owner")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Q1 2026" in html and "Q2 2026" in html
    assert "Alice Archer" in html and "1,550.00" in html and "77.5%" in html
    assert 'id="forecast-chart" type="application/json"' in html
    assert 'data-chart="forecast-chart"' in html
    # Converted figures explain themselves.
    assert "EUR 500.00 × 1.1 (rate of 2026-01-01) = 550.00" in html
    # No inline script or style (strict CSP).
    assert not re.search(r"<script(?![^>]*(src=|application/json))", html)
    assert " style=" not in html

    team = browser.get("/forecast/?period=quarter&start=2026-01-01&group_by=team")
    assert "East" in team.content.decode() and "No team" in team.content.decode()
    pipe = browser.get("/forecast/?period=year&start=2026-01-01&group_by=pipeline")
    assert "Inbound" in pipe.content.decode() and "Attainment" not in pipe.content.decode()


def test_forecast_page_bad_settings_are_explained(browser):
    response = browser.get("/forecast/?period=week&periods=99")
    assert response.status_code == 200
    html = response.content.decode()
    assert "period: Use one of" in html and "periods: Must be between 1 and 24" in html


def test_forecast_page_query_count_is_constant(browser):
    actor = World(browser.membership).admin

    def count():
        with CaptureQueriesContext(connection) as ctx:
            browser.get("/forecast/?period=month&start=2026-01-01&periods=6")
        return len(ctx.captured_queries)

    count()  # the first request of a session also saves the session
    few = count()
    for i in range(8):
        m = MembershipFactory(workspace=actor.workspace, role=Role.MEMBER.value)
        DealFactory(actor=actor, owner=str(m.user_id), close_date=f"2026-0{i % 6 + 1}-03")
    assert count() == few


def test_quotas_page_managers_set_and_members_read(browser):
    world = World(browser.membership)
    ws = world.admin.workspace
    page = browser.get("/forecast/quotas/?period=quarter&year=2026")
    assert page.status_code == 200
    name = f"q-{world.alice.user_id}-2026-04-01"
    assert f'name="{name}"' in page.content.decode()
    response = browser.post(
        "/forecast/quotas/",
        {
            "period": "quarter",
            "year": "2026",
            name: "3,000.50",
            f"q-{world.alice.user_id}-2026-01-01": "2000.00",  # unchanged
            f"q-{world.bob.user_id}-2026-01-01": "",
        },  # removed
    )
    assert response.status_code == 302
    q = Quota.objects.get(workspace=ws, user=world.alice.user, start="2026-04-01")
    assert str(q.amount) == "3000.50" and q.period == "quarter"
    assert not Quota.objects.filter(user=world.bob.user).exists()

    bad = browser.post("/forecast/quotas/", {"period": "quarter", "year": "2026", name: "-5"})
    assert bad.status_code == 422 and "Must not be negative" in bad.content.decode()

    member, _ = make_browser(Role.MEMBER, workspace=ws)
    read = member.get("/forecast/quotas/?period=quarter&year=2026")
    assert read.status_code == 200 and "disabled" in read.content.decode()
    refused = member.post("/forecast/quotas/", {"period": "quarter", "year": "2026", name: "1"})
    assert refused.status_code == 403
    assert str(Quota.objects.get(user=world.alice.user, start="2026-04-01").amount) == "3000.50"
