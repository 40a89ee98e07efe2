from django import template

from rapport.core.policy import can_delete

register = template.Library()


@register.filter
def deletable_by(attachment, actor) -> bool:
    """``{% if file|deletable_by:actor %}``: whether to offer the delete button."""
    return actor is not None and can_delete(actor, attachment)


@register.filter
def uploader(attachment) -> str:
    """Who attached the file, for the list: a person's name, else the kind of actor."""
    user = attachment.created_by
    if user is not None:
        return getattr(user, "display_name", "") or user.email
    return {"token": "API", "automation": "Automation"}.get(attachment.created_by_kind, "Rapport")
