"""``{% render_section rendered %}``: one registered section of a record page
(``rapport.ui.sections``), its template rendered with the page's context plus its own."""

from __future__ import annotations

from django import template

from rapport.ui.sections import Rendered

register = template.Library()


@register.simple_tag(takes_context=True)
def render_section(context, rendered: Rendered):
    tpl = context.template.engine.get_template(rendered.template)
    with context.push(**rendered.context, section=rendered.section):
        return tpl.render(context)
