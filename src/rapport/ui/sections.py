"""The sections of a record page (the Customer 360): each app registers its own.

The person and company pages do not know what is on them: contacts registers the key facts,
activities the interaction summary, the next task and the timeline, and deals, tickets and
campaigns add theirs later the same way, without editing the page::

    sections.register("person", sections.Section(
        key="next_task", title="Next task", template="activities/sections/next_task.html",
        context=next_task_context, order=30, column="side"))

``context(request, actor, obj)`` answers the template's context, or ``None`` to leave the
section out (nothing to show and nothing to add). It runs only for the page being shown, so a
section's queries are paid only where it appears; keep them constant in the data's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from django.http import HttpRequest

from rapport.core.actors import Actor

Column = Literal["main", "side"]


@dataclass(frozen=True)
class Section:
    key: str  # unique on its page; also the HTML id ("section-<key>")
    title: str
    template: str
    context: Callable[[HttpRequest, Actor, Any], dict | None]
    order: int = 50  # smaller first
    column: Column = "main"


@dataclass(frozen=True)
class Rendered:
    section: Section
    context: dict

    @property
    def key(self) -> str:
        return self.section.key

    @property
    def title(self) -> str:
        return self.section.title

    @property
    def template(self) -> str:
        return self.section.template


_sections: dict[str, dict[str, Section]] = {}


def register(object_type: str, section: Section) -> Section:
    """Adds ``section`` to the pages of ``object_type`` ("person", "company", ...)."""
    _sections.setdefault(object_type, {})[section.key] = section
    return section


def for_page(object_type: str) -> list[Section]:
    return sorted(_sections.get(object_type, {}).values(), key=lambda s: (s.order, s.key))


def render(request: HttpRequest, actor: Actor, object_type: str, obj) -> dict[str, list[Rendered]]:
    """The sections to show for ``obj``, by column, each with its context."""
    columns: dict[str, list[Rendered]] = {"main": [], "side": []}
    for section in for_page(object_type):
        context = section.context(request, actor, obj)
        if context is not None:
            columns[section.column].append(Rendered(section, context))
    return columns
