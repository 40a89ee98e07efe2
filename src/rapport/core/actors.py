"""Who is acting: every service call names an actor; audit entries record it."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rapport.tenancy.models import Workspace
    from rapport.users.models import User


class ActorKind(enum.StrEnum):
    USER = "user"
    TOKEN = "token"  # noqa: S105 (an actor kind)
    AUTOMATION = "automation"
    SYSTEM = "system"


class Role(enum.StrEnum):
    """Workspace roles, weakest first: each role can do everything the ones before it can."""

    READ_ONLY = "read_only"
    MEMBER = "member"
    MANAGER = "manager"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    @property
    def label(self) -> str:
        return self.value.replace("_", "-").capitalize()

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    workspace: Workspace
    role: Role
    user: User | None = None
    token_id: uuid.UUID | None = None
    name: str = ""

    @property
    def user_id(self):
        return self.user.pk if self.user else None

    @property
    def label(self) -> str:
        if self.user is not None:
            base = self.user.email
            return f"{base} (API token {self.name})" if self.kind == ActorKind.TOKEN else base
        return self.name or self.kind.value

    @classmethod
    def system(cls, workspace: Workspace, name: str = "system") -> Actor:
        return cls(kind=ActorKind.SYSTEM, workspace=workspace, role=Role.OWNER, name=name)
