"""The sections of a lead's page (``rapport.ui.sections``), the same machinery as the person,
company and deal pages:

- side: status and conversion, key facts (with tags, custom fields and the web form's
  answers), the score explained, the lead's open tasks, its files;
- main: the figures at a glance, the quick-add box (note, call, ... and "+ Task") and the
  timeline: interactions and tasks linked to the lead, and its own changes.

A converted lead is read-only: its interactions and tasks moved to the person it became, so
the page offers no quick-add box and no "Add task" there.

Registered on import, from ``lead_views`` (the module serving the page). Every section costs
a fixed number of queries whatever the length of the lead's history.
"""

from __future__ import annotations

from typing import Any

import pycountry
from django.http import HttpRequest

from rapport.core.actors import Actor
from rapport.core.policy import can_write
from rapport.ui import sections

from .lead_models import Lead, LeadStatus
from .models import Pipeline


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code) if code else None
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


def lead_facts(request: HttpRequest, actor: Actor, lead: Lead) -> dict[str, Any]:
    return {
        "lead": lead,
        "country": country_name(lead.country),
        "form_answers": sorted((lead.form_data or {}).items()),
    }


def lead_score(request: HttpRequest, actor: Actor, lead: Lead) -> dict[str, Any]:
    return {"lead": lead}


def lead_qualify(request: HttpRequest, actor: Actor, lead: Lead) -> dict[str, Any] | None:
    """The status form and, for a qualified lead, the conversion form (writers only)."""
    if lead.converted_at is not None or not can_write(actor):
        return None
    qualified = lead.status == LeadStatus.QUALIFIED
    return {
        "lead": lead,
        "statuses": LeadStatus.choices,
        "can_convert": qualified,
        "has_pipeline": qualified
        and Pipeline.objects.in_workspace(actor.workspace).exists(),  # one query, when asked
    }


def _unless_converted(context):
    """A section that adds to the lead: left out once the lead is converted."""

    def wrapped(request: HttpRequest, actor: Actor, lead: Lead) -> dict | None:
        if lead.converted_at is not None:
            return None
        return context(request, actor, lead)

    return wrapped


def register() -> None:
    from django.apps import apps

    from rapport.activities.task_sections import tasks_context
    from rapport.activities.timeline_views import (
        quick_add_context,
        summary_context,
        timeline_context,
    )

    page = [
        ("qualify", "Status", "sales/leads/sections/qualify.html", lead_qualify, 5, "side"),
        ("facts", "About", "sales/leads/sections/facts.html", lead_facts, 10, "side"),
        ("score", "Score", "sales/leads/sections/score.html", lead_score, 15, "side"),
        (
            "tasks",
            "Tasks",
            "activities/tasks/section.html",
            _unless_converted(tasks_context),
            20,
            "side",
        ),
        (
            "activity_summary",
            "At a glance",
            "activities/sections/summary.html",
            summary_context,
            10,
            "main",
        ),
        (
            "quick_add",
            "Log an interaction",
            "activities/sections/quick_add.html",
            _unless_converted(quick_add_context),
            20,
            "main",
        ),
        ("timeline", "Timeline", "activities/sections/timeline.html", timeline_context, 90, "main"),
    ]
    if apps.is_installed("rapport.attachments"):
        from rapport.attachments.views import section_context

        page.append(("files", "Files", "attachments/section.html", section_context, 60, "side"))
    for key, title, template, context, order, column in page:
        sections.register(
            "lead",
            sections.Section(
                key=key,
                title=title,
                template=template,
                context=context,
                order=order,
                column=column,  # type: ignore[arg-type]
            ),
        )


register()
