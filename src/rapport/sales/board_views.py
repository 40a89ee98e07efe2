"""The deals board (a kanban per pipeline) and the deals table with inline editing.

The board page renders the pipeline's columns with their totals only; each column's cards come
from ``board_column`` (htmx, on load and "load more"), so the first render costs the same at
ten deals or a hundred thousand. Moves go through ``board_move`` (SortableJS drop, or the
keyboard/phone "Move to…" select), which answers JSON to board.js: the updated card and every
column's header, or the small form asking for the fields the stage requires. Without
JavaScript the same forms post and redirect. Every write is a ``sales.services`` call.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.core.actors import Actor
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed, VersionConflict
from rapport.core.pagination import Page
from rapport.core.policy import can_write, is_admin, require_admin, require_write
from rapport.core.validation import uuid_or_none
from rapport.tenancy.selectors import member_choices
from rapport.ui.views import workspace_required

from . import board as board_reads
from . import selectors, services
from .deal_table_columns import EDITABLE, sort_choices, table_columns
from .filters import DEAL_OBJECT_TYPE, DealFilters
from .models import Deal, DealStatus, Pipeline, Stage, StageType

# The query parameters the board and the table share (and carry to columns and moves).
FILTER_KEYS = ("q", "owner", "close_after", "close_before", "tag", "view")
TABLE_KEYS = (*FILTER_KEYS, "pipeline", "status", "sort")
TABLE_PAGE = 50
FILTER_LABELS = {
    "q": "Search",
    "owner": "Owner",
    "close_after": "Closing from",
    "close_before": "Closing until",
    "tag": "Tag",
    "view": "Saved view",
    "pipeline": "Pipeline",
    "status": "Status",
    "sort": "Sort",
    "cursor": "Page",
}
TABLE_SORTS = (
    ("-created_at", "Newest first"),
    ("created_at", "Oldest first"),
    ("close_date", "Close date (soonest)"),
    ("-close_date", "Close date (latest)"),
    ("-amount", "Amount (largest)"),
    ("amount", "Amount (smallest)"),
    ("name", "Name (A–Z)"),
    ("-name", "Name (Z–A)"),
    ("-updated_at", "Recently updated"),
)


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _initials(user) -> str:
    if user is None:
        return ""
    name = (getattr(user, "full_name", "") or "").strip()
    if name:
        parts = name.split()
        return (parts[0][0] + (parts[-1][0] if len(parts) > 1 else "")).upper()
    return (getattr(user, "email", "") or "?")[:1].upper()


def _owner_name(user) -> str:
    if user is None:
        return ""
    return (getattr(user, "full_name", "") or "").strip() or getattr(user, "email", "")


# --- filters ----------------------------------------------------------------------------------


def _inputs(data, keys=FILTER_KEYS) -> dict[str, str]:
    return {k: str(data.get(k, "")).strip() for k in keys if str(data.get(k, "")).strip()}


def _parse_filters(actor: Actor, data, keys=FILTER_KEYS) -> tuple[DealFilters, list[str]]:
    """The filters typed (a bad value is reported and the list shown unfiltered)."""
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for key, value in _inputs(data, keys).items():
        query[key] = value
    try:
        filters = DealFilters.from_querydict(query)
        filters.saved_view(actor)  # an unknown view is a 404, like any other record
    except ValidationFailed as exc:
        errors = [f"{FILTER_LABELS.get(e.field, e.field)}: {e.message}" for e in exc.errors]
        return DealFilters.model_validate({}), errors
    return filters, []


def _filter_context(request: HttpRequest, actor: Actor, filters: DealFilters, keys=FILTER_KEYS):
    from rapport.customization.selectors import saved_views

    inputs = _inputs(request.GET, keys)
    views = list(
        saved_views(actor)
        .filter(object_type=DEAL_OBJECT_TYPE)
        .only("id", "name", "shared", "object_type")
        .order_by("name", "id")[:50]
    )
    return {
        "filter_inputs": inputs,
        "filter_query": urlencode({k: v for k, v in inputs.items() if k in FILTER_KEYS}),
        "filtered": any(k in inputs for k in FILTER_KEYS if k != "view"),
        "members": member_choices(workspace=actor.workspace),
        "saved_views": views,
        "saved_view": filters.saved_view(actor),
        "me": str(actor.user_id or ""),
    }


# --- the board --------------------------------------------------------------------------------


def _stage_options(pipeline: Pipeline) -> list[Stage]:
    return sorted(pipeline.stages.all(), key=lambda s: (s.position, s.name))


def _board_page(request: HttpRequest, pipelines: list[Pipeline], pipeline: Pipeline):
    actor = _actor(request)
    filters, errors = _parse_filters(actor, request.GET)
    board = board_reads.board(actor, pipeline, filters)
    context = {
        "nav": "deals",
        "board": board,
        "pipeline": pipeline,
        "pipelines": pipelines,
        "filter_errors": errors,
        "can_write": can_write(actor),
        "stages": _stage_options(pipeline),
        **_filter_context(request, actor, filters),
    }
    return render(request, "sales/board/board.html", context, status=422 if errors else 200)


@workspace_required
@require_GET
def board_home(request: HttpRequest) -> HttpResponse:
    """``/deals/``: the board of ``?pipeline=`` or of the first pipeline; with no pipeline yet,
    an empty state (admins can create the standard one in a click)."""
    actor = _actor(request)
    pipelines = selectors.pipeline_list(actor=actor)
    if not pipelines:
        return render(
            request,
            "sales/board/empty.html",
            {"nav": "deals", "is_admin": is_admin(actor)},
        )
    wanted = uuid_or_none(request.GET.get("pipeline"))
    pipeline = next((p for p in pipelines if p.pk == wanted), pipelines[0])
    return _board_page(request, pipelines, pipeline)


@workspace_required
@require_GET
def board_pipeline(request: HttpRequest, pipeline_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    pipelines = selectors.pipeline_list(actor=actor)
    pipeline = next((p for p in pipelines if p.pk == pipeline_id), None)
    if pipeline is None:
        raise NotFound("No such pipeline.")
    return _board_page(request, pipelines, pipeline)


@workspace_required
@require_POST
def board_create_default(request: HttpRequest) -> HttpResponse:
    """The empty state's button: the standard pipeline (admins only)."""
    actor = _actor(request)
    require_admin(actor)
    if Pipeline.objects.visible_to(actor).exists():
        return redirect("sales:board")
    pipeline = services.pipeline_create_default(actor=actor)
    messages.success(request, f"Created the pipeline “{pipeline.name}”.")
    return redirect("sales:board_pipeline", pipeline.pk)


