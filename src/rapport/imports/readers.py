"""Reading import files as a stream of rows: CSV (any encoding, delimiter, line ending), XLSX
and vCard. Nothing here holds more than one row (and a small sample) in memory, and every way a
file can be unreadable becomes a ``FileProblem`` with a sentence the user can act on.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from rapport.core.errors import ValidationFailed

MAX_COLUMNS = 500
MAX_LINE_CHARS = 1_000_000  # one physical line; a 300 MB single line is refused, not read
MAX_CELL_CHARS = 100_000
SAMPLE_ROWS = 20
_SNIFF_BYTES = 64 * 1024

csv.field_size_limit(MAX_CELL_CHARS)

REPLACEMENT = "\ufffd"  # what undecodable bytes become: the row holding them is rejected


class FileProblem(ValidationFailed):
    def __init__(self, message: str):
        super().__init__(message, [])
        from rapport.core.errors import FieldError

        self.errors = [FieldError("file", message)]


@dataclass
class Sniffed:
    file_format: str  # csv | xlsx | vcard
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)
    sample: list[list[str]] = field(default_factory=list)
    estimated_rows: int | None = None


# --- detection ------------------------------------------------------------------------------


def sniff(raw: IO[bytes], file_name: str) -> Sniffed:
    """Tells the format from the content (not the name), the encoding and the delimiter, and
    reads the header and the first rows."""
    head = raw.read(_SNIFF_BYTES)
    raw.seek(0)
    if not head.strip():
        raise FileProblem("The file is empty.")
    if head.startswith(b"PK\x03\x04"):
        result = Sniffed("xlsx")
    elif _looks_like_vcard(head):
        result = Sniffed("vcard", encoding=_encoding(head))
    else:
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise FileProblem(
                "This is an old Excel (.xls) file; save it as .xlsx or CSV and upload it again."
            )
        encoding = _encoding(head)
        text = head.decode(encoding, errors="replace")
        result = Sniffed("csv", encoding=encoding, delimiter=_delimiter(text))
    rows = iter_rows(raw, result)
    try:
        header = next(rows, None)
        if header is None:
            raise FileProblem("The file has no rows.")
        result.headers = [h.strip() for h in header[1]]
        if not any(result.headers):
            raise FileProblem("The first row is empty; it must name the columns.")
        for _ in range(SAMPLE_ROWS):
            row = next(rows, None)
            if row is None:
                break
            result.sample.append(row[1])
    finally:
        raw.seek(0)
    result.estimated_rows = estimate_rows(raw, result)
    raw.seek(0)
    return result


def _looks_like_vcard(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \r\n\t")[:20].upper()
    return start.startswith(b"BEGIN:VCARD")


def _encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise FileProblem(
            "This does not look like a text file (it holds binary data). Upload a CSV, XLSX or "
            "vCard file."
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        raise FileProblem("The file's text encoding could not be recognised; save it as UTF-8.")
    return best.encoding


def _delimiter(text: str) -> str:
    lines = text.splitlines()[:20]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def estimate_rows(raw: IO[bytes], sniffed: Sniffed) -> int | None:
    """About how many records the file holds (for the progress bar), counted in one fast pass
    over the bytes; quoted newlines make it an estimate."""
    if sniffed.file_format == "xlsx":
        return _xlsx_row_count(raw)
    marker = b"BEGIN:VCARD" if sniffed.file_format == "vcard" else b"\n"
    if sniffed.encoding == "utf-16":
        return None
    count, last = 0, b""
    while chunk := raw.read(4 * 1024 * 1024):
        count += (
            chunk.upper().count(marker) if sniffed.file_format == "vcard" else chunk.count(marker)
        )
        last = chunk[-1:]
    if sniffed.file_format == "csv":
        count += 0 if last == b"\n" else 1
        count -= 1  # the header
    return max(count, 0)


_XLSX_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")


def _xlsx_row_count(raw: IO[bytes]) -> int | None:
    """The data rows of the first sheet: its declared dimension (``<dimension ref="A1:K5000">``,
    read without parsing a cell) or, when the writer left it out, the ``<row>`` tags counted in
    one pass over the sheet's XML. Either way blank rows count too: an estimate."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(raw, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return None  # reading the rows says what is wrong with the file
    try:
        sheet = book.worksheets[0]
        rows = sheet.max_row
        if not rows or rows <= 1:  # no dimension, or "A1" from a writer that never set it
            rows = _count_row_tags(book, sheet)
    finally:
        book.close()
    return max(rows - 1, 0) if rows else None  # less the header


