"""Import and export pages: parse the request, call a selector or service, render."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.pagination import Page
from rapport.core.policy import can_write, require_write
from rapport.ui.views import htmx_target, workspace_required

from . import bulk, exports, mapping, report, selectors, services
from .models import ImportFormat, ObjectType

PREVIEW_ID = "import-preview"


def _actor(request: HttpRequest):
    return request.actor  # type: ignore[attr-defined]


@workspace_required
def import_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    page = _page(
        lambda cursor: selectors.import_list(actor=actor, cursor=cursor, limit=25), request
    )
    return render(
        request,
        "imports/import_list.html",
        {"page": page, "nav": "imports", "can_write": can_write(actor)},
    )


def _page(select, request: HttpRequest) -> Page:
    try:
        return select(request.GET.get("cursor") or None)
    except ValidationFailed:
        return select(None)


@workspace_required
def import_new(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    require_write(actor)
    errors: list[str] = []
    object_type = request.POST.get("object_type") or request.GET.get("type") or "person"
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors.append("Choose a file to import.")
        else:
            try:
                job = services.import_upload(
                    actor=actor,
                    upload=upload,
                    object_type=object_type,
                    template_id=request.POST.get("template") or None,
                )
            except ValidationFailed as exc:
                errors.extend([e.message for e in exc.errors] or [exc.detail])
            else:
                return redirect("imports:map", job_id=job.pk)
    return render(
        request,
        "imports/import_new.html",
        {
            "nav": "imports",
            "errors": errors,
            "object_type": object_type,
            "object_types": ObjectType.choices,
            "formats": ImportFormat.choices,
            "templates": selectors.mapping_templates(actor=actor),
        },
        status=422 if errors else 200,
    )


def _mapping_rows(job, columns: dict[str, str]) -> list[dict]:
    samples = job.sample[:3]
    return [
        {
            "index": str(i),
            "header": header,
            "samples": [row[i] for row in samples if i < len(row) and row[i]],
            "target": columns.get(str(i), ""),
        }
        for i, header in enumerate(job.headers)
    ]


@workspace_required
def import_map(request: HttpRequest, job_id) -> HttpResponse:
    actor = _actor(request)
    job = selectors.import_get(actor=actor, job_id=job_id)
    if not (job.status == "draft" or (job.dry_run and job.is_finished)):
        return redirect("imports:detail", job_id=job.pk)
    require_write(actor)
    columns = dict(job.mapping)
    errors: list[str] = []
    preview = None
    options = {
        "mode": job.mode,
        "match_on": job.match_on,
        "create_companies": job.create_companies,
    }
    if request.method == "POST":
        columns = {
            key[4:]: value
            for key, value in request.POST.items()
            if key.startswith("col-") and value
        }
        options = {
            "mode": request.POST.get("mode", "upsert"),
            "match_on": request.POST.get("match_on", ""),
            "create_companies": request.POST.get("create_companies") == "on",
        }
        action = request.POST.get("action", "preview")
        try:
            services.import_configure(
                actor=actor,
                job_id=job.pk,
                columns=columns,
                save_as=request.POST.get("save_as", ""),
                mode=str(options["mode"]),
                match_on=str(options["match_on"]),
                create_companies=bool(options["create_companies"]),
            )
            if action in ("dry_run", "run"):
                services.import_start(actor=actor, job_id=job.pk, dry_run=action == "dry_run")
                return redirect("imports:detail", job_id=job.pk)
            preview = services.import_preview(actor=actor, job_id=job.pk)
            for row in preview:  # the Result column names the cells to look at
                row["bad_columns"] = [job.headers[int(i)] for i in row["cell_errors"]]
        except ValidationFailed as exc:
            errors = [e.message for e in exc.errors] or [exc.detail]
    targets = mapping.targets_for(actor.workspace, job.object_type)
    context = {
        "nav": "imports",
        "job": job,
        "rows": _mapping_rows(job, columns),
        "targets": targets,
        "options": options,
        "match_choices": mapping.MATCH_CHOICES[job.object_type],
        "modes": services.ImportMode.choices,
        "errors": errors,
        "preview": preview,
        "preview_id": PREVIEW_ID,
        "headers": job.headers,
    }
    return render(request, "imports/import_map.html", context, status=422 if errors else 200)


@workspace_required
def import_detail(request: HttpRequest, job_id) -> HttpResponse:
    actor = _actor(request)
    job = selectors.import_get(actor=actor, job_id=job_id)
    issues = _page(
        lambda cursor: selectors.import_issues(actor=actor, job=job, cursor=cursor, limit=50),
        request,
    )
    template = "imports/import_detail.html"
    if htmx_target(request) == "import-progress":
        template = "imports/partials/import_progress.html"
    return render(
        request,
        template,
        {"nav": "imports", "job": job, "issues": issues, "can_write": can_write(actor)},
    )


@workspace_required
def import_report(request: HttpRequest, job_id) -> HttpResponse:
    job = selectors.import_get(actor=_actor(request), job_id=job_id)
    return report.report_response(job)  # type: ignore[return-value]


@require_POST
@workspace_required
def import_undo(request: HttpRequest, job_id) -> HttpResponse:
    try:
        services.import_undo(actor=_actor(request), job_id=job_id)
    except ValidationFailed as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(
            request,
            "Undoing the import: the records it created go to the trash and the fields it "
            "changed are put back. Progress is shown below.",
        )
    return redirect("imports:detail", job_id=job_id)


# --- exports --------------------------------------------------------------------------------


@workspace_required
def export_file(request: HttpRequest) -> HttpResponseBase:
    """Exports what a list shows: streamed at once when small, in the background when large."""
    actor = _actor(request)
    object_type = request.GET.get("type", "")
    file_format = request.GET.get("format", "csv")
    params = {
        k: v
        for k, v in request.GET.items()
        if k not in ("type", "format", "sort", "cursor") and v != ""
    }
    sort = request.GET.get("sort", "")
    try:
        exports.check_format(object_type, file_format)
        qs = exports.export_queryset(actor, object_type, params, sort)
        if not exports.export_is_small(qs):
            job = exports.export_start(
                actor=actor,
                object_type=object_type,
                file_format=file_format,
                params=params,
                sort=sort,
            )
            return redirect("imports:export_detail", job_id=job.pk)
    except ValidationFailed as exc:
        messages.error(request, exc.detail)
        back = "contacts:person_list" if object_type != "company" else "contacts:company_list"
        return redirect(back)
    return _stream_export(actor, object_type, file_format, params, qs)


def _stream_export(actor, object_type, file_format, params, qs) -> HttpResponseBase:
    name = exports.file_name_for(object_type, file_format)
    columns = exports.columns_for(object_type, actor.workspace)
    records = list(exports.iter_records(qs, object_type))
    exports.audit_export(actor, object_type, file_format, params, len(records))
    if file_format == "xlsx":
        import io

        buffer = io.BytesIO()
        exports.write_xlsx(columns, records, buffer)
        buffer.seek(0)
        return FileResponse(
            buffer, as_attachment=True, filename=name, content_type=exports.CONTENT_TYPES["xlsx"]
        )
    chunks = (
        exports.vcard_chunks(records)  # type: ignore[arg-type]  # people: checked above
        if file_format == "vcard"
        else exports.csv_lines(columns, records)
    )
    response = StreamingHttpResponse(chunks, content_type=exports.CONTENT_TYPES[file_format])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@workspace_required
def export_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    page = _page(
        lambda cursor: selectors.export_list(actor=actor, cursor=cursor, limit=25), request
    )
    return render(request, "imports/export_list.html", {"page": page, "nav": "imports"})


@workspace_required
def export_detail(request: HttpRequest, job_id) -> HttpResponse:
    job = exports.export_get(actor=_actor(request), job_id=job_id)
    template = "imports/export_detail.html"
    if htmx_target(request) == "export-progress":
        template = "imports/partials/export_progress.html"
    return render(request, template, {"nav": "imports", "job": job})


@workspace_required
def export_download(request: HttpRequest, job_id) -> HttpResponseBase:
    job = exports.export_get(actor=_actor(request), job_id=job_id)
    if not job.file:
        raise NotFound("This export has no file yet.")
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.file_name,
        content_type=exports.CONTENT_TYPES[job.file_format],
    )


# --- bulk work --------------------------------------------------------------------------------

_LISTS = {"person": "contacts:person_list", "company": "contacts:company_list"}


def _list_url(object_type: str, query: str) -> str:
    from django.urls import reverse

    url = reverse(_LISTS.get(object_type, "contacts:person_list"))
    return f"{url}?{query}" if query else url


@require_POST
@workspace_required
def bulk_new(request: HttpRequest) -> HttpResponse:
    """Step two of a bulk change: what exactly to do, and how many records it touches."""
    from django.http import QueryDict

    from rapport.contacts.models import LifecycleStage
    from rapport.tenancy.selectors import member_choices

    actor = _actor(request)
    require_write(actor)
    object_type = request.POST.get("type", "")
    if object_type not in _LISTS:
        raise NotFound("No such list.")
    query = request.POST.get("query", "")
    action = request.POST.get("action", "")
    scope = request.POST.get("scope", "selected")
    ids = request.POST.getlist("item")
    if scope == "selected" and not ids:
        messages.error(request, "Tick the rows to change first, or choose everything matching.")
        return redirect(_list_url(object_type, query))
    filters = {k: v for k, v in QueryDict(query).items() if k not in ("cursor", "sort") and v}
    try:
        if scope == "selected":
            count = len(set(ids))
        else:
            count = exports.export_queryset(actor, object_type, filters).count()
    except ValidationFailed as exc:
        messages.error(request, exc.detail)
        return redirect(_list_url(object_type, query))
    errors: list[str] = []
    if request.POST.get("confirm") == "yes":
        try:
            job = bulk.bulk_start(
                actor=actor,
                object_type=object_type,
                action=action,
                ids=ids if scope == "selected" else None,
                filters=filters,
                data=_bulk_data(request, object_type) if action == "update" else None,
                tags=[t.strip() for t in request.POST.get("tags", "").split(",") if t.strip()]
                if action in ("add_tags", "remove_tags")
                else None,
            )
        except ValidationFailed as exc:
            errors = [e.message for e in exc.errors] or [exc.detail]
        else:
            return redirect("imports:bulk_detail", job_id=job.pk)
    what = "people" if object_type == "person" else "companies"
    return render(
        request,
        "imports/bulk_confirm.html",
        {
            "nav": "people" if object_type == "person" else "companies",
            "object_type": object_type,
            "what": what,
            "query": query,
            "action": action,
            "scope": scope,
            "ids": ids,
            "count": count,
            "errors": errors,
            "stages": LifecycleStage.choices,
            "members": member_choices(workspace=actor.workspace),
            "back": _list_url(object_type, query),
            "values": request.POST,
        },
        status=422 if errors else 200,
    )


def _bulk_data(request: HttpRequest, object_type: str) -> dict:
    """The fields a bulk edit sets: only the ones the user filled ("keep" leaves a field)."""
    data: dict = {}
    owner = request.POST.get("owner", "keep")
    if owner != "keep":
        data["owner"] = owner or None
    fields = ("lifecycle_stage", "source", "title") if object_type == "person" else ("industry",)
    for name in fields:
        value = request.POST.get(name, "").strip()
        if value:
            data[name] = value
    return data


@workspace_required
def bulk_detail(request: HttpRequest, job_id) -> HttpResponse:
    actor = _actor(request)
    job = bulk.bulk_get(actor=actor, job_id=job_id)
    template = "imports/bulk_detail.html"
    if htmx_target(request) == "bulk-progress":
        template = "imports/partials/bulk_progress.html"
    return render(
        request,
        template,
        {
            "nav": "people" if job.object_type == "person" else "companies",
            "job": job,
            "undo": bulk.undo_of(job),
            "can_write": can_write(actor),
            "back": _list_url(job.object_type, ""),
        },
    )


@require_POST
@workspace_required
def bulk_undo(request: HttpRequest, job_id) -> HttpResponse:
    """Queues the undo of a bulk change and shows its progress (another bulk job)."""
    try:
        undo = bulk.bulk_undo(actor=_actor(request), job_id=job_id)
    except ValidationFailed as exc:
        messages.error(request, exc.detail)
        return redirect("imports:bulk_detail", job_id=job_id)
    messages.success(request, "Undoing the change: progress is shown below.")
    return redirect("imports:bulk_detail", job_id=undo.pk)
