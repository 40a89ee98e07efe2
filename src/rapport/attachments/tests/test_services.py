"""Uploading, sniffing, limits, names, deleting, visibility and merging of attachments."""

from __future__ import annotations

import io
import uuid

import pytest

from rapport.attachments import selectors, services
from rapport.attachments.models import Attachment
from rapport.audit.models import AuditEntry
from rapport.contacts import merging
from rapport.contacts import services as contact_services
from rapport.core.actors import Role
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed
from rapport.testing.factories import CompanyFactory, MembershipFactory, PersonFactory, actor_for
from rapport.testing.suites import count_queries

from . import samples
from .samples import upload

pytestmark = pytest.mark.django_db


def as_role(actor, role: Role):
    return actor_for(MembershipFactory(workspace=actor.workspace, role=role.value))


def attach(actor, record, data=samples.PNG, name="photo.png", target_type="person"):
    return services.attachment_upload(
        actor=actor, target_type=target_type, target_id=record.pk, upload=upload(data, name)
    )


@pytest.fixture
def person(actor):
    return PersonFactory(actor=actor)


# --- uploading ------------------------------------------------------------------------------


def test_upload_stores_file_row_and_audit(actor, person):
    attachment = attach(actor, person, samples.PNG, "Zoë's photo.png")
    assert attachment.content_type == "image/png"
    assert attachment.size == len(samples.PNG)
    assert attachment.filename == "Zoë's photo.png"
    assert len(attachment.sha256) == 64
    assert attachment.created_by == actor.user
    assert attachment.file.name.startswith(f"attachments/{actor.workspace.pk}/{attachment.pk}/")
    with attachment.file.open("rb") as f:
        assert f.read() == samples.PNG
    entry = AuditEntry.objects.get(action="attachment.uploaded", object_id=str(attachment.pk))
    assert entry.changes["target"]["after"] == {"type": "person", "id": str(person.pk)}
    assert entry.changes["filename"]["after"] == "Zoë's photo.png"


def test_upload_from_a_plain_stream(actor, person):
    """A non-seekable file-like (a mail attachment) is spooled, measured and stored."""

    class Stream(io.RawIOBase):
        def __init__(self, data):
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def read(self, n=-1):
            return self._data.read(n)

    attachment = services.attachment_upload(
        actor=actor,
        target_type="person",
        target_id=person.pk,
        upload=Stream(samples.PDF),
        filename="offer.pdf",
    )
    assert (attachment.content_type, attachment.size) == ("application/pdf", len(samples.PDF))


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (samples.PNG, "a.png", "image/png"),
        (samples.JPEG, "a.jpg", "image/jpeg"),
        (samples.GIF, "a.gif", "image/gif"),
        (samples.WEBP, "a.webp", "image/webp"),
        (samples.PDF, "a.pdf", "application/pdf"),
        (samples.TEXT, "notes.txt", "text/plain"),
        (samples.CSV, "list.csv", "text/csv"),
        (samples.EML, "mail.eml", "message/rfc822"),
        (
            samples.DOCX,
            "letter.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            samples.XLSX,
            "sheet.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (samples.ODT, "letter.odt", "application/vnd.oasis.opendocument.text"),
        (samples.ZIP, "bundle.zip", "application/zip"),
        (samples.OLE, "mail.msg", "application/vnd.ms-outlook"),
        (samples.MP3, "call.mp3", "audio/mpeg"),
        (samples.WAV, "call.wav", "audio/wav"),
        (samples.M4A, "call.m4a", "audio/mp4"),
    ],
)
def test_accepted_types_are_sniffed_from_content(actor, person, data, name, content_type):
    assert attach(actor, person, data, name).content_type == content_type


def test_the_name_does_not_decide_the_type(actor, person):
    # A PDF named .png is a PDF; a PNG named .txt is a PNG.
    assert attach(actor, person, samples.PDF, "scan.png").content_type == "application/pdf"
    assert attach(actor, person, samples.PNG, "image.txt").content_type == "image/png"


@pytest.mark.parametrize(
    ("data", "name", "said"),
    [
        (samples.HTML, "photo.png", "HTML"),
        (b"  \n<html><body>hi</body></html>", "notes.txt", "HTML"),
        (samples.SVG, "logo.png", "SVG"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "logo.svg", ".svg"),
        (samples.ELF, "photo.png", "Linux program"),
        (samples.EXE, "report.pdf", "Windows program"),
        (samples.EXE, "setup.exe", ".exe"),
        (samples.SCRIPT, "notes.txt", "script"),
        (samples.TEXT, "run.js", ".js"),
        (samples.PNG, "invoice.pdf.exe", ".exe"),
        (samples.OLE, "old.doc", "legacy Microsoft Office"),
        (samples.DOCM, "letter.docx", "macros"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 40, "backup.gz", "not accepted"),
        (b"PK\x03\x04broken", "broken.zip", "damaged"),
    ],
)
def test_forbidden_types_are_refused_naming_what_was_found(actor, person, data, name, said):
    with pytest.raises(ValidationFailed) as exc:
        attach(actor, person, data, name)
    assert exc.value.errors[0].field == "file"
    assert said in exc.value.errors[0].message
    assert not Attachment.objects.exists()
    assert samples.stored_files(actor.workspace) == []