def _count_row_tags(book, sheet) -> int | None:
    archive, path = getattr(book, "_archive", None), getattr(sheet, "_worksheet_path", None)
    if archive is None or path is None:
        return None
    count, tail = 0, b""
    with archive.open(path) as xml:
        while chunk := xml.read(1024 * 1024):
            data = tail + chunk
            count += len(_XLSX_ROW.findall(data))
            # keep the end of the chunk for a tag cut in two, without counting it twice
            cut = max(data.rfind(b"<"), len(data) - 16)
            tail = data[cut:] if not _XLSX_ROW.search(data, cut) else b""
    return count


# --- reading --------------------------------------------------------------------------------


def iter_rows(raw: IO[bytes], sniffed: Sniffed) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for every row, the header first."""
    if sniffed.file_format == "xlsx":
        return _xlsx_rows(raw)
    if sniffed.file_format == "vcard":
        return _vcard_rows(raw, sniffed.encoding)
    return _csv_rows(raw, sniffed.encoding, sniffed.delimiter or ",")


def _bounded_lines(text: IO[str]) -> Iterator[str]:
    line_no = 0
    while True:
        line = text.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        line_no += 1
        if len(line) > MAX_LINE_CHARS:
            raise FileProblem(
                f"Line {line_no} is longer than {MAX_LINE_CHARS:,} characters; this is not a "
                "CSV file Rapport can read."
            )
        yield line


def _csv_rows(raw: IO[bytes], encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    reader = csv.reader(_bounded_lines(text), delimiter=delimiter, strict=False)
    start = 1
    try:
        for cells in reader:
            if len(cells) > MAX_COLUMNS:
                raise FileProblem(
                    f"Line {start} has {len(cells):,} columns; at most {MAX_COLUMNS} can be "
                    "imported."
                )
            if any(c.strip() for c in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise FileProblem(f"Line {reader.line_num} cannot be read as CSV: {exc}.")
    finally:
        text.detach()


def _xlsx_rows(raw: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # uses defusedxml when it is installed

    try:
        book = load_workbook(raw, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(f"This is not an Excel file Rapport can read ({exc}).")
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if len(values) > MAX_COLUMNS:
                cells = [_cell(v) for v in values]
                while cells and not cells[-1]:
                    cells.pop()
                if len(cells) > MAX_COLUMNS:
                    raise FileProblem(
                        f"Row {number} has {len(cells):,} columns; at most {MAX_COLUMNS} can be "
                        "imported."
                    )
            else:
                cells = [_cell(v) for v in values]
            if any(cells):
                yield number, cells
    finally:
        book.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return str(decimal.Decimal(repr(value)))
    if isinstance(value, dt.datetime):
        return value.isoformat() if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:MAX_CELL_CHARS]


VCARD_COLUMNS = [
    "Full name",
    "First name",
    "Last name",
    "Email",
    "Other emails",
    "Phone",
    "Organization",
    "Title",
    "Street",
    "City",
    "Region",
    "Postal code",
    "Country",
    "Note",
]


def _vcard_rows(raw: IO[bytes], encoding: str) -> Iterator[tuple[int, list[str]]]:
    """vCard 3 and 4: one row per card under fixed columns, so mapping works as for CSV."""
    import vobject

    yield 0, list(VCARD_COLUMNS)
    text = io.TextIOWrapper(raw, encoding=encoding or "utf-8", errors="replace", newline="")
    number = 0
    try:
        for card in vobject.readComponents(text, ignoreUnreadable=True):
            number += 1
            if card.name.upper() != "VCARD":
                continue
            yield number, _vcard_cells(card)
    except Exception as exc:  # vobject raises bare ParseError/ValueError on broken cards
        raise FileProblem(f"Card {number + 1} cannot be read as a vCard: {exc}.")
    finally:
        text.detach()


def _vcard_cells(card) -> list[str]:
    def values(name: str) -> list:
        return [c.value for c in card.contents.get(name, [])]

    def first(name: str) -> str:
        found = values(name)
        return str(found[0]).strip() if found else ""

    given = family = ""
    for n in values("n"):
        given, family = (n.given or "").strip(), (n.family or "").strip()
        break
    if isinstance(given, list):
        given = " ".join(given)
    if isinstance(family, list):
        family = " ".join(family)
    emails = [str(e).strip() for e in values("email") if str(e).strip()]
    org = ""
    for o in values("org"):
        org = (o[0] if isinstance(o, list) and o else str(o)).strip()
        break
    street = city = region = code = country = ""
    for adr in values("adr"):
        street = _join(adr.street)
        city, region, code, country = (
            _join(x) for x in (adr.city, adr.region, adr.code, adr.country)
        )
        break
    return [
        first("fn"),
        given,
        family,
        emails[0] if emails else "",
        "; ".join(emails[1:]),
        first("tel"),
        org,
        first("title"),
        street,
        city,
        region,
        code,
        country,
        first("note"),
    ]


def _join(value) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value if v).strip()
    return str(value or "").strip()
