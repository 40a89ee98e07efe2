"""/api/v1/attachments: upload, list, read, download, delete; roles, isolation, limits."""

from __future__ import annotations

import uuid

import pytest

from rapport.attachments.models import Attachment
from rapport.contacts import services as contact_services
from rapport.core.actors import Role
from rapport.testing.factories import PersonFactory, actor_for
from rapport.testing.suites import all_pages, assert_problem, count_queries

from . import samples
from .samples import upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/attachments"


def post_file(
    client, target_id, data=samples.PNG, name="photo.png", target_type="person", **headers
):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return client.client.post(
        URL,
        {"target_type": target_type, "target_id": str(target_id), "file": upload(data, name)},
        **extra,
    )


@pytest.fixture
def person(api):
    return PersonFactory(actor=actor_for(api.membership))


def test_upload_answers_201_with_location_and_details(api, person):
    r = post_file(api, person.pk, samples.PDF, "offer.pdf")
    assert r.status_code == 201, r.content
    body = r.json()
    assert r["Location"] == f"{URL}/{body['id']}"
    assert body["filename"] == "offer.pdf"
    assert body["content_type"] == "application/pdf"
    assert body["size"] == len(samples.PDF)
    assert body["target"] == {"type": "person", "id": str(person.pk)}
    assert body["created_by"] == str(api.user.pk)
    assert body["url"] == f"{URL}/{body['id']}/content"
    assert body["previewable"] is True
    assert set(body) == {
        "id", "filename", "content_type", "size", "sha256", "previewable", "target",
        "created_by", "created_at", "url",
    }  # fmt: skip
    assert api.get(f"{URL}/{body['id']}").json() == body


def test_upload_errors_are_problems(api, person, other_api):
    assert_problem(post_file(api, person.pk, samples.HTML, "photo.png"), 422, "file")
    assert_problem(post_file(api, person.pk, samples.ELF, "a.png"), 422, "file")
    assert_problem(post_file(api, person.pk, target_type="planet"), 422, "target_type")
    assert_problem(post_file(api, "not-a-uuid"), 422, "target_id")
    assert_problem(post_file(api, uuid.uuid4()), 404)
    assert_problem(post_file(other_api, person.pk), 404)  # another workspace's record
    r = api.client.post(URL, {"target_type": "person", "target_id": str(person.pk)})
    assert_problem(r, 422, "file")
    assert not Attachment.objects.exists()


def test_over_the_limit_answers_413_naming_the_limit(api, person, settings):
    settings.RAPPORT_ATTACHMENT_MAX_BYTES = 2 * 1024 * 1024
    # Just over: the middleware lets the body through, the service refuses it.
    body = assert_problem(
        post_file(api, person.pk, samples.PDF + b"0" * (2 * 1024 * 1024)), 413, "file"
    )
    assert "2 MB" in body["detail"]
    # Far over: refused from the Content-Length before the body is read.
    r = api.client.post(
        URL, data=b"x", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(10**9)
    )
    assert_problem(r, 413)
    assert not Attachment.objects.exists()
    assert samples.stored_files(api.workspace) == []


def test_bodies_above_the_api_limit_are_accepted_for_attachments(api, person):
    # The API's 1 MB JSON limit does not apply to file uploads (25 MB here).
    r = post_file(api, person.pk, samples.PDF + b"0" * (3 * 1024 * 1024), "scan.pdf")
    assert r.status_code == 201, r.content[:300]


def test_list_is_keyset_paged_with_constant_queries(api, person):
    def listing():
        return api.get(URL, {"target_type": "person", "target_id": str(person.pk)})

    post_file(api, person.pk)
    few, _, _ = count_queries(listing)
    for _ in range(6):
        post_file(api, person.pk)
    many, r, _ = count_queries(listing)
    assert many == few
    assert len(r.json()["results"]) == 7
    rows = all_pages(api, URL, {"target_type": "person", "target_id": str(person.pk), "limit": 2})
    assert len({row["id"] for row in rows}) == 7