def _decorate(deals) -> None:
    for deal in deals:
        deal.owner_initials = _initials(deal.owner)  # type: ignore[attr-defined]
        deal.owner_name = _owner_name(deal.owner)  # type: ignore[attr-defined]


@workspace_required
@require_GET
def board_column(request: HttpRequest, stage_id: uuid.UUID) -> HttpResponse:
    """One page of a column's cards (htmx): the cards and a "load more" for the next page."""
    actor = _actor(request)
    stage = selectors.stage_get(actor=actor, stage_id=stage_id)
    filters, _ = _parse_filters(actor, request.GET)
    stages = list(Stage.objects.filter(pipeline_id=stage.pipeline_id).order_by("position", "name"))
    cursor = request.GET.get("cursor") or None
    try:
        page = board_reads.column_page(actor, stage, filters, cursor=cursor)
    except ValidationFailed:  # an expired or crafted cursor: start again from the top
        page = Page(rows=[], next_cursor=None)
    _decorate(page.rows)
    query = _inputs(request.GET)
    more_url = ""
    if page.next_cursor:
        more_url = (
            reverse("sales:board_column", args=[stage.pk])
            + "?"
            + urlencode({**query, "cursor": page.next_cursor})
        )
    return render(
        request,
        "sales/board/column.html",
        {
            "deals": page.rows,
            "stage": stage,
            "stages": stages,
            "more_url": more_url,
            "first": not cursor,
            "can_write": can_write(actor),
            "filter_query": urlencode(query),
        },
    )


# --- moving a deal ----------------------------------------------------------------------------


def _move_fields(stage: Stage, missing: set[str]) -> set[str]:
    """The inputs the move form asks for: the missing required fields (a lost reason comes
    with its note)."""
    wanted = set(missing)
    if "lost_reason" in wanted or ("lost_note" in wanted and stage.type == StageType.LOST):
        wanted |= {"lost_reason", "lost_note"}
    return wanted


