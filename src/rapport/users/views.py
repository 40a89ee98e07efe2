"""Sign-in, sign-out, password reset (Django's auth views with Rapport's templates) and the
API tokens tab of Settings."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from rapport.audit import events
from rapport.core.errors import ValidationFailed
from rapport.core.policy import is_admin
from rapport.tenancy.views import actor_of, apply_errors
from rapport.ui.views import workspace_required

from . import selectors, services
from .forms import LoginForm, PasswordResetForm, SetPasswordForm, TokenCreateForm
from .signals import record_user_event


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): a link cannot sign anyone out."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/rapport_password_reset_email.txt"
    subject_template_name = "registration/rapport_password_reset_subject.txt"
    form_class = PasswordResetForm
    success_url = reverse_lazy("users:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"

    def get_context_data(self, **kwargs):
        hours = max(1, settings.PASSWORD_RESET_TIMEOUT // 3600)
        lifetime = f"{hours // 24} days" if hours >= 48 else f"{hours} hours"
        return {**super().get_context_data(**kwargs), "link_lifetime": lifetime}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    form_class = SetPasswordForm
    success_url = reverse_lazy("users:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        record_user_event(self.request, form.user, events.USER_PASSWORD_RESET)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"


# --- Settings → API tokens -------------------------------------------------------------------


def _tokens_page(
    request: HttpRequest,
    *,
    form: TokenCreateForm | None = None,
    created=None,
    raw_token: str = "",
    status: int = 200,
) -> HttpResponse:
    actor = actor_of(request)
    context = {
        "nav": "settings",
        "tab": "tokens",
        "is_admin": is_admin(actor),
        "form": form or TokenCreateForm(),
        "tokens": selectors.token_list(actor=actor) if is_admin(actor) else [],
        "created": created,
        "raw_token": raw_token,
    }
    if not context["is_admin"]:
        status = 403
    return render(request, "users/tokens.html", context, status=status)


@require_http_methods(["GET", "POST"])
@workspace_required
def tokens(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _tokens_page(request)
    form = TokenCreateForm(request.POST)
    if form.is_valid():
        try:
            token, raw = services.token_create(
                actor=actor_of(request), name=form.cleaned_data["name"]
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            # The only time the secret exists in clear: shown in this response, stored nowhere.
            response = _tokens_page(request, created=token, raw_token=raw, status=201)
            response["Cache-Control"] = "no-store"
            return response
    return _tokens_page(request, form=form, status=422)


@require_POST
@workspace_required
def token_revoke(request: HttpRequest, token_id: uuid.UUID) -> HttpResponse:
    token = services.token_revoke(actor=actor_of(request), token_id=token_id)
    messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("tenancy:tokens")
