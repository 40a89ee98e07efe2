"""Every way a file can be wrong: a clear error and nothing written, or the good rows
imported and the bad ones reported by line."""

from __future__ import annotations

import io

import pytest
from django.core.files import File

from rapport.contacts.models import Person
from rapport.core.errors import ValidationFailed
from rapport.imports import services
from rapport.imports.models import ImportJob

from .helpers import csv_bytes, upload

pytestmark = pytest.mark.django_db


def run(actor, data: bytes, run_jobs, name="people.csv"):
    job = services.import_upload(actor=actor, upload=upload(data, name), object_type="person")
    run_jobs(services.import_start, actor=actor, job_id=job.pk)
    job.refresh_from_db()
    return job


def refused(actor, data: bytes, name="people.csv") -> str:
    with pytest.raises(ValidationFailed) as exc:
        services.import_upload(actor=actor, upload=upload(data, name), object_type="person")
    assert exc.value.errors[0].field == "file"
    assert not ImportJob.objects.exists() and not Person.objects.exists()
    return exc.value.errors[0].message


def names(actor) -> list[str]:
    return sorted(
        Person.objects.filter(workspace=actor.workspace).values_list("first_name", flat=True)
    )


def test_an_empty_file_is_refused(actor):
    assert "empty" in refused(actor, b"")
    assert "empty" in refused(actor, b"\r\n \n")


def test_a_binary_file_named_csv_is_refused(actor):
    assert "binary" in refused(actor, bytes(range(256)) * 50)


def test_an_old_xls_file_is_refused_with_what_to_do(actor):
    assert ".xlsx" in refused(actor, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "a.csv")


def test_ten_thousand_columns_are_refused(actor):
    assert "10,000 columns" in refused(actor, csv_bytes([[f"c{i}" for i in range(10_000)]]))


def test_a_300_mb_single_line_is_refused_without_reading_it_all(actor, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as out:
        chunk = b"a" * (1024 * 1024)
        for _ in range(300):
            out.write(chunk)
    with path.open("rb") as handle, pytest.raises(ValidationFailed) as exc:
        services.import_upload(
            actor=actor, upload=File(handle, name="huge.csv"), object_type="person"
        )
    assert "longer than" in exc.value.errors[0].message
    assert not ImportJob.objects.exists()


def test_latin_1_is_detected_and_accents_survive(actor, run_jobs):
    data = csv_bytes([["First name", "Email"], ["Zoë", "z@example.com"], ["José", "j@e.com"]])
    job = run(actor, data.decode().encode("latin-1"), run_jobs)
    assert job.encoding != "utf-8"  # detected from the bytes (a single-byte code page)
    assert names(actor) == ["José", "Zoë"]


def test_a_bom_mixed_line_endings_and_quoted_newlines(actor, run_jobs):
    data = (
        "\ufeffFirst name,Email,Street\r\n"
        'Ada,ada@example.com,"12 Main St\nFlat 2"\n'
        "Grace,grace@example.com,1 Navy Rd\r"
        "Alan,alan@example.com,\r\n"
    ).encode()
    job = run(actor, data, run_jobs)
    assert job.headers[0] == "First name"  # the BOM is not part of the header
    assert (job.created_count, job.rejected_count) == (3, 0)
    # the quoted newline was read as part of the cell (street is one line, as in the API)
    assert Person.objects.get(email="ada@example.com").street == "12 Main St Flat 2"
    assert names(actor) == ["Ada", "Alan", "Grace"]


def test_semicolons_and_tabs_are_sniffed(actor, run_jobs):
    run(actor, csv_bytes([["First name", "Email"], ["Semi", "s@e.com"]], delimiter=";"), run_jobs)
    run(actor, csv_bytes([["First name", "Email"], ["Tab", "t@e.com"]], delimiter="\t"), run_jobs)
    assert names(actor) == ["Semi", "Tab"]


def test_undecodable_bytes_reject_their_row_only(actor, run_jobs):
    data = b"First name,Email\nGood,g@example.com\nBad\xff\xfe,b@example.com\nFine,f@example.com\n"
    job = services.import_upload(actor=actor, upload=upload(data), object_type="person")
    job.encoding = "utf-8"  # as if the file had said so: the bad bytes are in one row
    job.save()
    run_jobs(services.import_start, actor=actor, job_id=job.pk)
    job.refresh_from_db()
    assert (job.created_count, job.rejected_count) == (2, 1)
    assert job.issues.get().line == 3


def test_a_header_only_file_imports_nothing_and_says_so(actor, run_jobs):
    job = run(actor, csv_bytes([["First name", "Email"]]), run_jobs)
    assert job.status == "succeeded" and job.processed == 0


def test_xlsx_import(actor, run_jobs):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["First Name", "Last Name", "Email", "Employees"])
    sheet.append(["Ada", "Lovelace", "ada@example.com", 3])
    sheet.append(["Bad", "Row", "nope", None])
    buffer = io.BytesIO()
    book.save(buffer)
    job = run(actor, buffer.getvalue(), run_jobs, name="people.xlsx")
    assert job.file_format == "xlsx"
    assert (job.created_count, job.rejected_count) == (1, 1)
    assert job.issues.get().line == 3


def test_a_broken_xlsx_is_refused(actor):
    assert "Excel" in refused(actor, b"PK\x03\x04" + b"garbage" * 100, "people.xlsx")


def test_vcard_3_and_4_import(actor, run_jobs):
    cards = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lovelace;Ada;;;\r\nFN:Ada Lovelace\r\n"
        b"EMAIL;TYPE=INTERNET:ada@example.com\r\nEMAIL:ada@work.example\r\n"
        b"TEL;TYPE=CELL:+44 20 7946 0958\r\nORG:Analytical Engines\r\nTITLE:Analyst\r\n"
        b"ADR;TYPE=WORK:;;12 St James's Sq;London;;SW1Y 4JH;United Kingdom\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\n"
        b"EMAIL:grace@example.com\r\nEND:VCARD\r\n"
    )
    job = run(actor, cards, run_jobs, name="contacts.vcf")
    assert job.file_format == "vcard" and job.created_count == 2, list(job.issues.all())
    ada = Person.objects.get(email="ada@example.com")
    assert (ada.first_name, ada.last_name, ada.title, ada.city, ada.country) == (
        "Ada",
        "Lovelace",
        "Analyst",
        "London",
        "GB",
    )
    assert ada.phone == "+442079460958" and ada.company.name == "Analytical Engines"
