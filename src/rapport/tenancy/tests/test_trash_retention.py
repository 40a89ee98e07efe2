"""The workspace's trash retention: Settings → Workspace, admins only, audited."""

from __future__ import annotations

import pytest

from rapport.audit.models import AuditEntry
from rapport.core.actors import Role
from rapport.core.errors import PermissionDenied, ValidationFailed
from rapport.tenancy import services
from rapport.tenancy.models import Workspace
from rapport.testing.clients import make_browser
from rapport.testing.factories import WorkspaceFactory, actor_for

pytestmark = pytest.mark.django_db


def test_new_workspaces_keep_the_trash_30_days():
    assert WorkspaceFactory().trash_retention_days == 30


def test_admins_change_it_and_it_is_audited(browser):
    ws = browser.membership.workspace
    page = browser.get("/settings/").content.decode()
    assert 'name="trash_retention_days"' in page and 'value="30"' in page
    r = browser.post(
        "/settings/", {"name": ws.name, "default_region": "US", "trash_retention_days": "90"}
    )
    assert r.status_code == 302
    ws.refresh_from_db()
    assert ws.trash_retention_days == 90
    entry = AuditEntry.objects.filter(action="workspace.updated", workspace=ws).latest("created_at")
    assert entry.changes["trash_retention_days"] == {"before": 30, "after": 90}
    # Left blank: unchanged.
    browser.post("/settings/", {"name": ws.name, "default_region": "US"})
    ws.refresh_from_db()
    assert ws.trash_retention_days == 90


@pytest.mark.parametrize("value", ["0", "3651", "-1", "soon"])
def test_out_of_range_is_refused(browser, value):
    ws = browser.membership.workspace
    r = browser.post(
        "/settings/", {"name": ws.name, "default_region": "US", "trash_retention_days": value}
    )
    assert r.status_code == 422
    ws.refresh_from_db()
    assert ws.trash_retention_days == 30


def test_the_service_checks_the_range_and_the_role(browser):
    owner = actor_for(browser.membership)
    for value in (0, 3651):
        with pytest.raises(ValidationFailed):
            services.workspace_update(actor=owner, trash_retention_days=value)
    services.workspace_update(actor=owner, trash_retention_days=3650)
    _, manager = make_browser(Role.MANAGER, workspace=owner.workspace)
    with pytest.raises(PermissionDenied):
        services.workspace_update(actor=actor_for(manager), trash_retention_days=5)
    assert Workspace.objects.get(pk=owner.workspace.pk).trash_retention_days == 3650


def test_non_admins_see_it_read_only(browser):
    client, _ = make_browser(Role.MANAGER, workspace=browser.membership.workspace)
    page = client.get("/settings/").content.decode()
    assert 'name="trash_retention_days"' in page
    assert "disabled" in page.split('name="trash_retention_days"')[1].split(">")[0]
