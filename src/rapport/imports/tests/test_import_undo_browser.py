"""The undo of an import in a real browser: the progress while a worker undoes it, and the
outcome, at desktop and phone widths."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rapport.core.actors import Role
from rapport.imports import services
from rapport.imports.models import ImportUndo
from rapport.testing.browser import assert_no_horizontal_scroll, login, screenshot
from rapport.testing.factories import PASSWORD, MembershipFactory, actor_for

from .helpers import HUBSPOT_HEADER, csv_bytes, hubspot_rows, upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _imported(actor):
    job = services.import_upload(
        actor=actor,
        upload=upload(csv_bytes([HUBSPOT_HEADER, *hubspot_rows(8)])),
        object_type="person",
    )
    services.import_start(actor=actor, job_id=job.pk, enqueue=False)
    services.import_run(job.pk)
    return job


@pytest.mark.parametrize("viewport", ["page", "phone_page"])
def test_undo_shows_progress_then_the_outcome(viewport, request, live_server):
    page = request.getfixturevalue(viewport)
    page.on("dialog", lambda dialog: dialog.accept())
    owner = MembershipFactory(role=Role.OWNER.value)
    actor = actor_for(owner)
    job = _imported(actor)
    login(page, live_server, owner.user.email, PASSWORD)
    page.goto(f"{live_server.url}/imports/{job.pk}/")

    services.import_undo(actor=actor, job_id=job.pk, enqueue=False)  # queued, no worker yet
    ImportUndo.objects.filter(import_job=job).update(status="running", processed=3)
    page.reload()
    expect(page.locator(".undo-progress")).to_contain_text("3 of 8 records")
    expect(page.get_by_role("button", name="Undo this import")).to_have_count(0)
    if viewport == "phone_page":
        assert_no_horizontal_scroll(page)
    screenshot(page, f"import-undo-running-{viewport}")

    ImportUndo.objects.filter(import_job=job).update(status="queued")
    services.import_undo_run(ImportUndo.objects.get(import_job=job).pk)
    # the page polls every second and shows the outcome on its own
    expect(page.locator(".undo-progress")).to_contain_text("8 created records moved to the trash")
    screenshot(page, f"import-undo-done-{viewport}")
