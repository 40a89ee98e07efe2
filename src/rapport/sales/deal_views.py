"""The deal pages: the record page (a Customer 360 of its own: stage path, facts, people, stage
history, timeline, tasks, files), the new/edit form, delete, the field history, the move
to another stage from the stage path (asking for the fields the stage requires) and the
"Deleted deals" page that restores them.

Views parse the request, read through ``Deal.objects.visible_to`` (a deal the actor may not
see is 404, like another workspace's) and write only through ``sales.services``.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from rapport.contacts import selectors as contact_selectors
from rapport.contacts.models import Company, Person
from rapport.core.actors import Actor
from rapport.core.errors import Duplicate, NotFound, ValidationFailed, VersionConflict
from rapport.core.policy import can_delete, can_write, require_write
from rapport.core.validation import uuid_or_none
from rapport.search.selectors import search
from rapport.tenancy.selectors import member_choices
from rapport.ui import sections as ui_sections
from rapport.ui.views import form_page, history_for, record_page, workspace_required

from . import selectors, services
from .forms import DealForm
from .models import Deal, DealPerson, Pipeline, Stage, StageType


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


# --- reads ------------------------------------------------------------------------------------


def deal_get(*, actor: Actor, deal_id, for_display: bool = False) -> Deal:
    """The deal if the actor may see it (workspace, trash, record access), else NotFound."""
    qs = Deal.objects.visible_to(actor).select_related("pipeline", "stage", "company", "owner")
    if for_display:
        qs = qs.select_related("lost_reason", "created_by", "updated_by").prefetch_related(
            "tags",
            Prefetch(
                "deal_people",
                queryset=DealPerson.objects.select_related("person").order_by(
                    "person__last_name", "person__first_name", "person_id"
                ),
            ),
        )
    deal = qs.filter(pk=deal_id).first()
    if deal is None:
        raise NotFound("No such deal.")
    return deal


def _people_initial(deal: Deal) -> list[tuple[str, str, str]]:
    return [
        (str(dp.person_id), dp.person.full_name, dp.role)
        for dp in deal.deal_people.all()
        if dp.person.deleted_at is None
    ]


# --- the record page --------------------------------------------------------------------------


def _labels() -> dict[str, str]:
    labels = DealForm.history_labels()
    labels.update(
        {
            "pipeline": "Pipeline",
            "stage": "Stage",
            "status": "Status",
            "currency": "Currency",
            "people": "People",
            "lost_reason": "Lost reason",
            "external_id": "External id",
        }
    )
    return labels


def _custom_labels(actor: Actor) -> dict[str, str]:
    from rapport.customization.selectors import fields_for

    return {f.param: f.label for f in fields_for(actor.workspace, services.DEAL_MODEL_LABEL)}


def _resolvers(actor: Actor):
    return {
        "company_id": lambda ids: contact_selectors.company_choices(actor=actor, ids=ids),
        "owner_id": lambda ids: dict(member_choices(workspace=actor.workspace)),
        "status": lambda ids: {"open": "Open", "won": "Won", "lost": "Lost"},
    }


def stage_path(deal: Deal) -> list[dict[str, Any]]:
    """Every stage of the deal's pipeline in order, the current one marked (one query)."""
    stages = list(Stage.objects.filter(pipeline_id=deal.pipeline_id).order_by("position"))
    current = next((i for i, s in enumerate(stages) if s.pk == deal.stage_id), -1)
    return [
        {
            "stage": s,
            "current": s.pk == deal.stage_id,
            "done": s.type == StageType.OPEN and current >= 0 and i < current,
        }
        for i, s in enumerate(stages)
    ]


