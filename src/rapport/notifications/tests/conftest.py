"""Shared set-up: a workspace with two members (the actor and a colleague)."""

from __future__ import annotations

import pytest

from rapport.core.actors import Role
from rapport.testing.factories import MembershipFactory, actor_for

from .helpers import Team


@pytest.fixture
def team(owner) -> Team:
    colleague = MembershipFactory(workspace=owner.workspace, role=Role.MEMBER.value)
    return Team(actor=actor_for(owner), colleague=colleague, colleague_actor=actor_for(colleague))
