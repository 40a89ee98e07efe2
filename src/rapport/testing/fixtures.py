"""pytest fixtures shared by every app's tests (loaded from the root conftest)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from rapport.core.actors import Role

from .clients import make_api_client, make_browser
from .factories import MembershipFactory, actor_for


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(db):
    """An owner's API client in a fresh workspace."""
    return make_api_client(Role.OWNER)


@pytest.fixture
def other_api(db):
    """An owner's API client in another workspace (for isolation tests)."""
    return make_api_client(Role.OWNER)


@pytest.fixture
def api_as(db, api):
    """Factory: an API client with a given role in the same workspace as ``api``."""

    def make(role: Role):
        return make_api_client(role, workspace=api.workspace)

    return make


@pytest.fixture
def owner(db):
    return MembershipFactory(role=Role.OWNER.value)


@pytest.fixture
def actor(owner):
    return actor_for(owner)


@pytest.fixture
def browser(db):
    client, membership = make_browser(Role.OWNER)
    client.membership = membership
    return client