def test_list_needs_a_visible_target(api, person, other_api):
    params = {"target_type": "person", "target_id": str(person.pk)}
    assert_problem(other_api.get(URL, params), 404)
    assert_problem(api.get(URL, {"target_type": "person"}), 422, "target_id")
    assert_problem(api.get(URL, {**params, "cursor": "garbage"}), 422, "cursor")


def test_content_is_a_download_by_default(api, person):
    attachment_id = post_file(api, person.pk, samples.PNG, "Zoë.png").json()["id"]
    r = api.get(f"{URL}/{attachment_id}/content")
    assert r.status_code == 200
    assert b"".join(r.streaming_content) == samples.PNG
    assert r["Content-Type"] == "image/png"
    assert r["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''Zo%C3%AB.png" in r["Content-Disposition"]
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Security-Policy"].startswith("sandbox")


def test_inline_only_for_images_and_pdf(api, person):
    png = post_file(api, person.pk, samples.PNG, "a.png").json()["id"]
    pdf = post_file(api, person.pk, samples.PDF, "a.pdf").json()["id"]
    text = post_file(api, person.pk, samples.TEXT, "a.txt").json()["id"]
    r = api.get(f"{URL}/{png}/content", {"inline": "1"})
    assert r["Content-Disposition"].startswith("inline")
    assert "sandbox" in r["Content-Security-Policy"]
    r = api.get(f"{URL}/{pdf}/content", {"inline": "1"})
    assert r["Content-Disposition"].startswith("inline")
    assert r["Content-Type"] == "application/pdf"
    assert "default-src 'none'" in r["Content-Security-Policy"]
    assert "script-src" not in r["Content-Security-Policy"]
    r = api.get(f"{URL}/{text}/content", {"inline": "1"})
    assert r["Content-Disposition"].startswith("attachment")
    assert r["Content-Type"] == "text/plain"


def test_other_workspaces_and_trashed_targets_get_404(api, person, other_api):
    attachment_id = post_file(api, person.pk).json()["id"]
    assert_problem(other_api.get(f"{URL}/{attachment_id}"), 404)
    assert_problem(other_api.get(f"{URL}/{attachment_id}/content"), 404)
    assert_problem(other_api.delete(f"{URL}/{attachment_id}"), 404)
    contact_services.person_delete(actor=actor_for(api.membership), person_id=person.pk)
    assert_problem(api.get(f"{URL}/{attachment_id}"), 404)
    assert_problem(api.get(f"{URL}/{attachment_id}/content"), 404)


def test_roles(api, api_as, person):
    attachment_id = post_file(api, person.pk).json()["id"]
    reader = api_as(Role.READ_ONLY)
    assert reader.get(f"{URL}/{attachment_id}/content").status_code == 200
    assert_problem(post_file(reader, person.pk), 403)
    assert_problem(reader.delete(f"{URL}/{attachment_id}"), 403)
    member = api_as(Role.MEMBER)
    assert_problem(member.delete(f"{URL}/{attachment_id}"), 403)  # not theirs
    own = post_file(member, person.pk).json()["id"]
    assert member.delete(f"{URL}/{own}").status_code == 204
    assert api.delete(f"{URL}/{attachment_id}").status_code == 204
    assert_problem(api.get(f"{URL}/{attachment_id}"), 404)


def test_idempotent_retry_returns_the_first_upload(api, person):
    first = post_file(api, person.pk, **{"Idempotency-Key": "k1"})
    again = post_file(api, person.pk, **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    other = post_file(api, person.pk, samples.PDF, "x.pdf", **{"Idempotency-Key": "k1"})
    assert_problem(other, 422, "Idempotency-Key")
    assert Attachment.objects.count() == 1


def test_anonymous_is_401(api, person):
    from rapport.testing.suites import anonymous

    assert (
        anonymous().get(URL, {"target_type": "person", "target_id": str(person.pk)}).status_code
        == 401
    )
