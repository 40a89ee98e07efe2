"""Small real-looking files of each kind, and helpers shared by the attachment tests."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00" + (
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00" + (
    b"\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TEXT = "Meeting notes: Zoë asked about the renewal.\n".encode()
CSV = b"name,email\nAda,ada@example.com\n"
EML = (
    b"From: Ada <ada@example.com>\r\nTo: sales@example.com\r\nSubject: Renewal\r\n"
    b"Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nHello!\r\n"
)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 64
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00" + b"\x00" * 32
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 32
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 50 + b"PE\x00\x00"
SCRIPT = b"#!/bin/sh\nrm -rf ~\n"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 120


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX = zipped(
    {
        "[Content_Types].xml": b'<Types><Override ContentType="application/vnd.openxmlformats-'
        b'officedocument.wordprocessingml.document.main+xml"/></Types>',
        "word/document.xml": b"<w:document/>",
    }
)
XLSX = zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
DOCM = zipped(
    {
        "[Content_Types].xml": b'<Types><Default ContentType="application/vnd.ms-word.document.'
        b'macroEnabled.main+xml"/></Types>',
        "word/document.xml": b"<w:document/>",
        "word/vbaProject.bin": b"\x00" * 16,
    }
)
ODT = zipped({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<office/>"})
ZIP = zipped({"a.txt": b"a", "b.txt": b"b"})


def upload(data: bytes, name: str = "file.bin", content_type: str = "application/octet-stream"):
    """A file as Django hands it to a view (the client's content type is ignored anyway)."""
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_files(workspace=None) -> list[Path]:
    """Every file in the test media folder's attachments (of one workspace, if given)."""
    root = Path(settings.MEDIA_ROOT) / "attachments"
    if workspace is not None:
        root = root / str(workspace.pk)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
