"""Settings → Logo: admins upload a PNG or JPEG of at most 1 MiB, or remove it; audited; the
type comes from the bytes; every other workspace is untouched."""

from __future__ import annotations

import io
import os

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from rapport.audit.models import AuditEntry
from rapport.core.actors import Role
from rapport.core.errors import PermissionDenied, ValidationFailed
from rapport.tenancy import logo_services
from rapport.tenancy.models import Workspace
from rapport.testing.clients import make_browser
from rapport.testing.factories import MembershipFactory, actor_for

pytestmark = pytest.mark.django_db


def image_bytes(fmt: str = "PNG", size=(300, 100), noise: bool = False) -> bytes:
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (20, 90, 160))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def upload(data: bytes, name: str = "logo.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def post_logo(client, data: bytes, name: str = "logo.png", content_type: str = "image/png"):
    return client.post("/settings/logo/", {"logo": upload(data, name, content_type)})


def workspace_of(client) -> Workspace:
    return Workspace.objects.get(pk=client.membership.workspace_id)


@pytest.mark.parametrize(("fmt", "ext"), [("PNG", "png"), ("JPEG", "jpg")])
def test_admin_uploads_a_logo_shown_in_settings_and_audited(
    browser, fmt, ext, django_capture_on_commit_callbacks
):
    data = image_bytes(fmt)
    # The browser's name and type say nothing: the bytes do.
    with django_capture_on_commit_callbacks(execute=True):
        r = post_logo(browser, data, name="../Ünïcode <b>logo.bin", content_type="text/plain")
    assert r.status_code == 302 and r["Location"] == "/settings/#logo"
    ws = workspace_of(browser)
    assert ws.logo.name.startswith(f"workspace-logos/{ws.pk}/") and ws.logo.name.endswith(ext)
    assert default_storage.open(ws.logo.name).read() == data

    page = browser.get("/settings/").content.decode()
    assert 'src="/settings/logo/image/?v=' in page and "Remove logo" in page
    image = browser.get("/settings/logo/image/")
    assert image.status_code == 200 and image.content == data
    assert image["Content-Type"] == f"image/{'png' if ext == 'png' else 'jpeg'}"
    assert image["X-Content-Type-Options"] == "nosniff"

    entry = AuditEntry.objects.get(workspace=ws, action="workspace.updated")
    after = entry.changes["logo"]["after"]
    assert after.startswith("Ünïcode _b_logo.bin (") and "300 × 100 px" in after
    assert entry.changes["logo"]["before"] is None


def test_replacing_and_removing_deletes_the_old_file(browser, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_logo(browser, image_bytes())
    first = workspace_of(browser).logo.name
    with django_capture_on_commit_callbacks(execute=True):
        post_logo(browser, image_bytes("JPEG"), name="new.jpg")
    second = workspace_of(browser).logo.name
    assert second != first and second.endswith(".jpg")
    assert not default_storage.exists(first) and default_storage.exists(second)

    with django_capture_on_commit_callbacks(execute=True):
        r = browser.post("/settings/logo/remove/")
    assert r.status_code == 302
    assert workspace_of(browser).logo.name == ""
    assert not default_storage.exists(second)
    assert browser.get("/settings/logo/image/").status_code == 404
    assert "Upload a logo" in browser.get("/settings/").content.decode()
    removed = AuditEntry.objects.filter(action="workspace.updated").latest("created_at")
    assert removed.changes == {"logo": {"before": second, "after": None}}


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (SVG, "logo.png", "This is an SVG image"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "l.svg", "SVG"),
        (None, "logo.gif", "detected: Graphics interchange format"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "logo.png", "detected: Adobe"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "logo.png", "not a PNG or JPEG"),
        (b"<script>alert(1)</script>", "logo.png", "not a PNG or JPEG"),
        (b"", "logo.png", "The file is empty"),
        (None, "broken.png", "damaged"),
        (None, "broken.jpg", "damaged"),
    ],
)
def test_anything_but_png_or_jpeg_is_refused_naming_what_it_is(browser, data, name, expected):
    if data is None and name.endswith(".gif"):
        data = image_bytes("GIF")
    elif data is None:
        # Truncated, also after WeasyPrint (imported first) made Pillow lenient process-wide.
        import weasyprint  # noqa: F401

        fmt = "JPEG" if name.endswith(".jpg") else "PNG"
        whole = image_bytes(fmt, noise=True)
        data = whole[: len(whole) // 2]
    r = post_logo(browser, data, name=name)
    assert r.status_code == 422
    page = r.content.decode()
    assert expected in page.replace("&#x27;", "'")
    assert 'role="alert" id="logo-errors"' in page and "<script>alert" not in page
    assert workspace_of(browser).logo.name == ""
    assert not AuditEntry.objects.filter(action="workspace.updated").exists()


def test_a_huge_file_is_refused_with_the_limit_named(browser):
    data = image_bytes(size=(800, 800), noise=True)
    assert len(data) > logo_services.MAX_LOGO_BYTES
    r = post_logo(browser, data)
    assert r.status_code == 422
    assert "larger than 1 MB (1,048,576 bytes)" in r.content.decode()
    assert workspace_of(browser).logo.name == ""


def test_a_tiny_file_declaring_a_huge_canvas_is_refused(browser):
    data = image_bytes(size=(5000, 5000))  # one colour: a few KB that decode to 100 MB
    assert len(data) < logo_services.MAX_LOGO_BYTES
    r = post_logo(browser, data)
    assert r.status_code == 422 and "5,000 × 5,000 pixels" in r.content.decode()


def test_no_file_is_an_inline_error(browser):
    r = browser.post("/settings/logo/", {})
    assert r.status_code == 422 and "Choose a PNG or JPEG file" in r.content.decode()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.MEMBER, Role.READ_ONLY])
