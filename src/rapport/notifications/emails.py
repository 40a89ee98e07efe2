"""The mails: one notification, or a day's digest; plain text plus a simple HTML part.

Links are absolute (``settings.SITE_URL``) and go through the notification's "open" page,
which marks it read, switches to its workspace and then follows its relative link.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from .models import Notification

# A digest lists this many; the rest are counted ("and 12 more").
DIGEST_LISTED = 50


def site_url() -> str:
    return str(getattr(settings, "SITE_URL", "") or "http://127.0.0.1:8000").rstrip("/")


def open_url(n: Notification) -> str:
    path = reverse("notifications:open", args=[n.pk])
    return f"{site_url()}{path}?ws={n.workspace_id}"


def preferences_url() -> str:
    return site_url() + reverse("notifications:preferences")


def _subject(workspace_name: str, text: str) -> str:
    # Mail headers refuse line breaks; names and titles are one line already, but be sure.
    return " ".join(f"[{workspace_name}] {text}".split())[:250]


def _send(subject: str, template: str, context: dict, to: str) -> None:
    context = {**context, "preferences_url": preferences_url(), "site_url": site_url()}
    text = render_to_string(f"notifications/email/{template}.txt", context)
    html = render_to_string(f"notifications/email/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        # Tells autoresponders not to answer (RFC 3834).
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    message.send()


def send_notification(n: Notification) -> None:
    context = {"n": n, "workspace": n.workspace, "user": n.recipient, "link": open_url(n)}
    _send(_subject(n.workspace.name, n.title), "notification", context, n.recipient.email)


def send_digest(user, workspace, rows: list[Notification]) -> None:
    listed = [(n, open_url(n)) for n in rows[:DIGEST_LISTED]]
    more = max(0, len(rows) - DIGEST_LISTED)
    count = len(rows)
    noun = "notification" if count == 1 else "notifications"
    context = {
        "workspace": workspace,
        "user": user,
        "listed": listed,
        "more": more,
        "count": count,
        "list_url": site_url() + reverse("notifications:list") + "?unread=1",
    }
    subject = _subject(workspace.name, f"Your daily digest: {count} new {noun}")
    _send(subject, "digest", context, user.email)
