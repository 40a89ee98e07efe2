"""Exports of people and companies to CSV, XLSX and vCard.

The rows come from the same selector and filters as the list page (``contacts.selectors``),
so an export never shows what the list would not. Small exports stream straight to the browser;
large ones run in a worker that writes the file to storage and leaves a download link. Every
cell that a spreadsheet would run as a formula is neutralised; every export is audited.
"""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet

from rapport.audit.services import record
from rapport.contacts import selectors as contact_selectors
from rapport.contacts.filters import COMPANY_SORTS, PERSON_SORTS, CompanyFilters, PersonFilters
from rapport.contacts.models import LifecycleStage
from rapport.core import jobs
from rapport.core.actors import Actor
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.models import JobStatus
from rapport.core.pagination import parse_sort

from . import events
from .models import ContactType, ExportFormat, ExportJob, ObjectType

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def neutralise(value: str) -> str:
    """A cell a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``, tab, CR, NUL first) is
    prefixed with a quote, which spreadsheets show as text (OWASP CSV injection)."""
    if value and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


# --- columns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str
    get: Any  # callable(record) -> str


def _s(value) -> str:
    return "" if value is None else str(value)


def _common_tail(object_type: str, workspace) -> list[Column]:
    cols = [
        Column("Phone", lambda r: r["phone"]),
        Column("Owner", lambda r: r["owner__email"] or ""),
        Column("Tags", lambda r: "; ".join(r["tags"])),
        Column("Street", lambda r: r["street"]),
        Column("City", lambda r: r["city"]),
        Column("Region", lambda r: r["region"]),
        Column("Postal code", lambda r: r["postal_code"]),
        Column("Country", lambda r: r["country"]),
        Column("External id", lambda r: r["external_id"]),
    ]
    cols += _custom_columns(workspace, object_type)
    cols += [
        Column("Created", lambda r: r["created_at"].isoformat()),
        Column("Updated", lambda r: r["updated_at"].isoformat()),
        Column("Id", lambda r: str(r["id"])),
    ]
    return cols


def _custom_columns(workspace, object_type: str) -> list[Column]:
    try:
        from rapport.customization import types as custom_types
        from rapport.customization.selectors import fields_for
    except ImportError:
        return []
    cols = []
    for definition in fields_for(workspace, f"contacts.{object_type}"):
        kind = custom_types.get_type(definition.type)

        def get(r, key=definition.key, kind=kind, definition=definition):
            value = (r["custom"] or {}).get(key)
            return "" if value is None else kind.format_text(value, definition)

        cols.append(Column(definition.label, get))
    return cols


_STAGES = dict(LifecycleStage.choices)


def columns_for(object_type: str, workspace) -> list[Column]:
    """The export's columns, each reading one row of ``iter_records``."""
    head: list[Column]
    if object_type == ObjectType.PERSON:
        head = [
            Column("First name", lambda r: r["first_name"]),
            Column("Last name", lambda r: r["last_name"]),
            Column("Email", lambda r: r["email"]),
            Column("Job title", lambda r: r["title"]),
            Column("Company", lambda r: r["company__name"] or ""),
            Column("Company domain", lambda r: r["company__domain"] or ""),
            Column("Lifecycle stage", lambda r: _STAGES.get(r["lifecycle_stage"], "")),
            Column("Source", lambda r: r["source"]),
        ]
    else:
        head = [
            Column("Name", lambda r: r["name"]),
            Column("Domain", lambda r: r["domain"]),
            Column("Industry", lambda r: r["industry"]),
            Column("Employees", lambda r: _s(r["employees"])),
            Column("Annual revenue", lambda r: _s(r["annual_revenue"])),
            Column("Annual revenue currency", lambda r: r["annual_revenue_currency"]),
        ]
    return head + _common_tail(object_type, workspace)


_COMMON_VALUES = (
    "phone",
    "owner__email",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "external_id",
    "custom",
    "created_at",
    "updated_at",
)
_VALUES = {
    ObjectType.PERSON: (
        "id",
        "first_name",
        "last_name",
        "email",
        "title",
        "company__name",
        "company__domain",
        "lifecycle_stage",
        "source",
        *_COMMON_VALUES,
    ),
    ObjectType.COMPANY: (
        "id",
        "name",
        "domain",
        "industry",
        "employees",
        "annual_revenue",
        "annual_revenue_currency",
        *_COMMON_VALUES,
    ),
}


