from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from rapport.core.actors import Role
from rapport.core.ids import new_id

ROLE_CHOICES = [(r.value, r.label) for r in Role]


class RecordAccess(models.TextChoices):
    ALL = "all", "Everyone in the workspace"
    TEAM = "team", "The owner and the owner's teams"
    OWN = "own", "The owner only"


class Workspace(models.Model):
    """The hard wall: every domain row belongs to one workspace."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    # Region used to read phone numbers written without a country code (ISO 3166-1 alpha-2).
    default_region = models.CharField(max_length=2, default="US")
    default_currency = models.CharField(max_length=3, default="USD")
    members_can_delete_any = models.BooleanField(
        default=False, help_text="Members may delete records they neither own nor created."
    )
    # Deleted records stay in the trash this many days, then the daily purge removes them.
    trash_retention_days = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    # Who sees (and so may change) the records that honour ownership, deals first: everyone,
    # the owner and their teams, or the owner alone. Managers and up always see everything.
    record_access = models.CharField(
        max_length=8, choices=RecordAccess.choices, default=RecordAccess.ALL
    )
    # The letterhead of quotes: a PNG or JPEG in the default storage (``logo_services``).
    logo = models.FileField(upload_to="workspace-logos/", max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(trash_retention_days__gte=1, trash_retention_days__lte=3650),
                name="tenancy_workspace_trash_retention_range",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=ROLE_CHOICES, default=Role.MEMBER.value)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="tenancy_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.workspace_id} as {self.role}"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class Invitation(models.Model):
    """An emailed link that turns into a membership when accepted."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=ROLE_CHOICES, default=Role.MEMBER.value)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "workspace",
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="tenancy_invitation_one_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace_id}"


class Team(models.Model):
    """A group of members (a sales team): record access "team", round robin, forecasts."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(  # type: ignore[var-annotated]
        settings.AUTH_USER_MODEL, through="TeamMember", related_name="teams"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "workspace", name="tenancy_team_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="tenancy_teammember_unique")
        ]
        indexes = [models.Index(fields=["workspace", "user"], name="teammember_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in team {self.team_id}"