def test_only_admins_change_the_logo_but_everyone_sees_it(browser, role):
    post_logo(browser, image_bytes())
    logo = workspace_of(browser).logo.name
    client, _ = make_browser(role, workspace=browser.membership.workspace)
    assert post_logo(client, image_bytes("JPEG")).status_code == 403
    assert client.post("/settings/logo/remove/").status_code == 403
    assert workspace_of(browser).logo.name == logo
    assert client.get("/settings/logo/image/").status_code == 200
    page = client.get("/settings/").content.decode()
    assert "/settings/logo/image/" in page and "Save logo" not in page
    with pytest.raises(PermissionDenied):
        logo_services.workspace_logo_remove(actor=actor_for(client_membership(client, browser)))


def client_membership(client, browser):
    from rapport.tenancy.models import Membership

    return Membership.objects.get(
        workspace=browser.membership.workspace, user_id=client.session["_auth_user_id"]
    )


def test_another_workspace_never_sees_or_changes_the_logo(browser):
    post_logo(browser, image_bytes())
    mine = workspace_of(browser).logo.name
    other, membership = make_browser(Role.OWNER)
    assert other.get("/settings/logo/image/").status_code == 404
    assert "/settings/logo/image/" not in other.get("/settings/").content.decode()
    with pytest.raises(PermissionDenied):
        logo_services.workspace_logo_set(
            actor=actor_for(MembershipFactory(workspace=membership.workspace, role="member")),
            upload=io.BytesIO(image_bytes()),
        )
    # Their own upload lands in their workspace only.
    post_logo(other, image_bytes("JPEG"))
    assert workspace_of(browser).logo.name == mine
    assert Workspace.objects.get(pk=membership.workspace_id).logo.name.startswith(
        f"workspace-logos/{membership.workspace_id}/"
    )


def test_service_refuses_with_the_logo_field():
    actor = actor_for(MembershipFactory(role=Role.ADMIN.value))
    with pytest.raises(ValidationFailed) as exc:
        logo_services.workspace_logo_set(actor=actor, upload=io.BytesIO(SVG))
    assert exc.value.errors[0].field == "logo"
    assert logo_services.logo_data_uri(actor.workspace) == ""
    logo_services.workspace_logo_set(actor=actor, upload=io.BytesIO(image_bytes()))
    assert logo_services.logo_data_uri(actor.workspace).startswith("data:image/png;base64,iVBOR")


def test_a_png_whose_metadata_mentions_svg_is_still_a_png():
    # Design tools write XMP/comments such as "exported from <svg>"; the signature decides.
    out = io.BytesIO()
    meta = PngInfo()
    meta.add_text("Comment", "exported from <svg width='300'>")
    Image.new("RGB", (300, 100), "navy").save(out, "PNG", pnginfo=meta)
    data = out.getvalue()
    assert b"<svg" in data[:1024].lower()
    assert logo_services.detect_type(data) == "image/png"
    actor = actor_for(MembershipFactory(role=Role.ADMIN.value))
    logo_services.workspace_logo_set(actor=actor, upload=io.BytesIO(data))
    assert logo_services.logo_data_uri(actor.workspace).startswith("data:image/png;base64,")


def test_the_strict_decode_holds_its_lock_and_restores_the_lenient_setting(monkeypatch):
    """Pillow's truncated-image setting is process-wide (WeasyPrint turns it on): each logo is
    decoded with it off, under a lock, so two uploads in two threads cannot restore it under
    each other, and it is put back as it was."""
    from PIL import ImageFile

    seen = []
    real_open = Image.open

    def watching_open(fp, *args, **kwargs):
        seen.append((logo_services._STRICT_DECODE.locked(), ImageFile.LOAD_TRUNCATED_IMAGES))
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    monkeypatch.setattr(Image, "open", watching_open)
    assert logo_services._dimensions(image_bytes(), "image/png") == (300, 100)
    assert seen == [(True, False)]
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    assert not logo_services._STRICT_DECODE.locked()