# --- what to export -----------------------------------------------------------------------


def _filters(object_type: str, params: dict[str, Any]):
    schema = PersonFilters if object_type == ObjectType.PERSON else CompanyFilters
    known = {k: v for k, v in params.items() if k in schema.model_fields and v not in ("", None)}
    try:
        return schema(**known)
    except Exception as exc:  # pydantic's ValidationError: the list page would refuse it too
        raise ValidationFailed.one("filters", f"These filters are not valid: {exc}")


def export_queryset(actor: Actor, object_type: str, params: dict[str, Any], sort: str = ""):
    """The records the list page shows for ``params``, in its order, ready to iterate."""
    filters = _filters(object_type, params)
    allowed: tuple[str, ...]
    if object_type == ObjectType.PERSON:
        allowed = PERSON_SORTS
        qs: QuerySet = contact_selectors.person_queryset(actor=actor, filters=filters)
        qs = qs.select_related("company", "owner")
    else:
        allowed = COMPANY_SORTS
        qs = contact_selectors.company_queryset(actor=actor, filters=filters)
        qs = qs.select_related("owner")
    order = parse_sort(sort or "-updated_at", allowed, "-updated_at")
    return qs.order_by(*order.order_by())


def iter_records(qs: QuerySet, object_type: str, chunk: int = 2000) -> Iterator[dict[str, Any]]:
    """The rows to write, as plain values (no model instances: an export of a million rows
    spent most of its time building them) with each record's tag names, read per chunk."""
    model = qs.model
    through = model._meta.get_field("tags").remote_field.through
    column = f"{model._meta.model_name}_id"
    rows = qs.values(*_VALUES[ObjectType(object_type)]).iterator(chunk_size=chunk)
    while batch := list(itertools.islice(rows, chunk)):
        names: dict[Any, list[str]] = {}
        links = through.objects.filter(**{f"{column}__in": [r["id"] for r in batch]})
        for record_id, name in links.values_list(column, "tag__name"):
            names.setdefault(record_id, []).append(name)
        for row in batch:
            row["tags"] = sorted(names.get(row["id"], []))
            yield row


# --- writers --------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(columns: list[Column], records: Iterable) -> Iterator[str]:
    """The CSV, line by line (UTF-8 with a BOM so spreadsheets read the accents right)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([c.header for c in columns])
    for r in records:
        yield writer.writerow([neutralise(_s(c.get(r))) for c in columns])


def vcard_chunks(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    import vobject

    for p in records:
        card = vobject.vCard()
        card.add("version").value = "4.0"
        name = " ".join(n for n in (p["first_name"], p["last_name"]) if n)
        card.add("fn").value = name or p["email"] or ""
        card.add("n").value = vobject.vcard.Name(family=p["last_name"], given=p["first_name"])
        if p["email"]:
            card.add("email").value = p["email"]
        if p["phone"]:
            card.add("tel").value = p["phone"]
        if p["title"]:
            card.add("title").value = p["title"]
        if p["company__name"]:
            card.add("org").value = [p["company__name"]]
        if any(p[f] for f in ("street", "city", "region", "postal_code", "country")):
            card.add("adr").value = vobject.vcard.Address(
                street=p["street"],
                city=p["city"],
                region=p["region"],
                code=p["postal_code"],
                country=p["country"],
            )
        card.add("uid").value = f"urn:uuid:{p['id']}"
        yield card.serialize()


def write_xlsx(columns: list[Column], records: Iterable, target) -> int:
    """Writes an XLSX workbook to the binary file ``target``; answers the rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Export")
    sheet.append([c.header for c in columns])
    count = 0
    for r in records:
        row = []
        for c in columns:
            cell = WriteOnlyCell(sheet, value=neutralise(_s(c.get(r))))
            cell.data_type = "s"  # text, never a formula
            row.append(cell)
        sheet.append(row)
        count += 1
    book.save(target)
    return count


# --- service --------------------------------------------------------------------------------

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "vcard": "text/vcard; charset=utf-8",
}
EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "vcard": "vcf"}


