from django.core.management.base import BaseCommand, CommandError

from rapport.core.errors import DomainError
from rapport.tenancy.models import Workspace
from rapport.tenancy.services import member_add
from rapport.users.services import user_get_or_create


class Command(BaseCommand):
    help = "Manage users: `rapport user create --email E --workspace SLUG --role ROLE`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a user (if new) and add them to a workspace")
        create.add_argument("--email", required=True)
        create.add_argument("--workspace", required=True, help="workspace slug")
        create.add_argument(
            "--role", default="member", help="owner, admin, manager, member or read_only"
        )
        create.add_argument("--password", default=None)
        create.add_argument("--name", default="", help="full name")

    def handle(self, *args, action, **opts):
        ws = Workspace.objects.filter(slug=opts["workspace"]).first()
        if ws is None:
            raise CommandError(f"No workspace with the slug {opts['workspace']!r}.")
        try:
            user = user_get_or_create(
                email=opts["email"], password=opts["password"], full_name=opts["name"]
            )
            member_add(
                actor=None, workspace=ws, user=user, role=opts["role"].replace("-", "_"), via="cli"
            )
        except DomainError as exc:
            raise CommandError(exc.detail)
        self.stdout.write(f"{user.email} is now {opts['role']} in {ws.slug}")
