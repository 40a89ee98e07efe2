from __future__ import annotations

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def upload(data: bytes, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


HUBSPOT_HEADER = [
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Company Name",
    "Job Title",
    "Lifecycle Stage",
    "City",
    "Country/Region",
    "Record ID",
]


def hubspot_rows(n: int, start: int = 0) -> list[list[str]]:
    return [
        [
            f"Ann{i}",
            "Smith",
            f"ann{i}@example.com",
            "+1 202 555 0199",
            "Acme Corp" if i % 2 else "Initech",
            "CEO",
            "Customer",
            "Paris",
            "France",
            f"hs-{i}",
        ]
        for i in range(start, start + n)
    ]