def _deal_page(request: HttpRequest, deal_id: uuid.UUID, *, tab: str) -> HttpResponse:
    actor = _actor(request)
    deal = deal_get(actor=actor, deal_id=deal_id, for_display=True)
    history, sections = None, None
    if tab == "history":
        history = history_for(
            request,
            deal,
            labels={**_labels(), **_custom_labels(actor)},
            resolvers=_resolvers(actor),
        )
    else:
        sections = ui_sections.render(request, actor, "deal", deal)
    writable = can_write(actor)
    return record_page(
        request,
        template="sales/deal/detail.html",
        tab=tab,
        obj=deal,
        deal=deal,
        stages=stage_path(deal),
        history=history,
        sections=sections,
        details_template="contacts/partials/record_sections.html",
        details_url=reverse("sales:deal_detail", args=[deal.pk]),
        history_url=reverse("sales:deal_history", args=[deal.pk]),
        can_write=writable,
        can_delete=writable and can_delete(actor, deal),
        nav="deals",
    )


@workspace_required
@require_GET
def deal_detail(request: HttpRequest, deal_id: uuid.UUID) -> HttpResponse:
    return _deal_page(request, deal_id, tab="details")


@workspace_required
@require_GET
def deal_history(request: HttpRequest, deal_id: uuid.UUID) -> HttpResponse:
    return _deal_page(request, deal_id, tab="history")


# --- new, edit, delete ---------------------------------------------------------------------


def _prefill(request: HttpRequest, actor: Actor) -> tuple[dict[str, Any], str]:
    """``?company=``, ``?person=``, ``?pipeline=``, ``?stage=``: what "Add deal" links carry.
    Answers the form's initial values and where Cancel goes back to."""
    initial: dict[str, Any] = {"owner": str(actor.user_id) if actor.user_id else ""}
    back = reverse("ui:home")
    company_id = uuid_or_none(request.GET.get("company"))
    if company_id:
        company = Company.objects.visible_to(actor).filter(pk=company_id).first()
        if company is not None:
            initial.update(company=str(company.pk), company_name=company.name)
            back = reverse("contacts:company_detail", args=[company.pk])
    person_id = uuid_or_none(request.GET.get("person"))
    if person_id:
        person = (
            Person.objects.visible_to(actor).select_related("company").filter(pk=person_id).first()
        )
        if person is not None:
            initial["people"] = [(str(person.pk), person.full_name, "")]
            back = reverse("contacts:person_detail", args=[person.pk])
            company = person.company
            if "company" not in initial and company is not None and company.deleted_at is None:
                initial.update(company=str(company.pk), company_name=company.name)
    stages = Stage.objects.in_workspace(actor.workspace)
    stage_id = uuid_or_none(request.GET.get("stage"))
    pipeline_id = uuid_or_none(request.GET.get("pipeline"))
    stage = None
    if stage_id:
        stage = stages.filter(pk=stage_id).first()
    elif pipeline_id:
        stage = stages.filter(pipeline_id=pipeline_id, type=StageType.OPEN).order_by("position")
        stage = stage.first()
    if stage is None:
        stage = (
            stages.filter(type=StageType.OPEN)
            .order_by("pipeline__position", "pipeline__name", "position")
            .first()
        )
    if stage is not None:
        initial["stage"] = str(stage.pk)
    initial["currency"] = actor.workspace.default_currency
    return initial, back


