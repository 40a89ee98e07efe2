"""`rapport import leads FILE`: the lead import from the command line (acting as the system)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from rapport.core.actors import Role
from rapport.sales.lead_models import Lead, LeadAssignmentRule
from rapport.tenancy.models import Workspace
from rapport.testing.factories import MembershipFactory

from .helpers import csv_bytes

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = ["Full Name", "Email", "Company", "Lead Source", "Lead Status", "Country"]


@pytest.fixture
def workspace():
    return Workspace.objects.create(name="CLI", slug="cli")


def leads_of(workspace):
    return Lead.objects.filter(workspace=workspace, deleted_at__isnull=True)


def test_import_leads_with_rules_then_a_dry_run_with_a_mapping_file(workspace, tmp_path):
    rep = MembershipFactory(workspace=workspace, role=Role.MEMBER.value)
    LeadAssignmentRule.objects.create(workspace=workspace, countries=["DE"], user=rep.user)
    path = tmp_path / "leads.csv"
    path.write_bytes(
        csv_bytes(
            [
                HEADER,
                ["Ada Lovelace", "ada@example.com", "Engines", "Web", "Open", "Germany"],
                ["Grace Hopper", "grace@example.com", "Navy", "Event", "Contacted", "US"],
                ["", "", "", "Web", "New", ""],  # nothing to name the lead by
            ]
        )
    )
    out = io.StringIO()
    call_command("import", "leads", str(path), "--workspace", "cli", stdout=out)
    assert "3 rows: 2 created" in out.getvalue() and "1 rejected" in out.getvalue()
    assert "line 4 (rejected)" in out.getvalue()
    ada, grace = leads_of(workspace).order_by("first_name")
    assert (ada.first_name, ada.last_name, ada.status, ada.country) == (
        "Ada",
        "Lovelace",
        "new",
        "DE",
    )
    assert ada.owner_id == rep.user_id  # routed by the country rule
    assert grace.owner_id is None  # no rule, and the command line is nobody
    assert grace.status == "working"

    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Email": "email", "Lead Source": "source"}))
    path.write_bytes(csv_bytes([HEADER, ["Ada", "ada@example.com", "", "Partner", "", ""]]))
    out = io.StringIO()
    call_command(
        "import",
        "leads",
        str(path),
        "--workspace",
        "cli",
        "--mapping",
        str(mapping),
        "--dry-run",
        stdout=out,
    )
    assert "1 would be updated" in out.getvalue()
    ada.refresh_from_db()
    assert ada.source == "Web" and leads_of(workspace).count() == 2


def test_bad_arguments_are_clear_errors(workspace, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(csv_bytes([HEADER, ["Ada", "ada@example.com", "", "", "", ""]]))
    with pytest.raises(CommandError, match="No mapping template"):
        call_command("import", "leads", str(path), "--workspace", "cli", "--mapping", "nope")
    with pytest.raises(CommandError, match="matched"):
        call_command("import", "leads", str(path), "--workspace", "cli", "--match", "domain")
    with pytest.raises(CommandError):
        call_command("import", "lead-ish", str(path), "--workspace", "cli")
    assert not Lead.objects.exists()
