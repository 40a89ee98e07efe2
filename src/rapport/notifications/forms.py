"""The email preference form (the service validates again: one judge of what is valid)."""

from __future__ import annotations

from django import forms

from rapport.users.forms import NoColon

from .models import EmailMode

HOUR_CHOICES = [(str(h), f"{h:02d}:00") for h in range(24)]


class PreferenceForm(NoColon, forms.Form):
    email_mode = forms.ChoiceField(
        label="Email me about mentions, assignments and reminders",
        choices=EmailMode.choices,
        widget=forms.RadioSelect,
    )
    digest_hour = forms.TypedChoiceField(
        label="Send the daily digest at",
        choices=HOUR_CHOICES,
        coerce=int,
    )