@workspace_required
def deal_new(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require_write(actor)
    initial, back = _prefill(request, actor)
    form = DealForm(request.POST or None, actor=actor, initial=initial)
    no_pipeline = not Pipeline.objects.in_workspace(actor.workspace).exists()
    return form_page(
        request,
        form=form,
        save=lambda data: services.deal_create(actor=actor, data=data, source="ui"),
        template="sales/deal/form.html",
        success=lambda deal: reverse("sales:deal_detail", args=[deal.pk]),
        message=lambda deal: f"Added the deal {deal.name}.",
        title="New deal",
        cancel_url=back,
        no_pipeline=no_pipeline,
        nav="deals",
    )


@workspace_required
def deal_edit(request: HttpRequest, deal_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    deal = deal_get(actor=actor, deal_id=deal_id, for_display=True)
    require_write(actor)
    form = DealForm(
        request.POST or None,
        actor=actor,
        partial=True,
        initial=DealForm.initial_for(deal, _people_initial(deal)),
    )
    return form_page(
        request,
        form=form,
        save=lambda data: services.deal_update(
            actor=actor,
            deal_id=deal.pk,
            data=data,
            expected_version=form.expected_version,
            source="ui",
        ),
        template="sales/deal/form.html",
        success=lambda updated: reverse("sales:deal_detail", args=[updated.pk]),
        message=lambda updated: f"Saved the deal {updated.name}.",
        title=f"Edit {deal.name}",
        obj=deal,
        cancel_url=reverse("sales:deal_detail", args=[deal.pk]),
        nav="deals",
    )


@workspace_required
@require_POST
def deal_delete(request: HttpRequest, deal_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    deal = deal_get(actor=actor, deal_id=deal_id)
    try:
        services.deal_delete(
            actor=actor, deal_id=deal.pk, expected_version=_version(request), source="ui"
        )
    except VersionConflict:
        messages.error(
            request, f"{deal.name} was changed since you opened the page: check, then retry."
        )
        return redirect("sales:deal_detail", deal.pk)
    messages.success(
        request,
        format_html(
            'Deleted the deal {}. It is in the <a href="{}">deleted deals</a>.',
            deal.name,
            reverse("sales:deal_trash"),
        ),
    )
    if deal.company_id and deal.company and deal.company.deleted_at is None:
        return redirect("contacts:company_detail", deal.company_id)
    return redirect("ui:home")


# --- moving along the stage path -----------------------------------------------------------


@workspace_required
def deal_move(request: HttpRequest, deal_id: uuid.UUID) -> HttpResponse:
    """POST ``stage`` (and ``version``): moves the deal. When the stage requires fields the
    deal lacks, answers a small form with just those fields; submitting it fills them and
    moves in one step. GET ``?stage=`` shows that form directly."""
    actor = _actor(request)
    deal = deal_get(actor=actor, deal_id=deal_id, for_display=True)
    require_write(actor)
    source = request.POST if request.method == "POST" else request.GET
    stage = (
        Stage.objects.in_workspace(actor.workspace)
        .select_related("pipeline")
        .filter(pk=uuid_or_none(source.get("stage")))
        .first()
    )
    back = reverse("sales:deal_detail", args=[deal.pk])
    if stage is None:
        messages.error(request, "Pick the stage to move the deal to.")
        return redirect(back)
    wanted = set(stage.required_fields or [])
    initial = DealForm.initial_for(deal, _people_initial(deal))
    filling = request.method == "POST" and request.POST.get("filling") == "1"
    form = DealForm(
        request.POST if filling else None,
        actor=actor,
        partial=False,
        initial=initial,
        only=wanted,
    )
    refusal = ""
    if request.method == "POST" and (not filling or form.is_valid()):
        data = form.to_data() if filling else {}
        try:
            services.deal_move(
                actor=actor,
                deal_id=deal.pk,
                stage=str(stage.pk),
                data=data,
                expected_version=_version(request),
                source="ui",
            )
        except VersionConflict:
            messages.error(
                request, f"{deal.name} was changed meanwhile: check the deal, then move it again."
            )
            return redirect(back)
        except ValidationFailed as exc:
            if filling:
                form.add_domain_error(exc)
            else:  # the stage asks for fields: show just those, prefilled
                refusal = exc.detail
        else:
            messages.success(request, f"Moved {deal.name} to {stage.name}.")
            return redirect(back)
    return render(
        request,
        "sales/deal/move.html",
        {
            "deal": deal,
            "stage": stage,
            "form": form,
            "required": [services.REQUIRABLE_FIELDS.get(f, f) for f in sorted(wanted)],
            "cancel_url": back,
            "refusal": refusal,
            "nav": "deals",
        },
        status=422 if refusal or (form.is_bound and form.errors) else 200,
    )


@workspace_required
@require_GET
def deal_person_autocomplete(request: HttpRequest) -> HttpResponse:
    """Options for a person row of the deal form (``?q=`` or the row input's own value)."""
    q = request.GET.get("q") or next(
        (
            request.GET.get(k, "")
            for k in request.GET
            if k.startswith("person_") and k.endswith("_name")
        ),
        "",
    )
    q = q.strip()
    hits = search(actor=_actor(request), q=q, limit=8, types=["contacts.person"]) if q else []
    return render(request, "sales/deal/person_options.html", {"hits": hits, "q": q})


# --- deleted deals ----------------------------------------------------------------------------

TRASH_PAGE_SIZE = 50


def _trash_url(q: str) -> str:
    return reverse("sales:deal_trash") + ("?" + urlencode({"q": q}) if q else "")


@workspace_required
@require_GET
def deal_trash(request: HttpRequest) -> HttpResponse:
    """Deleted deals, newest deletion first, each with who deleted it, when, and Restore.
    Like the people and companies trash it is for those who can restore (read-only: 403)."""
    actor = _actor(request)
    require_write(actor)
    q = request.GET.get("q", "").strip()[:100]
    cursor = request.GET.get("cursor") or None
    notice = ""
    try:
        page = selectors.deleted_deals(actor=actor, q=q, cursor=cursor, limit=TRASH_PAGE_SIZE)
    except ValidationFailed:
        notice = "That page link is out of date; showing the latest deletions."
        cursor = None
        page = selectors.deleted_deals(actor=actor, q=q, cursor=None, limit=TRASH_PAGE_SIZE)
    query = {"q": q} if q else {}
    return render(
        request,
        "sales/deal/trash.html",
        {
            "nav": "deals",
            # Restoring follows the delete rule: the button shows where it would be allowed.
            "rows": [(deal, can_delete(actor, deal)) for deal in page.rows],
            "retention_days": actor.workspace.trash_retention_days,
            "q": q,
            "notice": notice,
            "paged": bool(cursor),
            "first_url": "?" + urlencode(query),
            "next_url": "?" + urlencode({**query, "cursor": page.next_cursor})
            if page.next_cursor
            else "",
        },
    )


@workspace_required
@require_POST
def deal_trash_restore(request: HttpRequest) -> HttpResponse:
    """Restores one deleted deal (``deal``) through ``services.deal_restore``, the API's path."""
    actor = _actor(request)
    back = _trash_url(request.POST.get("q", "").strip()[:100])
    deal_id = uuid_or_none(request.POST.get("deal"))
    if deal_id is None:
        messages.error(request, "Nothing to restore: pick a deal first.")
        return redirect(back)
    try:  # not in the trash of this actor (restored, another workspace, hidden): 404
        deal = services.deal_restore(actor=actor, deal_id=deal_id, source="ui")
    except Duplicate as exc:
        url = reverse("sales:deal_detail", args=[exc.existing_id])
        messages.error(
            request,
            format_html('Not restored: {} <a href="{}">Open the live deal</a>.', exc.detail, url),
        )
    else:
        url = reverse("sales:deal_detail", args=[deal.pk])
        messages.success(request, format_html('Restored <a href="{}">{}</a>.', url, deal.name))
    return redirect(back)


urlpatterns = [
    path("deals/new/", deal_new, name="deal_new"),
    path("deals/trash/", deal_trash, name="deal_trash"),
    path("deals/trash/restore/", deal_trash_restore, name="deal_trash_restore"),
    path("deals/people-autocomplete/", deal_person_autocomplete, name="deal_person_autocomplete"),
    path("deals/<uuid:deal_id>/", deal_detail, name="deal_detail"),
    path("deals/<uuid:deal_id>/edit/", deal_edit, name="deal_edit"),
    path("deals/<uuid:deal_id>/delete/", deal_delete, name="deal_delete"),
    path("deals/<uuid:deal_id>/history/", deal_history, name="deal_history"),
    path("deals/<uuid:deal_id>/move/", deal_move, name="deal_move"),
]
