"""What a file really is, from its bytes: the allow-list of attachment types.

The client's Content-Type and the file's extension decide nothing: a page named ``photo.png``
is HTML and is refused as HTML. The extension is consulted only to *refuse* names that make a
harmless-looking file run as a program once downloaded and double-clicked (``notes.js``,
``invoice.pdf.exe``), since the name travels with the download.
"""

from __future__ import annotations

import re
import zipfile
from typing import IO

import puremagic

from rapport.core.errors import ValidationFailed

HEAD_BYTES = 8192  # what the decision reads; a ZIP's directory is read from its end

ACCEPTED = (
    "images (PNG, JPEG, GIF, WebP), PDF, text and CSV, Office documents (DOCX, XLSX, PPTX, "
    "OpenDocument), ZIP archives, emails (EML, MSG) and audio (MP3, WAV, M4A, OGG)"
)

# Names that run as programs or open as web pages when a downloaded file is opened.
DANGEROUS_EXTENSIONS = frozenset(
    [
        "exe",
        "dll",
        "com",
        "scr",
        "pif",
        "msi",
        "msp",
        "msix",
        "appx",
        "appxbundle",
        "cpl",
        "sys",
        "drv",
        "ocx",
        "bat",
        "cmd",
        "ps1",
        "psm1",
        "psd1",
        "vbs",
        "vbe",
        "js",
        "jse",
        "mjs",
        "cjs",
        "wsf",
        "wsh",
        "wsc",
        "hta",
        "lnk",
        "reg",
        "inf",
        "scf",
        "url",
        "jar",
        "apk",
        "app",
        "dmg",
        "pkg",
        "deb",
        "rpm",
        "sh",
        "bash",
        "zsh",
        "csh",
        "ksh",
        "command",
        "run",
        "bin",
        "elf",
        "so",
        "dylib",
        "py",
        "pyw",
        "pyc",
        "rb",
        "pl",
        "php",
        "phtml",
        "asp",
        "aspx",
        "jsp",
        "cgi",
        "html",
        "htm",
        "xhtml",
        "xht",
        "shtml",
        "mht",
        "mhtml",
        "svg",
        "svgz",
        "xml",
        "xsl",
        "xslt",
        "swf",
        "docm",
        "dotm",
        "xlsm",
        "xltm",
        "xlam",
        "pptm",
        "potm",
        "ppam",
        "sldm",
        "iso",
        "img",
        "vhd",
        "vhdx",
    ]
)

_ZIP_OFFICE = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_ODF = {
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
_TEXT_BY_EXTENSION = {"csv": "text/csv", "tsv": "text/tab-separated-values"}
_EMAIL_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "received",
    "return-path",
    "message-id",
    "mime-version",
    "delivered-to",
    "reply-to",
    "cc",
}
_HEADER_LINE = re.compile(rb"^([A-Za-z][A-Za-z0-9-]{0,60}):[ \t]")
# What browsers sniff as markup (WHATWG MIME sniffing): refused wherever it starts the file.
_MARKUP = re.compile(
    rb"<(!doctype|html|head|body|script|iframe|svg|\?xml|xml|xsl|style|title|table|div|a[ >]"
    rb"|img|object|embed|meta|link|form|math|!--)",
    re.IGNORECASE,
)


def refuse(message: str) -> ValidationFailed:
    return ValidationFailed.one("file", message)


def extension_of(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def check_name(filename: str) -> None:
    ext = extension_of(filename)
    if ext in DANGEROUS_EXTENSIONS:
        raise refuse(
            f"Files ending in .{ext} can run as programs or web pages when opened, so they are "
            f"not accepted. Accepted: {ACCEPTED}; put other files in a ZIP archive."
        )


def sniff(fileobj: IO[bytes], filename: str) -> str:
    """The content type of ``fileobj`` (seekable, at any position), or ValidationFailed naming
    what was detected. Leaves the file at its start."""
    fileobj.seek(0)
    head = fileobj.read(HEAD_BYTES)
    fileobj.seek(0)
    try:
        return _binary(head, fileobj, filename) or _text(head, filename)
    finally:
        fileobj.seek(0)


def _binary(head: bytes, fileobj: IO[bytes], filename: str) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"ID3") or _mpeg_audio_frame(head):
        return "audio/mpeg"
    if head[4:8] == b"ftyp" and head[8:11] in (b"M4A", b"M4B"):
        return "audio/mp4"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip(fileobj)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        # Legacy Office (OLE2) files carry macros unseen; only Outlook messages are taken.
        if extension_of(filename) == "msg":
            return "application/vnd.ms-outlook"
        raise refuse(
            "This is a legacy Microsoft Office file (.doc/.xls/.ppt), which can hide macros; "
            "save it as .docx, .xlsx or .pptx and attach that."
        )
    executable = _executable(head)
    if executable:
        raise refuse(f"This file is {executable}; programs are not accepted.")
    return None


