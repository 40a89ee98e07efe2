from django.core.management.base import BaseCommand, CommandError

from rapport.core.errors import DomainError
from rapport.tenancy.services import workspace_create
from rapport.users.services import user_get_or_create


class Command(BaseCommand):
    help = "Manage workspaces: `rapport workspace create --name N --slug S --owner-email E`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a workspace and its owner")
        create.add_argument("--name", required=True)
        create.add_argument("--slug", required=True)
        create.add_argument("--owner-email", required=True)
        create.add_argument(
            "--owner-password",
            default=None,
            help="Password for a new owner account (else they reset it)",
        )

    def handle(self, *args, action, **opts):
        try:
            owner = user_get_or_create(email=opts["owner_email"], password=opts["owner_password"])
            ws = workspace_create(name=opts["name"], slug=opts["slug"], owner=owner)
        except DomainError as exc:
            raise CommandError(exc.detail)
        self.stdout.write(f"Created workspace {ws.slug} ({ws.pk}) owned by {owner.email}")