def check_format(object_type: str, file_format: str) -> None:
    if object_type not in ContactType.values:
        raise ValidationFailed.one("object_type", "Choose people or companies.")
    if file_format not in ExportFormat.values:
        raise ValidationFailed.one("format", "Choose csv, xlsx or vcard.")
    if file_format == "vcard" and object_type != ObjectType.PERSON:
        raise ValidationFailed.one("format", "vCard holds people only.")


def file_name_for(object_type: str, file_format: str) -> str:
    from django.utils import timezone

    what = "people" if object_type == ObjectType.PERSON else "companies"
    return f"{what}-{timezone.now():%Y%m%d-%H%M}.{EXTENSIONS[file_format]}"


def export_is_small(qs: QuerySet) -> bool:
    limit = settings.EXPORT_INLINE_ROWS
    return qs.values("pk")[: limit + 1].count() <= limit


def audit_export(
    actor: Actor, object_type: str, file_format: str, params: dict, rows: int | None, obj=None
) -> None:
    record(
        actor=actor,
        action=events.EXPORT_CREATED,
        obj=obj,
        object_type="" if obj else f"contacts.{object_type}",
        object_id="" if obj else "*",
        object_repr="" if obj else f"{object_type} export",
        changes={
            "format": {"before": None, "after": file_format},
            "filters": {"before": None, "after": params},
            "rows": {"before": None, "after": rows},
        },
        source="export",
    )


def export_start(
    *,
    actor: Actor,
    object_type: str,
    file_format: str,
    params: dict[str, Any],
    sort: str = "",
) -> ExportJob:
    """Queues a background export of what the list shows for ``params``."""
    check_format(object_type, file_format)
    export_queryset(actor, object_type, params, sort)  # refuse bad filters now, not in the worker
    with transaction.atomic():
        job = ExportJob(
            workspace=actor.workspace,
            status=JobStatus.QUEUED,
            object_type=object_type,
            file_format=file_format,
            filters=params,
            sort=sort,
            created_by=actor.user,
            created_by_kind=actor.kind.value,
        )
        job.save()
        jobs.enqueue(job)
    return job


def export_run(job_id) -> ExportJob | None:
    from .services import job_actor

    job = jobs.claim(ExportJob, job_id)
    if job is None:
        return None
    try:
        actor = job_actor(job)
        qs = export_queryset(actor, job.object_type, job.filters, job.sort)
        job.total = qs.count()
        job.save(update_fields=["total"])
        columns = columns_for(job.object_type, actor.workspace)
        name = file_name_for(job.object_type, job.file_format)

        def counted(records):
            for i, r in enumerate(records, start=1):
                if i % 2000 == 0:
                    jobs.checkpoint(job, processed=i)
                yield r

        records = counted(iter_records(qs, job.object_type))
        with tempfile.TemporaryFile() as tmp:
            if job.file_format == "xlsx":
                rows = write_xlsx(columns, records, tmp)
            else:
                text = io.TextIOWrapper(tmp, encoding="utf-8", newline="")
                rows = 0
                chunks = (
                    vcard_chunks(records)
                    if job.file_format == "vcard"
                    else csv_lines(columns, records)
                )
                for chunk in chunks:
                    text.write(chunk)
                    rows += 1
                text.flush()
                text.detach()
                if job.file_format == "csv":
                    rows -= 1  # the header line
            tmp.seek(0)
            job.file.save(name, File(tmp), save=False)
        job.file_name = name
        job.processed = rows
        job.save(update_fields=["file", "file_name", "processed"])
        with transaction.atomic():
            jobs.finish(job)
            audit_export(actor, job.object_type, job.file_format, job.filters, rows, obj=job)
    except ValidationFailed as exc:
        jobs.finish(job, JobStatus.FAILED, exc.detail)
    except Exception as exc:
        jobs.finish(job, JobStatus.FAILED, f"The export stopped: {exc}")
        raise
    return job


def export_get(*, actor: Actor, job_id) -> ExportJob:
    job = ExportJob.objects.visible_to(actor).filter(pk=job_id).first()
    if job is None:
        raise NotFound("No such export.")
    return job
