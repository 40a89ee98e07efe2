"""/api/v1/imports and /api/v1/exports: parse, call a selector or service, shape the answer."""

from __future__ import annotations

import uuid

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from ninja import File, Form, Query, Router
from ninja.files import UploadedFile

from rapport.core.api import (
    COMMON_ERRORS,
    WRITE_ERRORS,
    actor_of,
    dump,
    json_response,
    list_response,
)
from rapport.core.errors import NotFound, ValidationFailed

from . import bulk, exports, mapping, report, selectors, services
from .schemas import (
    BulkIn,
    BulkOut,
    ExportIn,
    ExportList,
    ExportOut,
    ImportConfigIn,
    ImportList,
    ImportOut,
    ImportStartIn,
    IssueList,
    IssueOut,
    PreviewRowOut,
    TargetOut,
)

imports_router = Router(tags=["imports"])
exports_router = Router(tags=["exports"])

Limit = Query(50, ge=1, le=500, description="Page size (max 500)")
Cursor = Query(None, max_length=1000, description="The `next` value of the previous page")


def _import(request, job) -> HttpResponse:
    return json_response(dump(ImportOut, job))


@imports_router.post(
    "",
    response={201: ImportOut, **WRITE_ERRORS},
    summary="Upload a CSV, XLSX or vCard file to import",
    description=(
        "Multipart form: `file`, `object_type` (person|company|lead), optional `template` (a saved "
        "mapping id). Answers the new import with its columns, first rows and a guessed "
        "mapping; set the mapping with PATCH, check it with GET /preview, then POST /start."
    ),
)
def upload(
    request,
    file: File[UploadedFile],
    object_type: Form[str],
    template: Form[uuid.UUID | None] = None,
) -> HttpResponse:
    job = services.import_upload(
        actor=actor_of(request), upload=file, object_type=object_type, template_id=template
    )
    return json_response(
        dump(ImportOut, job), status=201, headers={"Location": f"/api/v1/imports/{job.pk}"}
    )


@imports_router.get("", response={200: ImportList, **COMMON_ERRORS}, summary="List imports")
def list_imports(request, limit: int = Limit, cursor: str | None = Cursor) -> HttpResponse:
    page = selectors.import_list(actor=actor_of(request), cursor=cursor, limit=limit)
    return list_response(ImportOut, page)


@imports_router.get(
    "/{import_id}", response={200: ImportOut, **COMMON_ERRORS}, summary="Get an import"
)
def get_import(request, import_id: uuid.UUID) -> HttpResponse:
    return _import(request, selectors.import_get(actor=actor_of(request), job_id=import_id))


