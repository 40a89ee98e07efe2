"""API rate limits: 429 with Retry-After and problem+json, per token."""

from __future__ import annotations

import pytest
from ninja.throttling import AuthRateThrottle

from rapport.config.api import api as ninja_api
from rapport.contacts.models import Person
from rapport.core.actors import Role
from rapport.testing.clients import make_api_client
from rapport.testing.suites import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_per_minute(monkeypatch):
    """The configured throttle, tightened to 3 requests a minute for this test."""
    throttles = [t for t in ninja_api.throttle if isinstance(t, AuthRateThrottle)]
    assert throttles, "config/api.py must throttle the API per token"
    for throttle in throttles:
        monkeypatch.setattr(throttle, "num_requests", 3)
        monkeypatch.setattr(throttle, "duration", 60)
    return throttles


def test_the_api_is_throttled_by_the_configured_rate(settings):
    (throttle,) = [t for t in ninja_api.throttle if isinstance(t, AuthRateThrottle)]
    # The test settings raise the limit out of the way; production reads RAPPORT_API_RATE_LIMIT.
    assert throttle.rate == settings.API_RATE_LIMIT
    assert AuthRateThrottle("1200/m").parse_rate("1200/m") == (1200, 60)


def test_over_the_limit_is_429_with_retry_after(api, three_per_minute):
    for _ in range(3):
        assert api.get("/contacts").status_code == 200
    r = api.get("/contacts")
    body = assert_problem(r, 429)
    assert body["title"] == "Too many requests"
    retry = int(r["Retry-After"])
    assert 1 <= retry <= 60
    # Writes are refused too, and nothing is written.
    r = api.post("/contacts", {"first_name": "Late"})
    assert_problem(r, 429)
    assert "Retry-After" in r
    assert not Person.objects.filter(first_name="Late").exists()


def test_the_limit_is_per_token(api, three_per_minute):
    colleague = make_api_client(Role.MEMBER, workspace=api.workspace)
    for _ in range(4):
        api.get("/contacts")
    assert api.get("/contacts").status_code == 429
    assert colleague.get("/contacts").status_code == 200


def test_a_role_change_does_not_reset_the_count(api, three_per_minute):
    for _ in range(3):
        assert api.get("/contacts").status_code == 200
    api.membership.role = Role.ADMIN.value
    api.membership.save(update_fields=["role"])
    assert api.get("/contacts").status_code == 429


def test_the_window_slides(api, three_per_minute, monkeypatch):
    now = [1_000_000.0]
    for throttle in three_per_minute:
        monkeypatch.setattr(throttle, "timer", lambda: now[0])
    for _ in range(3):
        assert api.get("/contacts").status_code == 200
    assert api.get("/contacts").status_code == 429
    now[0] += 61
    assert api.get("/contacts").status_code == 200
