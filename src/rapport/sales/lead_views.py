"""Lead pages (list, detail with the score explained, new lead, convert) and the public web
form endpoint ``/f/<key>/`` any website can post to.

Views parse the request and call ``lead_selectors`` (reads) or ``lead_services`` (writes).
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from rapport.core.actors import Actor
from rapport.core.errors import Duplicate, ValidationFailed, VersionConflict
from rapport.core.policy import can_write, is_admin
from rapport.ui.views import workspace_required

from . import lead_selectors as selectors
from . import lead_services as services
from .lead_models import LeadForm, LeadStatus
from .models import Pipeline

PAGE_SIZE = 50

# --- public web forms ----------------------------------------------------------------------------

HONEYPOT = "website_url"  # hidden in the snippet: a person leaves it empty, a bot fills it
FORM_RATE_LIMIT = 10  # submissions per minute per IP and form
MAX_FORM_FIELDS = 50
MAX_VALUE_BYTES = 10 * 1024
LEAD_FORM_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company_name",
    "title",
    "country",
)


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _form_error(message: str, status: int = 400, field: str = "") -> JsonResponse:
    errors = [{"field": field, "message": message}] if field else []
    return JsonResponse({"status": status, "detail": message, "errors": errors}, status=status)


def _rate_limited(request: HttpRequest, form_key: str) -> bool:
    key = f"leadform:{form_key}:{_client_ip(request)}"
    if cache.add(key, 1, timeout=60):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=60)
        return False
    return count > FORM_RATE_LIMIT


@csrf_exempt
@require_POST
def web_form_submit(request: HttpRequest, form_key: str) -> HttpResponse:
    """A lead from a website: honeypot, rate limit, size limits, then ``lead_create``."""
    form = LeadForm.objects.select_related("workspace").filter(key=form_key, active=True).first()
    if form is None:
        return _form_error("No such form.", 404)
    if _rate_limited(request, form_key):
        return _form_error("Too many submissions; try again in a minute.", 429)
    try:
        data = request.POST
    except TooManyFieldsSent:  # Django's own cap (1,000) stops 10,000 fields before we count
        return _form_error(f"Send at most {MAX_FORM_FIELDS} fields.", 400)
    except RequestDataTooBig:
        return _form_error("The submission is too large.", 413)
    if len(data) > MAX_FORM_FIELDS:
        return _form_error(f"Send at most {MAX_FORM_FIELDS} fields.", 400)
    for name, values in data.lists():
        for value in values:
            if len(value.encode()) > MAX_VALUE_BYTES:
                return _form_error(
                    f"The field {name[:50]} is longer than {MAX_VALUE_BYTES // 1024} KB.",
                    400,
                    name[:50],
                )
    if data.get(HONEYPOT):
        # Looks accepted to the bot; nothing is stored.
        return _form_done(form)
    if not data.get("email", "").strip():
        return _form_error("Give your email address.", 400, "email")
    payload: dict = {k: data[k] for k in LEAD_FORM_FIELDS if k in data}
    extra = {k: data[k] for k in form.fields if k in data and k not in LEAD_FORM_FIELDS}
    payload["source"] = f"Web form: {form.name}"[:100]
    if data.get("consent") in ("on", "1", "true", "yes"):
        payload["consent"] = True
        payload["consent_text"] = form.consent_text
    actor = Actor.system(form.workspace, f"web form {form.name}")
    try:
        services.lead_create(
            actor=actor, data=payload, source="web_form", form=form, form_data=extra
        )
    except ValidationFailed as exc:
        first = exc.errors[0] if exc.errors else None
        return _form_error(
            first.message if first else exc.detail, 400, first.field if first else ""
        )
    return _form_done(form)


def _form_done(form: LeadForm) -> HttpResponse:
    if form.redirect_url:
        return redirect(form.redirect_url)
    return HttpResponse("Thank you, we will be in touch.", content_type="text/plain")


def embed_snippet(request: HttpRequest, form: LeadForm) -> str:
    """The HTML a user pastes into their website."""
    action = request.build_absolute_uri(reverse("sales:lead_web_form", args=[form.key]))
    rows = [
        '  <p><label>Email <input type="email" name="email" required></label></p>',
        '  <p><label>First name <input name="first_name"></label></p>',
        '  <p><label>Last name <input name="last_name"></label></p>',
        '  <p><label>Company <input name="company_name"></label></p>',
    ]
    for name in form.fields:
        rows.append(f'  <p><label>{escape(name)} <input name="{escape(name)}"></label></p>')
    if form.consent_text:
        rows.append(
            f'  <p><label><input type="checkbox" name="consent" value="on"> '
            f"{escape(form.consent_text)}</label></p>"
        )
    rows.append(
        f'  <p aria-hidden="true" hidden><input name="{HONEYPOT}" tabindex="-1" '
        'autocomplete="off"></p>'
    )
    rows.append('  <p><button type="submit">Send</button></p>')
    return f'<form method="post" action="{action}">\n' + "\n".join(rows) + "\n</form>"


# --- pages ---------------------------------------------------------------------------------------


class LeadCreateForm(forms.Form):
    first_name = forms.CharField(required=False, max_length=150)
    last_name = forms.CharField(required=False, max_length=150)
    email = forms.CharField(required=False, max_length=254)
    phone = forms.CharField(required=False, max_length=40)
    company_name = forms.CharField(required=False, max_length=200, label="Company")
    title = forms.CharField(required=False, max_length=150)
    country = forms.CharField(required=False, max_length=2, help_text="ISO code, e.g. DE")
    source = forms.CharField(required=False, max_length=100)
    status = forms.ChoiceField(choices=LeadStatus.choices, initial=LeadStatus.NEW)
    disqualified_reason = forms.CharField(required=False, max_length=255)


@workspace_required
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    g = request.GET
    filters = selectors.LeadFilters(
        status=g.get("status") or None,
        owner=g.get("owner") or None,
        source=g.get("source") or None,
        q=g.get("q") or None,
    )
    try:
        page = selectors.lead_list(
            actor=actor, filters=filters, cursor=g.get("cursor") or None, limit=PAGE_SIZE
        )
    except ValidationFailed as exc:
        messages.error(request, exc.detail)
        page = selectors.lead_list(actor=actor, limit=PAGE_SIZE)
    return render(
        request,
        "sales/leads/list.html",
        {
            "page": page,
            "paged": bool(g.get("cursor")),
            "statuses": LeadStatus.choices,
            "filters": filters,
            "can_write": can_write(actor),
        },
    )


@workspace_required
@require_GET
def lead_detail(request: HttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    lead = selectors.lead_get(actor=actor, lead_id=lead_id)
    return render(
        request,
        "sales/leads/detail.html",
        {
            "lead": lead,
            "can_write": can_write(actor),
            "can_convert": can_write(actor)
            and lead.status == LeadStatus.QUALIFIED
            and lead.converted_at is None,
            "has_pipeline": Pipeline.objects.filter(workspace=actor.workspace).exists(),
            "statuses": LeadStatus.choices,
        },
    )


@workspace_required
def lead_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    form = LeadCreateForm(request.POST or None)
    errors: list = []
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v not in ("", None)}
        try:
            lead = services.lead_create(actor=actor, data=data, source="ui")
        except ValidationFailed as exc:
            errors = exc.errors
            for e in exc.errors:
                if e.field in form.fields:
                    form.add_error(e.field, e.message)
                else:
                    form.add_error(None, f"{e.field}: {e.message}")
        else:
            messages.success(request, "Lead created.")
            return redirect("sales:lead_detail", lead.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "sales/leads/form.html", {"form": form, "errors": errors}, status=status)


@workspace_required
@require_POST
def lead_convert(request: HttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    selectors.lead_get(actor=actor, lead_id=lead_id)
    deal = None
    if request.POST.get("create_deal"):
        deal = {"name": request.POST.get("deal_name", "").strip() or None}
        deal = {k: v for k, v in deal.items() if v}
    try:
        done = services.lead_convert(actor=actor, lead_id=lead_id, deal=deal, source="ui")
    except (ValidationFailed, Duplicate) as exc:
        messages.error(request, f"The lead was not converted: {exc.detail}")
        return redirect("sales:lead_detail", lead_id)
    messages.success(request, "Lead converted.")
    return redirect("contacts:person_detail", done.person.pk)


@workspace_required
@require_POST
def lead_status(request: HttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    """Moves a lead through new → working → nurturing → qualified (or disqualified, with a
    reason); the version read with the page guards against overwriting someone's change."""
    actor = request.actor  # type: ignore[attr-defined]
    selectors.lead_get(actor=actor, lead_id=lead_id)
    data = {"status": request.POST.get("status", "")}
    if data["status"] == LeadStatus.DISQUALIFIED:
        data["disqualified_reason"] = request.POST.get("disqualified_reason", "")
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    try:
        lead = services.lead_update(
            actor=actor, lead_id=lead_id, data=data, expected_version=version, source="ui"
        )
    except VersionConflict:
        messages.error(request, "Someone changed this lead meanwhile: check it, then try again.")
    except ValidationFailed as exc:
        messages.error(request, f"The status was not changed: {exc.detail}")
    else:
        messages.success(request, f"The lead is now {lead.get_status_display().lower()}.")
    return redirect("sales:lead_detail", lead_id)