def _mpeg_audio_frame(head: bytes) -> bool:
    # An MPEG audio frame sync (11 bits set) with a defined layer; JPEG's FF D8 does not match.
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0


def _executable(head: bytes) -> str:
    if head.startswith(b"MZ"):
        return "a Windows program (EXE/DLL)"
    if head.startswith(b"\x7fELF"):
        return "a Linux program (ELF)"
    if head[:4] in (
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
    ):
        return "a macOS program or Java class"
    if head.startswith(b"#!"):
        return "a script"
    return ""


def _zip(fileobj: IO[bytes]) -> str:
    """A ZIP, or the Office/OpenDocument file it really is (read from its directory, never
    decompressing more than a few small members, so a ZIP bomb costs nothing)."""
    try:
        archive = zipfile.ZipFile(fileobj)
        names = archive.namelist()
        if "[Content_Types].xml" in names:
            with archive.open("[Content_Types].xml") as member:
                types = member.read(256 * 1024)
            if b"macroEnabled" in types or any(n.lower().endswith("vbaproject.bin") for n in names):
                raise refuse(
                    "This Office document contains macros, which can run programs; "
                    "save it without macros (.docx, .xlsx, .pptx) and attach that."
                )
            for prefix, content_type in _ZIP_OFFICE.items():
                if any(n.startswith(prefix) for n in names):
                    return content_type
        if "mimetype" in names:
            with archive.open("mimetype") as member:
                declared = member.read(100).decode("ascii", "replace").strip()
            if declared in _ODF:
                return declared
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError):
        raise refuse("This ZIP file is damaged and cannot be read.")
    return "application/zip"


def _text(head: bytes, filename: str) -> str:
    if not _looks_like_text(head):
        raise refuse(f"This file's type ({_detected(head)}) is not accepted. Accepted: {ACCEPTED}.")
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    markup = _MARKUP.match(start)
    lowered = head[:1024].lower()
    if markup or b"<script" in lowered or b"<html" in lowered or b"<svg" in lowered:
        if b"<svg" in lowered:
            kind = "an SVG image, which can carry scripts"
        elif start[:5].lower() == b"<?xml" and b"<html" not in lowered:
            kind = "an XML document, which browsers may run as a web page"
        else:
            kind = "a web page (HTML), which can carry scripts"
        raise refuse(f"This file is {kind}; it is not accepted. Accepted: {ACCEPTED}.")
    if start.startswith(b"#!"):
        raise refuse("This file is a script; programs are not accepted.")
    if _looks_like_email(start):
        return "message/rfc822"
    # Within text, the name only tells a table from prose; both are served as inert text.
    return _TEXT_BY_EXTENSION.get(extension_of(filename), "text/plain")


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return not head  # an empty file is plain (empty) text; NULs mean binary
    controls = sum(1 for b in head if b < 0x20 and b not in (0x09, 0x0A, 0x0C, 0x0D, 0x1B))
    return controls * 100 <= len(head)


def _looks_like_email(start: bytes) -> bool:
    names = set()
    for line in start.splitlines()[:30]:
        if not line.strip():
            break  # the end of the header block
        if line[:1] in (b" ", b"\t"):
            continue  # a folded header
        match = _HEADER_LINE.match(line)
        if not match:
            return False
        names.add(match.group(1).decode().lower())
    return len(names & _EMAIL_HEADERS) >= 2


def _detected(head: bytes) -> str:
    """A human name for an unknown type, for the refusal (puremagic knows hundreds)."""
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        matches = []
    for match in matches:
        if match.name:
            return f"detected: {match.name}"
    return "unrecognised binary data"