def _move_form(actor: Actor, deal: Deal, wanted: set[str], data=None):
    from .forms import DealForm

    people = []
    if "people" in wanted:
        people = [
            (str(dp.person_id), dp.person.full_name, dp.role)
            for dp in deal.deal_people.select_related("person")
            if dp.person.deleted_at is None
        ]
    initial = DealForm.initial_for(deal, people)
    return DealForm(data, actor=actor, partial=False, initial=initial, only=wanted)


def _board_payload(request: HttpRequest, actor: Actor, deal: Deal, filter_data) -> dict:
    """What board.js needs after a move: the card and every column's header."""
    pipeline = selectors.pipeline_get(actor=actor, pipeline_id=deal.pipeline_id)
    filters, _ = _parse_filters(actor, filter_data)
    board = board_reads.board(actor, pipeline, filters)
    card = (
        selectors.deals(actor)
        .filter(pk=deal.pk)
        .select_related("owner", "company")
        .only(*board_reads.CARD_FIELDS)
        .first()
    )
    stages = _stage_options(pipeline)
    columns = {}
    for column in board.columns:
        columns[str(column.stage.pk)] = render_to_string(
            "sales/board/column_head.html", {"column": column, "board": board}, request=request
        )
    card_html = ""
    if card is not None:
        card.rotting = board_reads.rotting_days(card, _stage_of(stages, card))  # type: ignore[attr-defined]
        _decorate([card])
        card_html = render_to_string(
            "sales/board/card.html",
            {
                "deal": card,
                "stages": stages,
                "can_write": can_write(actor),
                "filter_query": filter_data.urlencode() if filter_data else "",
            },
            request=request,
        )
    return {"ok": True, "stage": str(deal.stage_id), "card": card_html, "columns": columns}


def _stage_of(stages: list[Stage], deal: Deal) -> Stage:
    return next(s for s in stages if s.pk == deal.stage_id)


def _refused(request: HttpRequest, message: str, status: int, back: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"ok": False, "error": message}, status=status)
    messages.error(request, message)
    return redirect(back)


@workspace_required
@require_POST
def board_move(request: HttpRequest, deal_id: uuid.UUID) -> HttpResponse:
    """POST ``stage`` (``version``, and the board's filters as ``filters``): moves the deal.

    A stage whose required fields the deal lacks answers (422) a small form asking for just
    those; posting it with ``filling=1`` fills them and moves in one step. A deal the actor
    may not see is 404; a read-only role 403; a stale version 409."""
    actor = _actor(request)
    deal = selectors.deal_get(actor=actor, deal_id=deal_id)  # 404 before anything else
    filter_data = _filter_querydict(request.POST.get("filters", ""))
    back = reverse("sales:board_pipeline", args=[deal.pipeline_id])
    if filter_data:
        back += "?" + filter_data.urlencode()
    try:
        require_write(actor)
    except PermissionDenied as exc:
        return _refused(request, exc.detail, 403, back)
    stage = (
        Stage.objects.in_workspace(actor.workspace)
        .filter(pk=uuid_or_none(request.POST.get("stage")))
        .first()
    )
    if stage is None:
        return _refused(request, "Pick the stage to move the deal to.", 422, back)
    version = _int(request.POST.get("version"))
    filling = request.POST.get("filling") == "1"
    form = None
    data: dict = {}
    if filling:
        wanted = set(request.POST.getlist("wanted")) or _move_fields(
            stage, set(stage.required_fields or [])
        )
        form = _move_form(actor, deal, wanted, request.POST)
        if form.is_valid():
            data = form.to_data()
    if form is None or not form.errors:
        try:
            deal = services.deal_move(
                actor=actor,
                deal_id=deal.pk,
                stage=str(stage.pk),
                data=data,
                expected_version=version,
                source="ui",
            )
        except VersionConflict:
            return _refused(
                request,
                f"“{deal.name}” was changed meanwhile: reload the board, then move it again.",
                409,
                back,
            )
        except ValidationFailed as exc:
            required = set(stage.required_fields or [])
            missing = {e.field for e in exc.errors if e.field in required}
            if not missing and form is None:
                return _refused(request, exc.detail, 422, back)
            if form is None:  # the first refusal: an empty form for just those fields
                form = _move_form(actor, deal, _move_fields(stage, missing))
            else:
                form.add_domain_error(exc)
        else:
            if _wants_json(request):
                return JsonResponse(_board_payload(request, actor, deal, filter_data))
            messages.success(request, f"Moved “{deal.name}” to {stage.name}.")
            return redirect(back)
    context = {
        "deal": deal,
        "stage": stage,
        "form": form,
        "wanted": sorted(form.only or []),
        "filters": filter_data.urlencode() if filter_data else "",
        "required": [
            services.REQUIRABLE_FIELDS.get(f, f)
            for f in (stage.required_fields or [])
            if f in (form.only or ())
        ],
        "back": back,
        "nav": "deals",
    }
    if _wants_json(request):
        html = render_to_string("sales/board/move_form.html", context, request=request)
        return JsonResponse(
            {"ok": False, "form": html, "error": "More details needed."}, status=422
        )
    return render(request, "sales/board/move_page.html", context, status=422)


