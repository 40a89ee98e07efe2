from django.core.management.base import BaseCommand, CommandError

from rapport.core.actors import Actor, ActorKind, Role
from rapport.core.errors import DomainError
from rapport.tenancy.models import Membership
from rapport.users.services import token_create


class Command(BaseCommand):
    help = "Manage API tokens: `rapport token create --email E --workspace SLUG [--name N]`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token; prints only the token")
        create.add_argument("--email", required=True)
        create.add_argument("--workspace", required=True, help="workspace slug")
        create.add_argument("--name", default="CLI token")

    def handle(self, *args, action, **opts):
        membership = (
            Membership.objects.select_related("user", "workspace")
            .filter(user__email__iexact=opts["email"], workspace__slug=opts["workspace"])
            .first()
        )
        if membership is None:
            raise CommandError(f"{opts['email']} is not a member of {opts['workspace']!r}.")
        # The CLI is run by the server's operator: it acts as the system, on the user's behalf.
        actor = Actor(
            kind=ActorKind.SYSTEM, workspace=membership.workspace, role=Role.OWNER, name="cli"
        )
        try:
            _, raw = token_create(actor=actor, user=membership.user, name=opts["name"])
        except DomainError as exc:
            raise CommandError(exc.detail)
        self.stdout.write(raw)
