"""Registered notification kinds: stable names, like audit event types (DESIGN rule 4).

An app that notifies about something new registers its kind here (or in its own module)::

    from rapport.notifications.kinds import register
    DEAL_WON = register("deal_won", "Deals won")

The column stores the name only, so a new kind needs no migration; ``notify`` refuses a name
nobody registered.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str  # "mention": what the API answers as ``kind``
    label: str  # "Mentions": shown in settings and filters

    def __str__(self) -> str:
        return self.name


_registry: dict[str, Kind] = {}


def register(name: str, label: str) -> Kind:
    if name in _registry and _registry[name].label != label:
        raise ValueError(f"notification kind {name!r} registered twice with different labels")
    _registry[name] = Kind(name, label)
    return _registry[name]


def get(name: str) -> Kind:
    return _registry[name]


def is_registered(name: str) -> bool:
    return name in _registry


def all_kinds() -> list[Kind]:
    return sorted(_registry.values(), key=lambda k: k.name)


MENTION = register("mention", "Mentions")
ASSIGNMENT = register("assignment", "Assignments")
REMINDER = register("reminder", "Task reminders")
