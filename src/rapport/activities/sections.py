"""The activities sections of the person and company pages (the Customer 360): the figures
at a glance, the quick-add box and the timeline. Registered from ``ActivitiesConfig.ready``."""

from __future__ import annotations

from rapport.ui import sections

from .timeline_views import quick_add_context, summary_context, timeline_context

for _object_type in ("person", "company"):
    sections.register(
        _object_type,
        sections.Section(
            key="activity_summary",
            title="At a glance",
            template="activities/sections/summary.html",
            context=summary_context,
            order=10,
        ),
    )
    sections.register(
        _object_type,
        sections.Section(
            key="quick_add",
            title="Log an interaction",
            template="activities/sections/quick_add.html",
            context=quick_add_context,
            order=20,
        ),
    )
    sections.register(
        _object_type,
        sections.Section(
            key="timeline",
            title="Timeline",
            template="activities/sections/timeline.html",
            context=timeline_context,
            order=90,
        ),
    )
