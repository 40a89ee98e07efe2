"""The downloadable report of an import: every row it rejected or skipped, and why."""

from __future__ import annotations

import csv

from django.http import StreamingHttpResponse

from .exports import _Echo, neutralise
from .models import ImportJob


def report_lines(job: ImportJob):
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(["Line", "Outcome", "Reason", *job.headers])
    for issue in job.issues.order_by("line").iterator(chunk_size=2000):
        cells = [neutralise(str(v)) for v in issue.values]
        yield writer.writerow([issue.line, issue.outcome, neutralise(issue.message), *cells])


def report_response(job: ImportJob) -> StreamingHttpResponse:
    response = StreamingHttpResponse(report_lines(job), content_type="text/csv; charset=utf-8")
    stem = job.file_name.rsplit(".", 1)[0][:80] or "import"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)
    response["Content-Disposition"] = f'attachment; filename="{safe}-report.csv"'
    return response
