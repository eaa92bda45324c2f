"""Teams, their members and roles, invitations to a team, and team access tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Team(models.Model):
    """A namespace several people share (`<registry>/<team>/app`), run by its Owners.

    Team names and usernames are one name space: accounts.usernames checks both tables.
    """

    name = models.CharField(max_length=30, unique=True)
    description = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    """A member's role in a team; each includes everything the one before it may do."""

    READER = "Reader"
    WRITER = "Writer"
    OWNER = "Owner"


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.READER)
    joined = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="one_membership_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class TeamInvitation(models.Model):
    """An Owner asking someone into a team with a role: addressed to a username (accepted
    from their Teams page), or a link anyone signed in may accept once (`token_hash`)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=10, choices=Role.choices)
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="team_invitations",
    )
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now, editable=False)
    expires = models.DateTimeField()

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "invitee"],
                condition=models.Q(invitee__isnull=False),
                name="one_invitation_per_person_and_team",
            ),
            models.CheckConstraint(
                condition=models.Q(invitee__isnull=False) | models.Q(token_hash__isnull=False),
                name="team_invitation_has_invitee_or_link",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invitee or 'link'} → {self.team} ({self.role})"

    @property
    def is_expired(self) -> bool:
        return self.expires <= timezone.now()


class TeamToken(models.Model):
    """A team's access token (a robot account): logs in as `<team>+<name>` with its secret,
    to pull (and, for `push`, push and build) the team's images, or only the chosen ones.

    It belongs to the team, so it outlives the person who made it. Only the secret's digest
    is kept: it is shown once, in the answer that makes the token.
    """

    class Access(models.TextChoices):
        PULL = "pull", "Pull"
        PUSH = "push", "Pull and push"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=50)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=8, editable=False, help_text="First characters, to tell tokens apart."
    )
    access = models.CharField(max_length=4, choices=Access.choices, default=Access.PULL)
    all_images = models.BooleanField(
        default=True, help_text="Every image of the team; otherwise only `images`."
    )
    images = models.ManyToManyField("Image", blank=True, related_name="team_tokens")
    created = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires = models.DateTimeField(help_text="After this moment the token is refused everywhere.")
    last_used = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="one_token_name_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.team}+{self.name}"

    @property
    def is_expired(self) -> bool:
        return self.expires <= timezone.now()
