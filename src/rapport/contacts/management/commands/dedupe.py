"""`rapport dedupe scan --workspace SLUG`: the workspace-wide duplicate scan, in the foreground."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from rapport.contacts import dedupe
from rapport.tenancy.models import Workspace


class Command(BaseCommand):
    help = "Duplicate detection: `rapport dedupe scan --workspace SLUG [--json]`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        scan = sub.add_parser("scan", help="Scan a workspace for duplicate people and companies")
        scan.add_argument("--workspace", required=True, help="The workspace's slug")
        scan.add_argument("--json", action="store_true", help="Print the figures as JSON")

    def handle(self, *args, action, **opts):
        workspace = Workspace.objects.filter(slug=opts["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with the slug {opts['workspace']!r}.")
        result = dedupe.scan_workspace(workspace)
        if opts["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
            return
        self.stdout.write(
            f"Scanned {result.people} people and {result.companies} companies in "
            f"{result.seconds:.2f} s: {result.comparisons} comparisons in {result.blocks} blocks "
            f"(largest {result.largest_block}, {result.skipped_blocks} skipped), "
            f"{result.pairs} possible duplicate pairs, {result.removed} stale pairs removed."
        )
        for phase, seconds in result.phases.items():
            self.stdout.write(f"  {phase}: {seconds:.2f} s")