def test_empty_file_is_refused(actor, person):
    with pytest.raises(ValidationFailed, match="empty"):
        attach(actor, person, b"", "empty.txt")


def test_over_the_limit_is_refused_and_nothing_is_stored(actor, person, settings):
    settings.RAPPORT_ATTACHMENT_MAX_BYTES = 1024 * 1024
    big = samples.PDF + b"0" * (1024 * 1024)
    with pytest.raises(services.FileTooLarge) as exc:
        attach(actor, person, big, "big.pdf")
    assert exc.value.status == 413
    assert "1 MB" in exc.value.errors[0].message
    assert not Attachment.objects.exists()
    assert samples.stored_files(actor.workspace) == []
    # Exactly at the limit is fine.
    ok = attach(actor, person, big[: 1024 * 1024], "ok.pdf")
    assert ok.size == 1024 * 1024


def test_an_oversized_stream_is_abandoned_at_the_limit(actor, person, settings):
    settings.RAPPORT_ATTACHMENT_MAX_BYTES = 1000

    class Endless(io.RawIOBase):
        read_bytes = 0

        def readable(self):
            return True

        def read(self, n=-1):
            self.read_bytes += n
            return b"a" * n

    stream = Endless()
    with pytest.raises(services.FileTooLarge):
        services.attachment_upload(
            actor=actor, target_type="person", target_id=person.pk, upload=stream, filename="x"
        )
    assert stream.read_bytes < 200_000  # stopped at the first chunk past the limit


def test_storage_failure_leaves_no_file(actor, person, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("rapport.attachments.services.record", broken)
    with pytest.raises(RuntimeError):
        attach(actor, person)
    assert not Attachment.objects.exists()
    assert samples.stored_files(actor.workspace) == []


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("<script>.png", "_script_.png"),
        ("photo\u202egnp.png", "photognp.png"),  # a right-to-left override disguising a name
        ("  ..hidden.png  ", "hidden.png"),
        ("résumé 2024 (final).pdf", "résumé 2024 (final).pdf"),
        ("", "file"),
        ("../", "file"),
    ],
)
def test_file_names_are_sanitised(actor, person, given, shown):
    data = samples.PDF if shown.endswith(".pdf") else samples.PNG
    attachment = services.attachment_upload(
        actor=actor, target_type="person", target_id=person.pk, upload=upload(data), filename=given
    )
    assert attachment.filename == shown
    stored = attachment.file.name.rsplit("/", 1)[-1]
    assert "/" not in stored and ".." not in attachment.file.name
    assert attachment.file.name.startswith(f"attachments/{actor.workspace.pk}/{attachment.pk}/")


def test_a_very_long_unicode_name_keeps_its_extension(actor, person):
    attachment = attach(actor, person, samples.PDF, "報告" * 300 + ".pdf")
    assert attachment.filename.endswith(".pdf") and len(attachment.filename) <= 200
    assert len(attachment.file.name.rsplit("/", 1)[-1].encode()) <= 120


def test_targets_must_be_visible_and_known(actor, person):
    other = PersonFactory()  # another workspace
    with pytest.raises(NotFound):
        attach(actor, other)
    with pytest.raises(NotFound):
        services.attachment_upload(
            actor=actor, target_type="person", target_id=uuid.uuid4(), upload=upload(samples.PNG)
        )
    with pytest.raises(ValidationFailed) as exc:
        attach(actor, person, target_type="planet")
    assert exc.value.errors[0].field == "target_type"
    with pytest.raises(ValidationFailed) as exc:
        services.attachment_upload(
            actor=actor, target_type="person", target_id="nope", upload=upload(samples.PNG)
        )
    assert exc.value.errors[0].field == "target_id"


def test_companies_take_files(actor):
    company = CompanyFactory(actor=actor)
    assert attach(actor, company, target_type="company").target_type == "company"


# --- roles and deleting ------------------------------------------------------------------------


def test_read_only_members_cannot_upload_or_delete(actor, person):
    attachment = attach(actor, person)
    reader = as_role(actor, Role.READ_ONLY)
    with pytest.raises(PermissionDenied):
        attach(reader, person)
    with pytest.raises(PermissionDenied):
        services.attachment_delete(actor=reader, attachment_id=attachment.pk)
    assert selectors.attachment_get(actor=reader, attachment_id=attachment.pk) == attachment


