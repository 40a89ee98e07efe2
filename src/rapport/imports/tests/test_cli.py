"""`rapport import people FILE`: the same import from the command line, with a report file."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from rapport.contacts.models import Person
from rapport.tenancy.models import Workspace

from .helpers import HUBSPOT_HEADER, csv_bytes, hubspot_rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def workspace():
    return Workspace.objects.create(name="CLI", slug="cli")


def test_import_a_file_then_dry_run_with_a_mapping_file(workspace, tmp_path):
    rows = hubspot_rows(4)
    rows[1][2] = "broken"
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes([HUBSPOT_HEADER, *rows]))
    report = tmp_path / "report.csv"
    out = io.StringIO()
    call_command(
        "import", "people", str(path), "--workspace", "cli", "--report", str(report), stdout=out
    )
    assert "4 rows: 3 created" in out.getvalue() and "1 rejected" in out.getvalue()
    assert (
        "line 3" not in out.getvalue() and report.read_text(encoding="utf-8-sig").count("\n") == 2
    )
    assert Person.objects.filter(workspace=workspace).count() == 3

    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Email": "email", "Job Title": "title"}))
    out = io.StringIO()
    call_command(
        "import",
        "people",
        str(path),
        "--workspace",
        "cli",
        "--mapping",
        str(mapping),
        "--dry-run",
        stdout=out,
    )
    assert "would be updated" in out.getvalue()
    assert set(Person.objects.values_list("title", flat=True)) == {"CEO"}


def test_clear_errors_for_a_wrong_workspace_file_or_mapping(workspace, tmp_path):
    with pytest.raises(CommandError, match="No workspace"):
        call_command("import", "people", str(tmp_path / "x.csv"), "--workspace", "nope")
    with pytest.raises(CommandError, match="No such file"):
        call_command("import", "people", str(tmp_path / "x.csv"), "--workspace", "cli")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="empty"):
        call_command("import", "people", str(empty), "--workspace", "cli")
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([HUBSPOT_HEADER, *hubspot_rows(1)]))
    with pytest.raises(CommandError, match="No mapping template"):
        call_command("import", "people", str(good), "--workspace", "cli", "--mapping", "Nope")