def _filter_querydict(raw: str):
    from django.http import QueryDict

    query = QueryDict(raw[:2000], mutable=True)
    for key in list(query):
        if key not in FILTER_KEYS:
            del query[key]
    return query


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- saved views ------------------------------------------------------------------------------


@workspace_required
@require_POST
def deal_view_create(request: HttpRequest) -> HttpResponse:
    """ "Save as view" on the board or the table: the filters shown become a saved view."""
    from django.http import QueryDict

    from rapport.customization import services as view_services
    from rapport.customization.catalogue import conditions_from_query
    from rapport.customization.selectors import view_get

    actor = _actor(request)
    query = QueryDict(request.POST.get("query", "")[:4000])
    back = request.POST.get("back", "")
    if back not in ("board", "table"):
        back = "table"
    items: list = conditions_from_query(query, DEAL_OBJECT_TYPE, actor.workspace)
    base_id = uuid_or_none(query.get("view"))
    if base_id:
        base = view_get(actor=actor, view_id=base_id, object_type=DEAL_OBJECT_TYPE)
        if (base.conditions or {}).get("items"):
            items = [base.conditions, *items]
    data = {
        "object_type": DEAL_OBJECT_TYPE,
        "name": request.POST.get("name", ""),
        "shared": request.POST.get("shared") == "on",
        "pinned": request.POST.get("pinned") == "on",
        "conditions": {"op": "and", "items": items},
    }
    if query.get("sort"):
        data["sort"] = query["sort"]
    url = reverse("sales:board" if back == "board" else "sales:deal_table")
    pipeline = uuid_or_none(request.POST.get("pipeline")) if back == "board" else None
    try:
        view = view_services.view_create(actor=actor, data=data, source="ui")
    except ValidationFailed as exc:
        messages.error(request, "The view was not saved: " + exc.detail)
        return redirect(url + ("?" + query.urlencode() if query else ""))
    messages.success(request, f"Saved the view “{view.name}”.")
    extra = {"view": str(view.pk)}
    if pipeline:
        extra["pipeline"] = str(pipeline)
    return redirect(url + "?" + urlencode(extra))


# --- the table --------------------------------------------------------------------------------


@workspace_required
@require_GET
def deal_table(request: HttpRequest) -> HttpResponse:
    """The deals as a sortable, keyset-paged table whose cells edit in place."""
    actor = _actor(request)
    filters, errors = _parse_filters(actor, request.GET, TABLE_KEYS)
    saved_view = filters.saved_view(actor)
    sort_value = request.GET.get("sort") or (saved_view.sort if saved_view else "") or ""
    sort_value = sort_value or "-created_at"
    limit = saved_view.page_size if saved_view is not None else TABLE_PAGE
    cursor = request.GET.get("cursor") or None
    notice = ""
    try:
        sort = selectors.parse_deal_sort(sort_value, workspace=actor.workspace)
    except ValidationFailed as exc:
        errors.append(f"Sort: {exc.errors[0].message if exc.errors else exc.detail}")
        sort_value = "-created_at"
        sort = selectors.parse_deal_sort(sort_value, workspace=actor.workspace)
    try:
        page = selectors.deal_list(
            actor=actor, filters=filters, cursor=cursor, limit=min(limit, 200), sort=sort
        )
    except ValidationFailed:
        notice = "That page link is out of date: showing the first page."
        cursor = None
        page = selectors.deal_list(
            actor=actor, filters=filters, cursor=None, limit=min(limit, 200), sort=sort
        )
    _decorate(page.rows)
    inputs = _inputs(request.GET, TABLE_KEYS)
    next_url = ""
    if page.next_cursor:
        next_url = "?" + urlencode({**inputs, "cursor": page.next_cursor})
    pipelines = selectors.pipeline_list(actor=actor)
    columns = table_columns(
        workspace=actor.workspace, saved_view=saved_view, inputs=inputs, sort_token=sort.token
    )
    context = {
        "nav": "deals",
        "page": page,
        "deals": page.rows,
        "next_url": next_url,
        "first_url": "?" + urlencode(inputs) if inputs else "?",
        "paged": bool(cursor),
        "notice": notice,
        "filter_errors": errors,
        "sort_value": sort.token,
        "sort_options": sort_choices(TABLE_SORTS, columns, sort.token),
        "statuses": DealStatus.choices,
        "columns": columns,
        "pipelines": pipelines,
        "stages_by_pipeline": {p.pk: _stage_options(p) for p in pipelines},
        "can_write": can_write(actor),
        "table_query": urlencode(inputs),
        **_filter_context(request, actor, filters, TABLE_KEYS),
        "filtered": any(k in inputs for k in TABLE_KEYS if k not in ("view", "sort")),
    }
    return render(request, "sales/board/table.html", context, status=422 if errors else 200)


