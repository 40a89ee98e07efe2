"""Lead pages (list, the lead's page with its timeline, history, new, edit, delete, convert,
the deleted leads with restore) and the public web form endpoint ``/f/<key>/`` any website can
post to.

Views parse the request and call ``lead_selectors`` (reads) or ``lead_services`` (writes).
The lead's page is built from sections (``lead_sections``) like the person and deal pages.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.html import escape, format_html
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.core.actors import Actor
from rapport.core.errors import Duplicate, FieldError, ValidationFailed, VersionConflict
from rapport.core.policy import can_delete, can_write, is_admin, require_write
from rapport.core.problem import problem_response
from rapport.tenancy.selectors import member_choices
from rapport.ui import sections as ui_sections
from rapport.ui.views import form_page, history_for, record_page, workspace_required

from . import lead_sections  # noqa: F401  (registers the sections of the lead page)
from . import lead_selectors as selectors
from . import lead_services as services
from .lead_forms import LEAD_MODEL_LABEL, LeadEditForm
from .lead_models import Lead, LeadForm, LeadStatus

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


FIELD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "company_name": "Company",
    "title": "Job title",
    "country": "Country",
}
FORM_ERROR_TITLES = {
    400: "Malformed submission",
    404: "Not found",
    413: "Submission too large",
    422: "Invalid input",
    429: "Too many requests",
}


def _wants_html(request: HttpRequest) -> bool:
    """A browser posting the form itself (a navigation) reads a page; a script (fetch,
    XMLHttpRequest, curl) reads problem+json. Without an Accept header: JSON."""
    mode = request.headers.get("Sec-Fetch-Mode", "")
    if (mode and mode != "navigate") or request.headers.get("X-Requested-With"):
        return False
    if "text/html" not in request.headers.get("Accept", ""):
        return False
    preferred = request.get_preferred_type(
        ["application/problem+json", "application/json", "text/html"]
    )
    return preferred == "text/html"


def _back_url(request: HttpRequest) -> str:
    """The page the form was on (the website's), when the browser says so."""
    referer = request.headers.get("Referer", "")
    return referer if referer.startswith(("https://", "http://")) else ""


def _form_error(
    request: HttpRequest, status: int, detail: str, errors: list[FieldError] | None = None
) -> HttpResponse:
    """RFC 9457 problem+json for scripts (``errors`` with field paths, like the API); a short
    page listing the errors, with a link back to the form, for a browser."""
    title = FORM_ERROR_TITLES.get(status, "Error")
    errors = errors or []
    if _wants_html(request):
        response = render(
            request,
            "sales/leads/web_form_error.html",
            {
                "title": title,
                "detail": detail,
                "errors": [
                    (FIELD_LABELS.get(e.field, e.field.replace("_", " ").capitalize()), e.message)
                    for e in errors
                ],
                "back_url": _back_url(request),
                "rate_limited": status == 429,
            },
            status=status,
        )
    else:
        response = problem_response(status, title, detail, errors)
    patch_vary_headers(response, ["Accept"])
    if status == 429:
        response["Retry-After"] = "60"
    return response


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
        return _form_error(request, 404, "No such form.")
    if _rate_limited(request, form_key):
        return _form_error(request, 429, "Too many submissions; try again in a minute.")
    try:
        data = request.POST
    except TooManyFieldsSent:  # Django's own cap (1,000) stops 10,000 fields before we count
        return _form_error(request, 400, f"Send at most {MAX_FORM_FIELDS} fields.")
    except RequestDataTooBig:
        return _form_error(request, 413, "The submission is too large.")
    if len(data) > MAX_FORM_FIELDS:
        return _form_error(request, 400, f"Send at most {MAX_FORM_FIELDS} fields.")
    for name, values in data.lists():
        for value in values:
            if len(value.encode()) > MAX_VALUE_BYTES:
                message = f"Longer than {MAX_VALUE_BYTES // 1024} KB."
                return _form_error(
                    request,
                    400,
                    f"The field {name[:50]} is longer than {MAX_VALUE_BYTES // 1024} KB.",
                    [FieldError(name[:50], message)],
                )
    if data.get(HONEYPOT):
        # Looks accepted to the bot; nothing is stored.
        return _form_done(form)
    if not data.get("email", "").strip():
        return _form_error(
            request,
            422,
            "Give your email address.",
            [FieldError("email", "Give your email address.")],
        )
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
        return _form_error(request, 422, exc.detail, exc.errors)
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


def _lead_page(request: HttpRequest, lead_id: uuid.UUID, *, tab: str) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    lead = selectors.lead_get(actor=actor, lead_id=lead_id, for_display=True)
    history, sections = None, None
    if tab == "history":
        history = history_for(
            request,
            lead,
            labels={**LeadEditForm.history_labels(), **_custom_labels(actor)},
            resolvers={"owner_id": lambda ids: dict(member_choices(workspace=actor.workspace))},
        )
    else:  # status, facts, score, tasks, files, the quick-add box and the timeline
        sections = ui_sections.render(request, actor, "lead", lead)
    return record_page(
        request,
        template="sales/leads/detail.html",
        tab=tab,
        obj=lead,
        lead=lead,
        history=history,
        sections=sections,
        details_template="contacts/partials/record_sections.html",
        details_url=reverse("sales:lead_detail", args=[lead.pk]),
        history_url=reverse("sales:lead_history", args=[lead.pk]),
        can_write=can_write(actor),
        can_delete=can_write(actor) and can_delete(actor, lead),
        nav="leads",
    )


def _custom_labels(actor) -> dict[str, str]:
    from rapport.customization.selectors import fields_for

    return {f"custom.{f.key}": f.label for f in fields_for(actor.workspace, LEAD_MODEL_LABEL)}


@workspace_required
@require_GET
def lead_detail(request: HttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    return _lead_page(request, lead_id, tab="details")


@workspace_required
@require_GET
def lead_history(request: HttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    return _lead_page(request, lead_id, tab="history")


@workspace_required
def lead_edit(request: HttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    """Every field of the lead, through ``lead_update`` with the version read with the form.
    A converted lead is read-only: the page says so and offers no form."""
    actor = request.actor  # type: ignore[attr-defined]
    lead = selectors.lead_get(actor=actor, lead_id=lead_id)
    require_write(actor)
    context = {"lead": lead, "obj": lead, "nav": "leads"}
    if lead.converted_at is not None:
        status = 409 if request.method == "POST" else 200
        return render(request, "sales/leads/edit.html", context, status=status)
    form = LeadEditForm(
        request.POST or None, actor=actor, partial=True, initial=LeadEditForm.initial_for(lead)
    )
    return form_page(
        request,
        form=form,
        save=lambda data: services.lead_update(
            actor=actor,
            lead_id=lead.pk,
            data=data,
            expected_version=form.expected_version,
            source="ui",
        ),
        template="sales/leads/edit.html",
        success=lambda updated: reverse("sales:lead_detail", args=[updated.pk]),
        message=lambda updated: f"Saved {updated}.",
        cancel_url=reverse("sales:lead_detail", args=[lead.pk]),
        **context,
    )


@workspace_required
def lead_create(request: HttpRequest) -> HttpResponse:
    """The edit form's fields, through ``lead_create``. Without a chosen owner the workspace's
    assignment rules route the lead (else it is the creator's)."""
    actor = request.actor  # type: ignore[attr-defined]
    require_write(actor)
    form = LeadEditForm(request.POST or None, actor=actor, initial={"status": LeadStatus.NEW})
    form.fields["owner"].help_text = "Left empty, the assignment rules pick one (else you)."

    def save(data: dict) -> Lead:
        if not data.get("owner"):
            data.pop("owner", None)  # "no owner" means "let the rules decide"
        return services.lead_create(actor=actor, data=data, source="ui")

    return form_page(
        request,
        form=form,
        save=save,
        template="sales/leads/edit.html",
        success=lambda lead: reverse("sales:lead_detail", args=[lead.pk]),
        message=lambda lead: f"Added the lead {lead}.",
        cancel_url=reverse("sales:lead_list"),
        nav="leads",
    )


def _version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


@workspace_required
@require_POST
def lead_delete(request: HttpRequest, lead_id: uuid.UUID) -> HttpResponse:
    """Moves the lead to the deleted leads (converted ones too: the person, company and deal
    it became stay as they are)."""
    actor = request.actor  # type: ignore[attr-defined]
    lead = selectors.lead_get(actor=actor, lead_id=lead_id)
    try:
        services.lead_delete(
            actor=actor, lead_id=lead.pk, expected_version=_version(request), source="ui"
        )
    except VersionConflict:
        messages.error(request, f"{lead} was changed since you opened the page: check, then retry.")
        return redirect("sales:lead_detail", lead.pk)
    messages.success(
        request,
        format_html(
            'Deleted the lead {}. It is in the <a href="{}">deleted leads</a>.',
            str(lead),
            reverse("sales:lead_trash"),
        ),
    )
    return redirect("sales:lead_list")


def _trash_url(q: str) -> str:
    return reverse("sales:lead_trash") + ("?" + urlencode({"q": q}) if q else "")


@workspace_required
@require_GET
def lead_trash(request: HttpRequest) -> HttpResponse:
    """Deleted leads, newest deletion first, with who deleted them, when, and Restore for
    those the actor may restore. Like every trash it is 403 for read-only members."""
    actor = request.actor  # type: ignore[attr-defined]
    require_write(actor)
    q = request.GET.get("q", "").strip()[:100]
    cursor = request.GET.get("cursor") or None
    notice = ""
    try:
        page = selectors.deleted_leads(actor=actor, q=q, cursor=cursor, limit=PAGE_SIZE)
    except ValidationFailed:
        notice = "That page link is out of date; showing the latest deletions."
        cursor = None
        page = selectors.deleted_leads(actor=actor, q=q, cursor=None, limit=PAGE_SIZE)
    query = {"q": q} if q else {}
    return render(
        request,
        "sales/leads/trash.html",
        {
            "nav": "leads",
            "rows": [(lead, can_delete(actor, lead)) for lead in page.rows],
            "q": q,
            "notice": notice,
            "paged": bool(cursor),
            "retention_days": actor.workspace.trash_retention_days,
            "first_url": "?" + urlencode(query),
            "next_url": "?" + urlencode({**query, "cursor": page.next_cursor})
            if page.next_cursor
            else "",
        },
    )


@workspace_required
@require_POST
def lead_trash_restore(request: HttpRequest) -> HttpResponse:
    """Restores one deleted lead (``lead``) through ``services.lead_restore``."""
    actor = request.actor  # type: ignore[attr-defined]
    back = _trash_url(request.POST.get("q", "").strip()[:100])
    try:
        lead_id = uuid.UUID(request.POST.get("lead", ""))
    except ValueError:
        messages.error(request, "Nothing to restore: pick a lead first.")
        return redirect(back)
    # Not in this actor's trash (restored, another workspace's, hidden): 404.
    lead = services.lead_restore(actor=actor, lead_id=lead_id, source="ui")
    url = reverse("sales:lead_detail", args=[lead.pk])
    messages.success(request, format_html('Restored <a href="{}">{}</a>.', url, str(lead)))
    return redirect(back)


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
        done = services.lead_convert(
            actor=actor,
            lead_id=lead_id,
            deal=deal,
            expected_version=_version(request),
            source="ui",
        )
    except VersionConflict:
        messages.error(
            request, "The lead was changed since you opened the page: check it, then convert."
        )
        return redirect("sales:lead_detail", lead_id)
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
    version = _version(request)
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


@require_http_methods(["GET", "HEAD", "POST"])
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
    path("leads/trash/", lead_trash, name="lead_trash"),
    path("leads/trash/restore/", lead_trash_restore, name="lead_trash_restore"),
    path("leads/<uuid:lead_id>/", lead_detail, name="lead_detail"),
    path("leads/<uuid:lead_id>/history/", lead_history, name="lead_history"),
    path("leads/<uuid:lead_id>/edit/", lead_edit, name="lead_edit"),
    path("leads/<uuid:lead_id>/delete/", lead_delete, name="lead_delete"),
    path("leads/<uuid:lead_id>/convert/", lead_convert, name="lead_convert"),
    path("leads/<uuid:lead_id>/status/", lead_status, name="lead_status"),
    path("f/<str:form_key>/", web_form_submit, name="lead_web_form"),
]
