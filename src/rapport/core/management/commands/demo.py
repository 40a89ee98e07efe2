import os

from django.core.management.base import BaseCommand, CommandError

from rapport.contacts.demo import DEMO_USERS, OWNER, demo_install
from rapport.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create the demo workspace `demo` with its members and 100 companies and 500 people "
        "with their interactions and tasks (once: when it exists, nothing changes). The "
        "password comes from RAPPORT_DEMO_PASSWORD (default rapport-demo)."
    )

    def handle(self, *args, **opts):
        try:
            result = demo_install()
        except DomainError as exc:
            raise CommandError(exc.detail)
        if result.created:
            self.stdout.write(
                f"Created the demo workspace {result.workspace.slug!r}: {result.companies} "
                f"companies, {result.people} people, {result.interactions} interactions, "
                f"{result.tasks} tasks; members: "
                + ", ".join(f"{u.email} ({u.role.label})" for u in DEMO_USERS)
            )
            for email in result.existing_users:
                self.stdout.write(f"  {email} existed already and keeps its own password.")
        else:
            self.stdout.write(
                f"The demo workspace {result.workspace.slug!r} exists already: nothing changed."
            )
        host = os.environ.get("HOST", "127.0.0.1")
        port = os.environ.get("PORT", "8000")
        self.stdout.write(f"Open http://{host}:{port}/ once `rapport serve` runs (make run does).")
        self.stdout.write(f"Sign in as {OWNER.email} / {result.password}")