def test_members_delete_their_own_files_only_managers_any(actor, person):
    alice, bob = as_role(actor, Role.MEMBER), as_role(actor, Role.MEMBER)
    mine = attach(alice, person)
    theirs = attach(bob, person)
    with pytest.raises(PermissionDenied):
        services.attachment_delete(actor=alice, attachment_id=theirs.pk)
    services.attachment_delete(actor=alice, attachment_id=mine.pk)
    services.attachment_delete(actor=as_role(actor, Role.MANAGER), attachment_id=theirs.pk)
    mine.refresh_from_db()
    assert mine.deleted_at is not None and mine.deleted_by == alice.user
    assert mine.file.storage.exists(mine.file.name)  # soft delete: the bytes stay until purge
    assert AuditEntry.objects.filter(action="attachment.deleted").count() == 2
    with pytest.raises(NotFound):
        selectors.attachment_get(actor=actor, attachment_id=mine.pk)
    assert (
        selectors.attachment_list(actor=actor, target_type="person", target_id=person.pk).rows == []
    )


# --- visibility ---------------------------------------------------------------------------------


def test_files_follow_their_record_into_the_trash(actor, person):
    attachment = attach(actor, person)
    contact_services.person_delete(actor=actor, person_id=person.pk)
    with pytest.raises(NotFound):
        selectors.attachment_get(actor=actor, attachment_id=attachment.pk)
    with pytest.raises(NotFound):
        selectors.attachment_list(actor=actor, target_type="person", target_id=person.pk)
    assert selectors.attachments_for(actor=actor, target_type="person", ids=[person.pk]) == {}


def test_another_workspace_sees_nothing(actor, person):
    attachment = attach(actor, person)
    stranger = actor_for(MembershipFactory())
    with pytest.raises(NotFound):
        selectors.attachment_get(actor=stranger, attachment_id=attachment.pk)
    with pytest.raises(NotFound):
        selectors.attachment_list(actor=stranger, target_type="person", target_id=person.pk)
    assert selectors.attachments_for(actor=stranger, target_type="person", ids=[person.pk]) == {}
    with pytest.raises(NotFound):
        services.attachment_delete(actor=stranger, attachment_id=attachment.pk)


def test_attachments_for_many_targets_in_one_query(actor):
    people = [PersonFactory(actor=actor) for _ in range(4)]
    for i, p in enumerate(people[:3]):
        for _ in range(i + 1):
            attach(actor, p)
    n, found, _ = count_queries(
        lambda: selectors.attachments_for(
            actor=actor, target_type="person", ids=[p.pk for p in people]
        )
    )
    assert n == 1
    assert {k: len(v) for k, v in found.items()} == {
        people[0].pk: 1,
        people[1].pk: 2,
        people[2].pk: 3,
    }
    assert found[people[2].pk][0].created_by.email  # the uploader is loaded with the rows
    assert selectors.attachments_for(actor=actor, target_type="nope", ids=[people[0].pk]) == {}


def test_list_pages_newest_first(actor, person):
    made = [attach(actor, person) for _ in range(5)]
    first = selectors.attachment_list(
        actor=actor, target_type="person", target_id=person.pk, limit=3
    )
    rest = selectors.attachment_list(
        actor=actor, target_type="person", target_id=person.pk, limit=3, cursor=first.next_cursor
    )
    assert rest.next_cursor is None
    seen = [a.pk for a in first.rows + rest.rows]
    assert sorted(seen) == sorted(a.pk for a in made) and len(set(seen)) == 5
    times = [a.created_at for a in first.rows + rest.rows]
    assert times == sorted(times, reverse=True)


# --- merging ----------------------------------------------------------------------------------


def test_merging_people_moves_their_files(actor):
    survivor, loser = PersonFactory(actor=actor), PersonFactory(actor=actor)
    kept = attach(actor, survivor)
    moved = attach(actor, loser, samples.PDF, "contract.pdf")
    assert {m.label: m.count(loser) for m in merging.movers("person") if m.count}["files"] == 1
    merging.person_merge(actor=actor, into_id=survivor.pk, from_id=loser.pk)
    rows = selectors.attachment_list(actor=actor, target_type="person", target_id=survivor.pk).rows
    assert {a.pk for a in rows} == {kept.pk, moved.pk}


def test_merging_companies_moves_their_files(actor):
    survivor, loser = CompanyFactory(actor=actor), CompanyFactory(actor=actor)
    moved = attach(actor, loser, target_type="company")
    merging.company_merge(actor=actor, into_id=survivor.pk, from_id=loser.pk)
    moved.refresh_from_db()
    assert moved.target_id == survivor.pk