@workspace_required
def lead_form_list(request: HttpRequest) -> HttpResponse:
    """The workspace's web forms with their embed snippets; admins add forms here."""
    actor = request.actor  # type: ignore[attr-defined]
    errors: list = []
    status = 200
    if request.method == "POST":
        try:
            services.lead_form_create(actor=actor, data=request.POST.dict())
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
        else:
            messages.success(request, "Web form created: paste its snippet into your site.")
            return redirect("sales:lead_forms")
    lead_forms = LeadForm.objects.filter(workspace=actor.workspace).order_by("name")
    rows = [(f, embed_snippet(request, f)) for f in lead_forms]
    return render(
        request,
        "sales/leads/forms.html",
        {"rows": rows, "errors": errors, "is_admin": is_admin(actor), "data": request.POST},
        status=status,
    )


urlpatterns = [
    path("leads/", lead_list, name="lead_list"),
    path("leads/new/", lead_create, name="lead_create"),
    path("leads/forms/", lead_form_list, name="lead_forms"),
    path("leads/<uuid:lead_id>/", lead_detail, name="lead_detail"),
    path("leads/<uuid:lead_id>/convert/", lead_convert, name="lead_convert"),
    path("leads/<uuid:lead_id>/status/", lead_status, name="lead_status"),
    path("f/<str:form_key>/", web_form_submit, name="lead_web_form"),
]