@imports_router.get(
    "/{import_id}/targets",
    response={200: list[TargetOut], **COMMON_ERRORS},
    summary="The fields an import's columns can be mapped to",
)
def import_targets(request, import_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    job = selectors.import_get(actor=actor, job_id=import_id)
    targets = mapping.targets_for(actor.workspace, job.object_type)
    return json_response([{"key": t.key, "label": t.label} for t in targets])


@imports_router.patch(
    "/{import_id}",
    response={200: ImportOut, **WRITE_ERRORS},
    summary="Set the column mapping and options of an import that has not run",
)
def configure_import(request, import_id: uuid.UUID, payload: ImportConfigIn) -> HttpResponse:
    job = services.import_configure(
        actor=actor_of(request),
        job_id=import_id,
        columns=payload.mapping,
        mode=payload.mode,
        match_on=payload.match_on,
        create_companies=payload.create_companies,
        save_as=payload.save_as,
    )
    return _import(request, job)


@imports_router.get(
    "/{import_id}/preview",
    response={200: list[PreviewRowOut], **WRITE_ERRORS},
    summary="The first rows as they would be written, with errors per column (writes nothing)",
)
def preview_import(request, import_id: uuid.UUID) -> HttpResponse:
    rows = services.import_preview(actor=actor_of(request), job_id=import_id)
    return json_response(rows)


@imports_router.post(
    "/{import_id}/start",
    response={202: ImportOut, **WRITE_ERRORS},
    summary="Run the import, or a dry run of it, in the background",
)
def start_import(request, import_id: uuid.UUID, payload: ImportStartIn) -> HttpResponse:
    actor = actor_of(request)
    services.import_start(actor=actor, job_id=import_id, dry_run=payload.dry_run)
    job = selectors.import_get(actor=actor, job_id=import_id)
    return json_response(dump(ImportOut, job), status=202)


@imports_router.get(
    "/{import_id}/issues",
    response={200: IssueList, **COMMON_ERRORS},
    summary="Rows the import rejected or skipped, with the reason, by line",
)
def import_issues(
    request, import_id: uuid.UUID, limit: int = Limit, cursor: str | None = Cursor
) -> HttpResponse:
    actor = actor_of(request)
    job = selectors.import_get(actor=actor, job_id=import_id)
    page = selectors.import_issues(actor=actor, job=job, cursor=cursor, limit=limit)
    return list_response(IssueOut, page)


@imports_router.get(
    "/{import_id}/report.csv",
    response={200: None, **COMMON_ERRORS},
    summary="The rejected and skipped rows as CSV",
)
def import_report(request, import_id: uuid.UUID) -> StreamingHttpResponse:
    job = selectors.import_get(actor=actor_of(request), job_id=import_id)
    return report.report_response(job)


@imports_router.post(
    "/{import_id}/undo",
    response={202: ImportOut, **WRITE_ERRORS},
    summary="Undo a finished import in the background: created records go to the trash, "
    "changes are reverted",
    description=(
        "Answers 202 with the import; its `undo` object shows the progress (poll GET "
        "/imports/{id}) and `undone_at` is set when it has finished. Asking again while it "
        "runs or once it is done is a 422 on `status`; after a failed undo it continues "
        "where it stopped."
    ),
)
def undo_import(request, import_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    services.import_undo(actor=actor, job_id=import_id)
    job = selectors.import_get(actor=actor, job_id=import_id)
    return json_response(
        dump(ImportOut, job), status=202, headers={"Location": f"/api/v1/imports/{job.pk}"}
    )


# --- exports --------------------------------------------------------------------------------


@exports_router.post(
    "",
    response={202: ExportOut, **WRITE_ERRORS},
    summary="Export people or companies (the same filters as the lists) in the background",
)
def start_export(request, payload: ExportIn) -> HttpResponse:
    actor = actor_of(request)
    job = exports.export_start(
        actor=actor,
        object_type=payload.object_type,
        file_format=payload.format,
        params=payload.filters,
        sort=payload.sort,
    )
    job = exports.export_get(actor=actor, job_id=job.pk)
    return json_response(
        dump(ExportOut, job), status=202, headers={"Location": f"/api/v1/exports/{job.pk}"}
    )


@exports_router.get("", response={200: ExportList, **COMMON_ERRORS}, summary="List exports")
def list_exports(request, limit: int = Limit, cursor: str | None = Cursor) -> HttpResponse:
    return list_response(
        ExportOut, selectors.export_list(actor=actor_of(request), cursor=cursor, limit=limit)
    )


@exports_router.get(
    "/{export_id}", response={200: ExportOut, **COMMON_ERRORS}, summary="Get an export"
)
def get_export(request, export_id: uuid.UUID) -> HttpResponse:
    return json_response(
        dump(ExportOut, exports.export_get(actor=actor_of(request), job_id=export_id))
    )


@exports_router.get(
    "/{export_id}/download",
    response={200: None, **COMMON_ERRORS},
    summary="The exported file, once the export has finished",
)
def download_export(request, export_id: uuid.UUID) -> HttpResponse | StreamingHttpResponse:
    job = exports.export_get(actor=actor_of(request), job_id=export_id)
    if not job.file:
        if job.is_finished:
            raise NotFound("This export has no file.")
        raise ValidationFailed.one("status", "The export is not finished yet.")
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.file_name,
        content_type=exports.CONTENT_TYPES[job.file_format],
    )


# --- bulk work ------------------------------------------------------------------------------

bulk_router = Router(tags=["bulk"])


@bulk_router.post(
    "",
    response={202: BulkOut, **WRITE_ERRORS},
    summary="Change many people or companies at once (in the background)",
    description=(
        "Edit fields, add or remove tags, or delete (to the trash) the records named by `ids` "
        "or, without ids, every record the `filters` match (any number). Each record is "
        "validated and audited on its own; poll GET /bulk/{id} for progress."
    ),
)
def start_bulk(request, payload: BulkIn) -> HttpResponse:
    actor = actor_of(request)
    job = bulk.bulk_start(
        actor=actor,
        object_type=payload.object_type,
        action=payload.action,
        ids=payload.ids,
        filters=payload.filters,
        data=payload.data,
        tags=payload.tags,
    )
    job = bulk.bulk_get(actor=actor, job_id=job.pk)
    return json_response(
        dump(BulkOut, job), status=202, headers={"Location": f"/api/v1/bulk/{job.pk}"}
    )


@bulk_router.get("/{job_id}", response={200: BulkOut, **COMMON_ERRORS}, summary="A bulk change")
def get_bulk(request, job_id: uuid.UUID) -> HttpResponse:
    return json_response(dump(BulkOut, bulk.bulk_get(actor=actor_of(request), job_id=job_id)))


@bulk_router.post(
    "/{job_id}/undo",
    response={202: BulkOut, **WRITE_ERRORS},
    summary="Undo a finished bulk change (in the background)",
    description=(
        "Queues another bulk job (action `undo`) that puts back what the change did: records "
        "it deleted come back from the trash, fields it set get their earlier values (changes "
        "made since to other fields are kept). Records that cannot be put back are listed in "
        "its `failures`. An undo cannot be undone; asking twice is a 422. Poll GET /bulk/{id} "
        "of the job answered."
    ),
)
def undo_bulk(request, job_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    undo = bulk.bulk_undo(actor=actor, job_id=job_id)
    return json_response(
        dump(BulkOut, bulk.bulk_get(actor=actor, job_id=undo.pk)),
        status=202,
        headers={"Location": f"/api/v1/bulk/{undo.pk}"},
    )
