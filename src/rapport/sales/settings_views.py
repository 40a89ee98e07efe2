"""Settings → Pipelines, Lost reasons and Currencies.

Every member sees these pages (read-only); only owners and admins change anything, which the
services enforce (a member's POST answers the 403 page, as the other settings pages do). A
pipeline of another workspace is a 404. Views parse input and call ``sales.services``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.db.models import Count, Max, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from rapport.core.actors import Actor
from rapport.core.errors import (
    DomainError,
    Duplicate,
    FieldError,
    ValidationFailed,
    VersionConflict,
)
from rapport.core.pagination import Sort, keyset_page
from rapport.core.policy import is_admin, require_admin
from rapport.customization.selectors import fields_for
from rapport.tenancy import services as tenancy_services
from rapport.ui.views import workspace_required

from . import selectors, services
from .models import Deal, ExchangeRate, Pipeline, Stage
from .settings_forms import (
    FORECAST_CATEGORIES,
    STAGE_TYPES,
    BaseCurrencyForm,
    ExchangeRateForm,
    LostReasonForm,
    PipelineCreateForm,
    RatesImportForm,
    StageRow,
    next_row_key,
    parse_stage_rows,
    parse_version,
    requirable_choices,
    rows_from_stages,
)

RATES_PER_PAGE = 50


def _actor(request: HttpRequest) -> Actor:
    return request.actor  # type: ignore[attr-defined]


def _ctx(actor: Actor, tab: str, **extra: Any) -> dict[str, Any]:
    return {"nav": "settings", "tab": tab, "is_admin": is_admin(actor), **extra}


def _messages_of(exc: DomainError) -> str:
    return "; ".join(e.message for e in exc.errors) or exc.detail


# --- reads (settings only; the deal pages have their own selectors) ----------------------------


def _pipeline_or_404(actor: Actor, pipeline_id) -> Pipeline:
    pipeline = Pipeline.objects.in_workspace(actor.workspace).filter(pk=pipeline_id).first()
    if pipeline is None:
        raise Http404("No such pipeline.")
    return pipeline


def _deal_counts(actor: Actor, **filters) -> dict:
    """Live deals per stage (one query)."""
    return dict(
        Deal.objects.in_workspace(actor.workspace)
        .filter(deleted_at__isnull=True, **filters)
        .values_list("stage")
        .annotate(n=Count("id"))
        .values_list("stage", "n")
    )


def _all_stages(actor: Actor, *, exclude_pipeline=None) -> list[dict[str, Any]]:
    """Every stage of the workspace grouped by pipeline, for "move the deals to" selects."""
    qs = Stage.objects.in_workspace(actor.workspace).select_related("pipeline")
    if exclude_pipeline is not None:
        qs = qs.exclude(pipeline=exclude_pipeline)
    groups: dict[Any, dict[str, Any]] = {}
    for s in qs.order_by("pipeline__position", "pipeline__name", "position"):
        group = groups.setdefault(s.pipeline_id, {"pipeline": s.pipeline, "stages": []})
        group["stages"].append(s)
    return list(groups.values())


# --- pipelines ---------------------------------------------------------------------------------


def _pipelines_page(
    request: HttpRequest, *, form: PipelineCreateForm | None = None, status: int = 200
) -> HttpResponse:
    actor = _actor(request)
    pipelines = list(
        Pipeline.objects.in_workspace(actor.workspace)
        .annotate(
            n_stages=Count("stages", distinct=True),
            n_deals=Count("deals", filter=Q(deals__deleted_at__isnull=True), distinct=True),
        )
        .order_by("position", "name")
    )
    context = _ctx(
        actor, "pipelines", pipelines=pipelines, form=form or PipelineCreateForm(), status=status
    )
    return render(request, "sales/settings/pipelines.html", context, status=status)


@require_http_methods(["GET", "POST"])
@workspace_required
def pipelines(request: HttpRequest) -> HttpResponse:
    """GET: the list; POST: a new pipeline with the standard stages, opened in the editor."""
    if request.method == "GET":
        return _pipelines_page(request)
    actor = _actor(request)
    require_admin(actor)
    form = PipelineCreateForm(request.POST)
    if form.is_valid():
        stages = [dict(s) for s in services.DEFAULT_STAGES]
        try:
            pipeline = services.pipeline_create(
                actor=actor, data={"name": form.cleaned_data["name"], "stages": stages}, source="ui"
            )
        except (ValidationFailed, Duplicate) as exc:
            for err in exc.errors:
                form.add_error("name" if err.field == "name" else None, err.message)
        else:
            messages.success(
                request, f"Created the pipeline “{pipeline.name}”: adjust its stages below."
            )
            return redirect("sales:settings_pipeline", pipeline.pk)
    return _pipelines_page(request, form=form, status=422)


@require_POST
@workspace_required
def pipeline_standard(request: HttpRequest) -> HttpResponse:
    """Creates the standard pipeline (and the standard lost reasons when there are none)."""
    actor = _actor(request)
    require_admin(actor)
    name = "Sales"
    taken = {
        n.lower()
        for n in Pipeline.objects.in_workspace(actor.workspace).values_list("name", flat=True)
    }
    i = 2
    while name.lower() in taken:
        name, i = f"Sales {i}", i + 1
    pipeline = services.pipeline_create_default(actor=actor, name=name)
    messages.success(request, f"Created the standard pipeline “{pipeline.name}”.")
    return redirect("sales:settings_pipeline", pipeline.pk)


def _editor_page(
    request: HttpRequest,
    pipeline: Pipeline,
    *,
    name: str,
    rows: list[StageRow],
    version: int | None,
    errors: list[str] | None = None,
    name_errors: list[str] | None = None,
    moves_needed: list[dict[str, Any]] | None = None,
    conflict: bool = False,
    status: int = 200,
) -> HttpResponse:
    actor = _actor(request)
    custom = fields_for(actor.workspace, services.DEAL_MODEL_LABEL)
    context = _ctx(
        actor,
        "pipelines",
        pipeline=pipeline,
        name=name,
        rows=rows,
        version=version,
        errors=errors or [],
        name_errors=name_errors or [],
        moves_needed=moves_needed or [],
        move_groups=_all_stages(actor) if moves_needed else [],
        removed_stages=[m["stage"] for m in moves_needed or []],
        blank_row=StageRow(key="__KEY__"),
        conflict=conflict,
        stage_types=STAGE_TYPES,
        forecast_categories=FORECAST_CATEGORIES,
        requirable=requirable_choices(custom),
        next_key=next_row_key(rows),
        max_stages=services.MAX_STAGES,
    )
    return render(request, "sales/settings/pipeline.html", context, status=status)


def _apply_stage_errors(
    exc: DomainError, rows: list[StageRow]
) -> tuple[list[str], list[str], dict[str, str]]:
    """Puts ``stages.<i>.<field>`` errors on their rows; returns (page-wide errors, name
    errors, removed stage id → message for each stage whose deals need a target)."""
    general: list[str] = []
    name_errors: list[str] = []
    moves: dict[str, str] = {}
    for err in exc.errors or [FieldError("", exc.detail)]:
        parts = err.field.split(".")
        if err.field == "name":
            name_errors.append(err.message)
        elif parts[0] == "moves" and len(parts) == 2:
            moves[parts[1]] = err.message
        elif parts[0] == "stages" and len(parts) >= 2 and parts[1].isdigit():
            i = int(parts[1])
            if i < len(rows):
                key = parts[2] if len(parts) > 2 else "name"
                rows[i].errors.setdefault(key, []).append(err.message)
            else:
                general.append(err.message)
        else:
            general.append(err.message)
    return general, name_errors, moves


@require_http_methods(["GET", "POST"])
@workspace_required
def pipeline_edit(request: HttpRequest, pipeline_id: uuid.UUID) -> HttpResponse:
    """The stage editor. Buttons ``add``, ``up:<row>``, ``down:<row>`` and ``remove:<row>``
    change the rows on the page (nothing is saved); ``save`` sends the whole list."""
    actor = _actor(request)
    pipeline = _pipeline_or_404(actor, pipeline_id)
    stages = list(pipeline.stages.order_by("position"))
    counts = _deal_counts(actor, pipeline=pipeline)
    if request.method == "GET":
        return _editor_page(
            request,
            pipeline,
            name=pipeline.name,
            rows=rows_from_stages(stages, counts),
            version=pipeline.version,
        )
    require_admin(actor)
    known = {str(s.pk) for s in stages}
    rows = parse_stage_rows(request.POST, counts, known)
    name = request.POST.get("name", "").strip()[:100]
    version = parse_version(request.POST.get("version"))
    action = request.POST.get("action", "save")
    verb, _, key = action.partition(":")
    index = next((i for i, r in enumerate(rows) if r.key == key), None)
    if verb in ("up", "down", "remove", "add"):
        if verb == "add":
            rows.append(StageRow(key=next_row_key(rows), name="", type="open"))
        elif index is not None and verb == "remove":
            rows.pop(index)
        elif index is not None:
            j = index - 1 if verb == "up" else index + 1
            if 0 <= j < len(rows):
                rows[index], rows[j] = rows[j], rows[index]
        return _editor_page(request, pipeline, name=name, rows=rows, version=version)

    moves = {
        k.removeprefix("move-"): v
        for k, v in request.POST.items()
        if k.startswith("move-") and k.removeprefix("move-") in known and v
    }
    data: dict[str, Any] = {"name": name, "stages": [r.to_data() for r in rows]}
    if moves:
        data["moves"] = moves
    try:
        services.pipeline_update(
            actor=actor, pipeline_id=pipeline.pk, data=data, expected_version=version, source="ui"
        )
    except VersionConflict:
        return _editor_page(
            request,
            pipeline,
            name=name,
            rows=rows,
            version=version,
            conflict=True,
            errors=[
                "Someone else changed this pipeline while you were editing it. Nothing was "
                "saved: reload the page to see their changes, then make yours again."
            ],
            status=409,
        )
    except (ValidationFailed, Duplicate) as exc:
        general, name_errors, need = _apply_stage_errors(exc, rows)
        # Every removed stage that holds deals is asked about (keeping earlier choices).
        posted = {r.id for r in rows}
        moves_needed = [
            {
                "stage": s,
                "message": need.get(str(s.pk), ""),
                "deals": counts[s.pk],
                "chosen": moves.get(str(s.pk), ""),
            }
            for s in stages
            if str(s.pk) not in posted and counts.get(s.pk)
        ]
        if any(r.errors for r in rows) and not general:
            general.append("Correct the highlighted stages.")
        elif need and not general and not name_errors:
            general.append(
                "Some removed stages still hold deals: choose where their deals go, then save."
            )
        return _editor_page(
            request,
            pipeline,
            name=name,
            rows=rows,
            version=version,
            errors=general,
            name_errors=name_errors,
            moves_needed=moves_needed,
            status=422,
        )
    moved = sum(counts.get(uuid.UUID(sid), 0) for sid in moves)
    suffix = f" {moved} deal(s) moved." if moved else ""
    messages.success(request, f"Saved the pipeline “{name}”.{suffix}")
    return redirect("sales:settings_pipeline", pipeline.pk)


@require_http_methods(["GET", "POST"])
@workspace_required
def pipeline_delete(request: HttpRequest, pipeline_id: uuid.UUID) -> HttpResponse:
    """GET: the confirmation (how many deals, where they go); POST: delete."""
    actor = _actor(request)
    pipeline = _pipeline_or_404(actor, pipeline_id)
    require_admin(actor)
    deals = sum(_deal_counts(actor, pipeline=pipeline).values())
    errors: list[str] = []
    chosen = request.POST.get("move_to", "")
    status = 200
    if request.method == "POST":
        try:
            services.pipeline_delete(
                actor=actor,
                pipeline_id=pipeline.pk,
                move_to=chosen or None,
                expected_version=parse_version(request.POST.get("version")),
            )
        except VersionConflict:
            errors.append(
                "Someone changed this pipeline meanwhile: check it again before deleting it."
            )
            status = 409
        except ValidationFailed as exc:
            errors.append(_messages_of(exc))
            status = 422
        else:
            moved = f" Its {deals} deal(s) moved." if deals else ""
            messages.success(request, f"Deleted the pipeline “{pipeline.name}”.{moved}")
            return redirect("sales:settings_pipelines")
    context = _ctx(
        actor,
        "pipelines",
        pipeline=pipeline,
        deals=deals,
        errors=errors,
        chosen=chosen,
        move_groups=_all_stages(actor, exclude_pipeline=pipeline),
        only_one=not Pipeline.objects.in_workspace(actor.workspace)
        .exclude(pk=pipeline.pk)
        .exists(),
    )
    return render(request, "sales/settings/pipeline_delete.html", context, status=status)


# --- lost reasons ------------------------------------------------------------------------------


def _reasons_page(
    request: HttpRequest,
    *,
    form: LostReasonForm | None = None,
    edit_errors: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = _actor(request)
    reasons = selectors.lost_reason_list(actor=actor)
    context = _ctx(
        actor,
        "lost_reasons",
        reasons=reasons,
        form=form or LostReasonForm(),
        edit_errors=edit_errors or {},
    )
    return render(request, "sales/settings/lost_reasons.html", context, status=status)


@require_http_methods(["GET", "POST"])
@workspace_required
def lost_reasons(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _reasons_page(request)
    actor = _actor(request)
    require_admin(actor)
    form = LostReasonForm(request.POST)
    if form.is_valid():
        try:
            reason = services.lost_reason_create(actor=actor, name=form.cleaned_data["name"])
        except (ValidationFailed, Duplicate) as exc:
            for err in exc.errors:
                form.add_error("name", err.message)
        else:
            messages.success(request, f"Added the lost reason “{reason.name}”.")
            return redirect("sales:settings_lost_reasons")
    return _reasons_page(request, form=form, status=422)


@require_POST
@workspace_required
def lost_reason_edit(request: HttpRequest, reason_id: uuid.UUID) -> HttpResponse:
    """Rename (``name``) or switch on/off (``active`` = "1"/"0")."""
    actor = _actor(request)
    require_admin(actor)
    kwargs: dict[str, Any] = {}
    if "name" in request.POST:
        kwargs["name"] = request.POST["name"]
    if "active" in request.POST:
        kwargs["active"] = request.POST["active"] == "1"
    try:
        reason = services.lost_reason_update(actor=actor, reason_id=reason_id, **kwargs)
    except (ValidationFailed, Duplicate) as exc:
        return _reasons_page(request, edit_errors={str(reason_id): _messages_of(exc)}, status=422)
    if "active" in kwargs:
        state = "offered again" if reason.active else "no longer offered for new lost deals"
        messages.success(request, f"“{reason.name}” is {state}.")
    else:
        messages.success(request, f"Saved the lost reason “{reason.name}”.")
    return redirect(reverse("sales:settings_lost_reasons") + f"#reason-{reason.pk}")


@require_POST
@workspace_required
def lost_reason_delete(request: HttpRequest, reason_id: uuid.UUID) -> HttpResponse:
    actor = _actor(request)
    services.lost_reason_delete(actor=actor, reason_id=reason_id)
    messages.success(request, "Lost reason deleted. Deals that named it keep their note.")
    return redirect("sales:settings_lost_reasons")


# --- currencies --------------------------------------------------------------------------------


def _current_rates(actor: Actor, base: str) -> list[ExchangeRate]:
    """The latest rate of each currency into ``base`` (two queries whatever the history)."""
    rows = ExchangeRate.objects.in_workspace(actor.workspace).filter(base=base)
    latest = list(
        rows.values("currency").annotate(day=Max("valid_from"), n=Count("id")).order_by("currency")
    )
    if not latest:
        return []
    cond = Q()
    for row in latest:
        cond |= Q(currency=row["currency"], valid_from=row["day"])
    counts = {row["currency"]: row["n"] for row in latest}
    current = list(rows.filter(cond).order_by("currency"))
    for rate in current:
        rate.history_count = counts[rate.currency]  # type: ignore[attr-defined]
    return _with_text(current)


def _with_text(rates: list[ExchangeRate]) -> list[ExchangeRate]:
    for rate in rates:
        rate.rate_text = f"{rate.rate.normalize():f}"  # type: ignore[attr-defined]
    return rates


def _currencies_page(
    request: HttpRequest,
    *,
    base_form: BaseCurrencyForm | None = None,
    rate_form: ExchangeRateForm | None = None,
    import_form: RatesImportForm | None = None,
    import_result: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = _actor(request)
    admin = is_admin(actor)
    base = actor.workspace.default_currency
    currency = request.GET.get("currency", "").strip().upper()[:3]
    history = ExchangeRate.objects.in_workspace(actor.workspace).filter(base=base)
    if currency:
        history = history.filter(currency=currency)
    try:
        page = keyset_page(
            history,
            sort=Sort(field="valid_from", descending=True),
            cursor=request.GET.get("cursor") or None,
            limit=RATES_PER_PAGE,
        )
    except ValidationFailed:
        raise Http404("No such page.")
    other_bases = list(
        ExchangeRate.objects.in_workspace(actor.workspace)
        .exclude(base=base)
        .values_list("base", flat=True)
        .distinct()
        .order_by("base")
    )
    context = _ctx(
        actor,
        "currencies",
        base=base,
        base_form=base_form or BaseCurrencyForm(initial={"default_currency": base}, editable=admin),
        rate_form=rate_form or ExchangeRateForm(base=base),
        import_form=import_form or RatesImportForm(),
        import_result=import_result,
        current=_current_rates(actor, base),
        rates=_with_text(page.rows),
        next_cursor=page.next_cursor,
        first_page=not request.GET.get("cursor"),
        currency=currency,
        other_bases=other_bases,
    )
    return render(request, "sales/settings/currencies.html", context, status=status)


@require_http_methods(["GET"])
@workspace_required
def currencies(request: HttpRequest) -> HttpResponse:
    return _currencies_page(request)


@require_POST
@workspace_required
def base_currency(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require_admin(actor)
    form = BaseCurrencyForm(request.POST)
    if form.is_valid():
        try:
            ws = tenancy_services.workspace_update(
                actor=actor, default_currency=form.cleaned_data["default_currency"]
            )
        except ValidationFailed as exc:
            form.add_error("default_currency", _messages_of(exc))
        else:
            messages.success(
                request,
                f"Totals are now shown in {ws.default_currency}. Rates are kept per base "
                f"currency: enter the rates into {ws.default_currency} below.",
            )
            return redirect("sales:settings_currencies")
    return _currencies_page(request, base_form=form, status=422)


@require_POST
@workspace_required
def rate_add(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require_admin(actor)
    base = actor.workspace.default_currency
    form = ExchangeRateForm(request.POST, base=base)
    if form.is_valid():
        try:
            rate = services.exchange_rate_set(
                actor=actor,
                currency=form.cleaned_data["currency"],
                rate=form.cleaned_data["rate"],
                valid_from=form.cleaned_data["valid_from"],
                source="ui",
            )
        except ValidationFailed as exc:
            for err in exc.errors:
                form.add_error(err.field if err.field in form.fields else None, err.message)
        else:
            messages.success(request, f"Saved: {_explain(rate)}.")
            return redirect("sales:settings_currencies")
    return _currencies_page(request, rate_form=form, status=422)


def _explain(rate: ExchangeRate) -> str:
    return f"1 {rate.currency} = {rate.rate.normalize():f} {rate.base} from {rate.valid_from}"


@require_POST
@workspace_required
def rates_import(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require_admin(actor)
    form = RatesImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            result = services.exchange_rates_import(actor=actor, text=form.cleaned_data["file"])
        except ValidationFailed as exc:
            form.add_error("file", _messages_of(exc))
        else:
            if result["stored"]:
                messages.success(request, f"Imported {result['stored']} rate(s).")
            status = 422 if result["rejected"] and not result["stored"] else 200
            return _currencies_page(request, import_result=result, status=status)
    return _currencies_page(request, import_form=form, status=422)


@require_POST
@workspace_required
def rate_delete(request: HttpRequest, rate_id: uuid.UUID) -> HttpResponse:
    services.exchange_rate_delete(actor=_actor(request), rate_id=rate_id)
    messages.success(request, "Rate deleted.")
    return redirect("sales:settings_currencies")


urlpatterns = [
    path("settings/sales/pipelines/", pipelines, name="settings_pipelines"),
    path(
        "settings/sales/pipelines/standard/", pipeline_standard, name="settings_pipeline_standard"
    ),
    path("settings/sales/pipelines/<uuid:pipeline_id>/", pipeline_edit, name="settings_pipeline"),
    path(
        "settings/sales/pipelines/<uuid:pipeline_id>/delete/",
        pipeline_delete,
        name="settings_pipeline_delete",
    ),
    path("settings/sales/lost-reasons/", lost_reasons, name="settings_lost_reasons"),
    path(
        "settings/sales/lost-reasons/<uuid:reason_id>/",
        lost_reason_edit,
        name="settings_lost_reason",
    ),
    path(
        "settings/sales/lost-reasons/<uuid:reason_id>/delete/",
        lost_reason_delete,
        name="settings_lost_reason_delete",
    ),
    path("settings/sales/currencies/", currencies, name="settings_currencies"),
    path("settings/sales/currencies/base/", base_currency, name="settings_base_currency"),
    path("settings/sales/currencies/rates/", rate_add, name="settings_rate_add"),
    path("settings/sales/currencies/rates/import/", rates_import, name="settings_rates_import"),
    path(
        "settings/sales/currencies/rates/<uuid:rate_id>/delete/",
        rate_delete,
        name="settings_rate_delete",
    ),
]
