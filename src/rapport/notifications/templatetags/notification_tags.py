"""``{% notification_bell %}``: the top bar's bell with the unread count (one cheap query)."""

from __future__ import annotations

from django import template

from .. import selectors

register = template.Library()


def bell_context(actor) -> dict:
    count = selectors.unread_count(actor=actor) if actor is not None else 0
    return {"count": count, "capped": count >= selectors.COUNT_CAP}


@register.inclusion_tag("notifications/_bell.html", takes_context=True)
def notification_bell(context) -> dict:
    return bell_context(context.get("actor"))