def _cell_context(request: HttpRequest, actor: Actor, deal: Deal, field: str, **extra):
    stages: list[Stage] = []
    members: list = []
    if field == "stage":
        stages = list(
            Stage.objects.filter(pipeline_id=deal.pipeline_id).order_by("position", "name")
        )
    if field == "owner":
        members = member_choices(workspace=actor.workspace)
    _decorate([deal])
    return {
        "deal": deal,
        "field": field,
        "stages": stages,
        "members": members,
        "can_write": can_write(actor),
        **extra,
    }


@workspace_required
@require_http_methods(["GET", "POST"])
def deal_table_cell(request: HttpRequest, deal_id: uuid.UUID, field: str) -> HttpResponse:
    """One editable cell of the table: GET shows it (``?edit=1``: its input), POST saves it
    through ``services.deal_update`` with the version the input was opened at; an error is
    shown in the cell (422, or 409 when someone changed the deal meanwhile)."""
    actor = _actor(request)
    if field not in EDITABLE:
        raise NotFound("No such column.")
    deal = selectors.deal_get(actor=actor, deal_id=deal_id)
    if request.method == "GET":
        editing = request.GET.get("edit") == "1" and can_write(actor)
        return render(
            request,
            "sales/board/cell.html",
            _cell_context(request, actor, deal, field, editing=editing),
        )
    require_write(actor)
    post = request.POST
    data: dict[str, Any]
    if field == "amount":
        amount = post.get("amount", "").strip()
        value = {"amount": amount, "currency": post.get("currency", "").strip().upper()}
        data = {"amount": value if amount else None}
    elif field in ("close_date", "owner"):
        data = {field: post.get(field, "").strip() or None}
    else:
        data = {field: post.get(field, "")}
    error, status = "", 200
    try:
        deal = services.deal_update(
            actor=actor,
            deal_id=deal.pk,
            data=data,
            expected_version=_int(post.get("version")),
            source="ui",
        )
    except VersionConflict:
        error, status = "Someone changed this deal meanwhile: reload the table.", 409
        deal = selectors.deal_get(actor=actor, deal_id=deal.pk)
    except ValidationFailed as exc:
        error, status = exc.detail, 422
    else:
        deal = selectors.deal_get(actor=actor, deal_id=deal.pk)
    context = _cell_context(request, actor, deal, field, editing=bool(error), error=error)
    if error and field == "stage":
        stage_id = uuid_or_none(post.get("stage"))
        if stage_id:
            context["move_url"] = (
                reverse("sales:deal_move", args=[deal.pk]) + "?" + urlencode({"stage": stage_id})
            )
        context["value"] = str(stage_id or "")
    elif error:
        context["value"] = post.get(field, "")
        context["currency_value"] = post.get("currency", "")
    return render(request, "sales/board/cell.html", context, status=status)


urlpatterns = [
    path("deals/", board_home, name="board"),
    path("deals/standard-pipeline/", board_create_default, name="board_create_default"),
    path("deals/board/<uuid:pipeline_id>/", board_pipeline, name="board_pipeline"),
    path("deals/column/<uuid:stage_id>/", board_column, name="board_column"),
    path("deals/<uuid:deal_id>/board-move/", board_move, name="board_move"),
    path("deals/table/", deal_table, name="deal_table"),
    path("deals/table/<uuid:deal_id>/<str:field>/", deal_table_cell, name="deal_table_cell"),
    path("deals/views/new/", deal_view_create, name="deal_view_create"),
]
