"""Test helpers of the notifications app."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from rapport.core.actors import Actor
from rapport.notifications import services
from rapport.tenancy.models import Membership

_keys = itertools.count(1)


@dataclass
class Team:
    actor: Actor  # who acts (mentions, assigns)
    colleague: Membership  # who is notified
    colleague_actor: Actor


def send(actor: Actor, recipients, **kw):
    """``services.notify`` with defaults a test does not care about (a fresh key each time)."""
    kw.setdefault("kind", "mention")
    kw.setdefault("title", "Ada mentioned you")
    kw.setdefault("key", f"test:{next(_keys)}")
    return services.notify(actor=actor, recipients=recipients, **kw)
