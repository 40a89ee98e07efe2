"""Sign-in, password reset and API token forms."""

from __future__ import annotations

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation

from .models import User


class NoColon:
    """Labels without Django's trailing colon (Pico puts labels above inputs)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class LoginForm(NoColon, auth_forms.AuthenticationForm):
    """Email + password. The inputs keep Django's names (``username``, ``password``)."""

    username = auth_forms.UsernameField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(
            attrs={"autofocus": True, "autocomplete": "email", "autocapitalize": "none"}
        ),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": (
            "That email and password don't match an account. Check them and try again."
        ),
        "inactive": "This account is disabled. Ask a workspace admin for help.",
    }

    def clean_username(self) -> str:
        # Addresses are stored lower-case; people type them any way.
        return (self.cleaned_data.get("username") or "").strip().lower()


class PasswordResetForm(NoColon, auth_forms.PasswordResetForm):
    email = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def get_users(self, email):
        """Active users with this address, including those who never set a password (created
        from the command line or by an admin): a reset link is how they choose one."""
        return (
            u
            for u in User._default_manager.filter(email__iexact=email, is_active=True)
            if u.email.lower() == email.lower()
        )


PASSWORD_HELP = "At least 8 characters; not a common, all-numeric or name-like password."  # noqa: S105


class SetPasswordForm(NoColon, auth_forms.SetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = PASSWORD_HELP
        self.fields["new_password2"].label = "New password again"
        self.fields["new_password2"].help_text = ""


class TokenCreateForm(NoColon, forms.Form):
    name = forms.CharField(
        label="Token name",
        max_length=100,
        help_text="What the token is for, e.g. “Zapier” or “nightly export”.",
        widget=forms.TextInput(attrs={"placeholder": "e.g. Zapier", "autocomplete": "off"}),
    )


class NewAccountForm(NoColon, forms.Form):
    """An invitee without an account picks their name and password."""

    full_name = forms.CharField(
        label="Your name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=PASSWORD_HELP,
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords don't match.")
        elif p1:
            probe = User(email=self.email, full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(p1, probe)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data
