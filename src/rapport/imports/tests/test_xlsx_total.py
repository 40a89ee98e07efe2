"""XLSX imports know their size up front, so the progress bar says "n of about N" as for CSV."""

from __future__ import annotations

import io

import pytest

from rapport.imports import readers, services
from rapport.testing.factories import actor_for

from .helpers import upload

pytestmark = pytest.mark.django_db


def xlsx_bytes(rows: int, *, write_only: bool = False, blank_rows: int = 0) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=write_only)
    sheet = book.create_sheet() if write_only else book.active
    sheet.append(["First Name", "Email"])
    for i in range(rows):
        sheet.append([f"Zoë {i} <script>", f"p{i}@example.com"])
    for _ in range(blank_rows):
        sheet.append([None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("write_only", [False, True], ids=["dimension", "no-dimension"])
def test_the_row_count_comes_from_the_dimension_or_one_pass_over_the_rows(write_only):
    # openpyxl's write-only mode (like some exporters) writes no <dimension>: the count then
    # comes from the <row> tags, read in 1 MB chunks (tags cut between chunks count once).
    data = xlsx_bytes(12_345, write_only=write_only)
    sniffed = readers.sniff(io.BytesIO(data), "people.xlsx")
    assert sniffed.file_format == "xlsx"
    assert sniffed.estimated_rows == 12_345


def test_a_header_only_sheet_counts_no_rows():
    sniffed = readers.sniff(io.BytesIO(xlsx_bytes(0)), "people.xlsx")
    assert sniffed.estimated_rows == 0


def test_the_import_shows_n_of_about_total_while_it_runs(browser):
    actor = actor_for(browser.membership)
    data = xlsx_bytes(40)
    job = services.import_upload(
        actor=actor, upload=upload(data, "people.xlsx"), object_type="person"
    )
    assert job.total == 40
    # what the progress fragment shows for a running job halfway through
    job.status, job.processed = "running", 20
    job.save(update_fields=["status", "processed"])
    page = browser.get(
        f"/imports/{job.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="import-progress"
    )
    text = page.content.decode()
    assert "20 of about 40 rows read" in text and 'value="50"' in text
