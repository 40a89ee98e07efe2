"""The browser side: serving files, the upload form (with and without JavaScript), deleting,
the Files section of record pages and the reusable file list."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse

from rapport.attachments import selectors, services
from rapport.attachments.models import Attachment
from rapport.contacts import services as contact_services
from rapport.core.actors import Role
from rapport.testing.clients import make_browser
from rapport.testing.factories import CompanyFactory, MembershipFactory, PersonFactory, actor_for
from rapport.testing.suites import count_queries
from rapport.ui import sections

from . import samples
from .samples import upload

pytestmark = pytest.mark.django_db

UPLOAD = reverse("attachments:upload")


@pytest.fixture
def actor(browser):
    return actor_for(browser.membership)


@pytest.fixture
def person(actor):
    return PersonFactory(actor=actor)


def attach(actor, record, data=samples.PNG, name="photo.png", target_type="person"):
    return services.attachment_upload(
        actor=actor, target_type=target_type, target_id=record.pk, upload=upload(data, name)
    )


def form(person, data=samples.PNG, name="photo.png", **extra):
    return {
        "target_type": "person",
        "target_id": str(person.pk),
        "file": upload(data, name),
        **extra,
    }


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- serving ----------------------------------------------------------------------------------


def test_serve_streams_the_file_as_a_download(browser, actor, person):
    attachment = attach(actor, person, samples.PDF, "Offer <v2>.pdf")
    r = browser.get(reverse("attachments:serve", args=[attachment.pk]))
    assert r.status_code == 200
    assert b"".join(r.streaming_content) == samples.PDF
    assert r["Content-Type"] == "application/pdf"
    assert r["Content-Disposition"] == 'attachment; filename="Offer _v2_.pdf"'
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Security-Policy"].startswith("sandbox")
    assert r["Cross-Origin-Resource-Policy"] == "same-origin"
    assert r["Cache-Control"] == "private, no-cache"
    assert r["Content-Length"] == str(len(samples.PDF))
    again = browser.get(
        reverse("attachments:serve", args=[attachment.pk]), HTTP_IF_NONE_MATCH=r["ETag"]
    )
    assert again.status_code == 304


def test_inline_preview_only_for_images_and_pdf(browser, actor, person):
    for data, name, inline in [
        (samples.PNG, "a.png", True),
        (samples.GIF, "a.gif", True),
        (samples.PDF, "a.pdf", True),
        (samples.TEXT, "a.txt", False),
        (samples.DOCX, "a.docx", False),
        (samples.MP3, "a.mp3", False),
    ]:
        attachment = attach(actor, person, data, name)
        r = browser.get(reverse("attachments:serve", args=[attachment.pk]) + "?inline=1")
        disposition = r["Content-Disposition"].split(";")[0]
        assert disposition == ("inline" if inline else "attachment"), name
        assert r["X-Content-Type-Options"] == "nosniff"
        if name.endswith(".pdf"):
            assert "sandbox" not in r["Content-Security-Policy"]  # the browser's PDF viewer
            assert "default-src 'none'" in r["Content-Security-Policy"]
        else:
            assert r["Content-Security-Policy"].startswith("sandbox")


def test_serve_is_404_for_other_workspaces_trash_and_deleted(browser, actor, person):
    attachment = attach(actor, person)
    url = reverse("attachments:serve", args=[attachment.pk])
    stranger, _ = make_browser(Role.OWNER)
    assert stranger.get(url).status_code == 404
    assert Client().get(url).status_code == 302  # to the login page
    contact_services.person_delete(actor=actor, person_id=person.pk)
    assert browser.get(url).status_code == 404
    other = PersonFactory(actor=actor)
    deleted = attach(actor, other)
    services.attachment_delete(actor=actor, attachment_id=deleted.pk)
    assert browser.get(reverse("attachments:serve", args=[deleted.pk])).status_code == 404


def test_read_only_members_download_but_cannot_upload_or_delete(browser, actor, person):
    attachment = attach(actor, person)
    reader, _ = make_browser(Role.READ_ONLY, workspace=actor.workspace)
    assert reader.get(reverse("attachments:serve", args=[attachment.pk])).status_code == 200
    assert reader.post(UPLOAD, form(person)).status_code == 403
    r = reader.post(UPLOAD, form(person), HTTP_ACCEPT="application/json")
    assert r.status_code == 403 and "read-only" in r.json()["error"]
    assert reader.post(reverse("attachments:delete", args=[attachment.pk])).status_code == 403
    assert Attachment.objects.count() == 1


# --- uploading --------------------------------------------------------------------------------


def test_upload_without_javascript_redirects_back_with_a_message(browser, person):
    r = browser.post(UPLOAD, form(person, next="/people/?x=1"))
    assert r.status_code == 302 and r["Location"] == "/people/?x=1"
    assert flashes(r) == ["Attached photo.png."]
    attachment = Attachment.objects.get()
    assert (attachment.target_type, attachment.target_id) == ("person", person.pk)
    # Without a (safe) next, back to the record's page.
    r = browser.post(UPLOAD, form(person, next="https://evil.example/"))
    assert r["Location"] == reverse("contacts:person_detail", args=[person.pk])


def test_refused_files_come_back_with_a_clear_message(browser, person):
    r = browser.post(UPLOAD, form(person, samples.HTML, "cat.png"))
    assert r.status_code == 302
    [message] = flashes(r)
    assert "not attached" in message and "HTML" in message
    r = browser.post(UPLOAD, form(person, samples.HTML, "cat.png"), HTTP_ACCEPT="application/json")
    assert r.status_code == 422 and "HTML" in r.json()["error"]
    r = browser.post(UPLOAD, {"target_type": "person", "target_id": str(person.pk)})
    assert "Choose a file" in flashes(r)[-1]
    assert not Attachment.objects.exists()


def test_upload_for_scripts_answers_json(browser, person):
    r = browser.post(UPLOAD, form(person), HTTP_ACCEPT="application/json")
    assert r.status_code == 201
    assert r.json()["filename"] == "photo.png"


def test_oversized_uploads_are_refused_before_the_body_is_read(browser, person, settings):
    settings.RAPPORT_ATTACHMENT_MAX_BYTES = 1024 * 1024
    query = f"?target_type=person&target_id={person.pk}"
    r = browser.post(
        UPLOAD + query,
        data=b"x",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(50 * 1024 * 1024),
        HTTP_ACCEPT="application/json",
    )
    assert r.status_code == 413
    assert r.json()["error"] == (
        "The file is larger than 1 MB, the largest file that can be attached."
    )
    r = browser.post(
        UPLOAD + query,
        data=b"x",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(50 * 1024 * 1024),
    )
    assert r["Location"] == reverse("contacts:person_detail", args=[person.pk])
    assert "larger than 1 MB" in flashes(r)[-1]
    # Just over the limit inside an acceptable body: refused by the service, nothing stored.
    r = browser.post(UPLOAD, form(person, samples.PDF + b"0" * (1024 * 1024), "big.pdf"))
    assert "larger than 1 MB" in flashes(r)[-1]
    assert not Attachment.objects.exists()
    assert samples.stored_files(person.workspace) == []


def test_upload_checks_csrf(person, browser):
    client = Client(enforce_csrf_checks=True)
    client.force_login(browser.membership.user)
    assert client.post(UPLOAD, form(person)).status_code == 403
    assert not Attachment.objects.exists()


def test_uploads_to_invisible_records_are_404(browser, person):
    stranger_person = PersonFactory()
    assert browser.post(UPLOAD, form(stranger_person)).status_code == 404


# --- deleting ---------------------------------------------------------------------------------


def test_members_delete_their_own_files(browser, actor, person):
    member, membership = make_browser(Role.MEMBER, workspace=actor.workspace)
    theirs = attach(actor, person)
    mine = attach(actor_for(membership), person)
    assert member.post(reverse("attachments:delete", args=[theirs.pk])).status_code == 403
    r = member.post(reverse("attachments:delete", args=[mine.pk]))
    assert r.status_code == 302 and r["Location"] == reverse(
        "contacts:person_detail", args=[person.pk]
    )
    assert flashes(r) == [
        'Deleted photo.png. <a href="/files/trash/">Restore it from the trash</a>.'
    ]
    assert member.get(reverse("attachments:delete", args=[mine.pk])).status_code == 405


# --- the Files section --------------------------------------------------------------------------


def test_files_section_is_registered_for_people_and_companies():
    for object_type in ("person", "company"):
        section = next(s for s in sections.for_page(object_type) if s.key == "files")
        assert (section.column, section.order, section.title) == ("side", 60, "Files")


def _render_section(actor, obj, user):
    request = RequestFactory().get("/")
    request.user = user
    request.actor = actor
    section = next(s for s in sections.for_page(sections_type(obj)) if s.key == "files")
    context = section.context(request, actor, obj)
    return render_to_string(section.template, {**context, "actor": actor}, request=request)


def sections_type(obj) -> str:
    return "company" if obj.__class__.__name__ == "Company" else "person"


def test_section_lists_files_with_thumbnails_previews_and_form(actor, person):
    png = attach(actor, person, samples.PNG, "<i>face<i>.png")
    pdf = attach(actor, person, samples.PDF, "contract.pdf")
    attach(actor, person, samples.CSV, "list.csv")
    html = _render_section(actor, person, actor.user)
    serve_png = reverse("attachments:serve", args=[png.pk])
    assert f'<img src="{serve_png}?inline=1"' in html
    assert f'href="{reverse("attachments:serve", args=[pdf.pk])}?inline=1"' in html
    assert "_i_face_i_.png" in html and "<i>" not in html
    assert "list.csv" in html and "CSV" in html
    assert 'enctype="multipart/form-data"' in html
    assert "ui/attachments.js" in html and "ui/attachments.css" in html
    assert html.count("Delete") >= 3  # the owner may delete every file
    assert str(actor.user.display_name) in html


def test_section_for_read_only_has_no_form_and_no_delete(actor, person):
    attach(actor, person)
    reader = actor_for(MembershipFactory(workspace=actor.workspace, role=Role.READ_ONLY.value))
    html = _render_section(reader, person, reader.user)
    assert "photo.png" in html
    assert "multipart/form-data" not in html and "Delete" not in html


def test_company_section_and_empty_state(actor):
    company = CompanyFactory(actor=actor)
    html = _render_section(actor, company, actor.user)
    assert "No files yet." in html
    assert 'name="target_type" value="company"' in html


def test_section_queries_are_constant_in_files(actor, person):
    attach(actor, person)
    few, _, _ = count_queries(lambda: _render_section(actor, person, actor.user))
    for i in range(8):
        attach(actor, person, name=f"p{i}.png")
    many, _, _ = count_queries(lambda: _render_section(actor, person, actor.user))
    assert many == few


def test_files_page_and_fragment(browser, actor, person):
    for i in range(3):
        attach(actor, person, name=f"p{i}.png")
    url = reverse("attachments:files", args=["person", person.pk])
    r = browser.get(url)
    assert r.status_code == 200
    assert b"p0.png" in r.content and b"<html" in r.content
    r = browser.get(url, {"fragment": "1"})
    assert b"p2.png" in r.content and b"<html" not in r.content
    # A refreshed section's forms lead back to the record's page, not to the fragment.
    back = reverse("contacts:person_detail", args=[person.pk])
    assert f'name="next" value="{back}"'.encode() in r.content
    r = browser.get(url, {"cursor": "garbage"})
    assert r.status_code == 200
    stranger, _ = make_browser(Role.OWNER)
    assert stranger.get(url).status_code == 404
    assert browser.get(reverse("attachments:files", args=["planet", person.pk])).status_code == 404


def test_file_list_partial_for_timelines(actor, person):
    files = selectors.attachments_for(actor=actor, target_type="person", ids=[person.pk])
    assert files == {}
    attachment = attach(actor, person, samples.PDF, "minutes.pdf")
    files = selectors.attachments_for(actor=actor, target_type="person", ids=[person.pk])
    html = render_to_string(
        "attachments/partials/file_list.html", {"attachments": files[person.pk], "actor": actor}
    )
    assert "minutes.pdf" in html and "Preview" in html
    assert reverse("attachments:serve", args=[attachment.pk]) in html
