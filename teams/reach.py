"""Who can do what, and why: the people and tokens that reach an image, and everything a person
reaches. What teams.access decides, spelled out for the people who run a team."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils import timezone

from records.models import Image, Membership, Role, TeamToken
from teams.access import EVERYTHING, READ_ONLY, ROLE_ABILITIES, Ability, token_abilities
from teams.tokens import username_of

_ROLE_ORDER = {Role.OWNER: 0, Role.WRITER: 1, Role.READER: 2}


@dataclass(frozen=True)
class Grant:
    """One way to reach an image: a person, a token, everyone signed in, or staff."""

    kind: str  # "person", "token", "everyone" or "staff"
    name: str
    abilities: frozenset[Ability]
    reason: str
    display_name: str = ""
    expires: datetime | None = None


def _token_reason(token: TeamToken, image_count: int) -> str:
    what = "pull and push" if token.access == TeamToken.Access.PUSH else "pull"
    if token.all_images:
        scope = f"every image of team {token.team.name}"
    elif image_count == 1:
        scope = "scoped to this image"
    else:
        scope = f"scoped to this and {image_count - 1} other image{'s' * (image_count > 2)}"
    return f"team access token: {what}, {scope}, expires {token.expires:%-d %b %Y}"


def who_can_reach(image: Image) -> list[Grant]:
    """Everyone who can reach `image`, most powerful first, each with the reason."""
    grants: list[Grant] = []
    if image.owner_id is not None:
        owner = image.owner
        grants.append(
            Grant(
                "person",
                owner.get_username(),
                EVERYTHING,
                "owns it: it is in their namespace",
                _display_name(owner),
            )
        )
    if image.team_id is not None:
        members = sorted(
            Membership.objects.filter(team_id=image.team_id).select_related("user__profile"),
            key=lambda m: (_ROLE_ORDER[m.role], m.user.get_username()),
        )
        for member in members:
            grants.append(
                Grant(
                    "person",
                    member.user.get_username(),
                    ROLE_ABILITIES[member.role],
                    f"{member.role}, member of team {image.team.name}",
                    _display_name(member.user),
                )
            )
        # Scoped tokens are found by a subquery, so the count sees all their images (a join
        # filtered to this image would count only it).
        scoped = TeamToken.images.through.objects.filter(image=image).values("teamtoken_id")
        tokens = (
            TeamToken.objects.filter(team_id=image.team_id, expires__gt=timezone.now())
            .filter(Q(all_images=True) | Q(pk__in=scoped))
            .select_related("team")
            .annotate(image_count=Count("images"))
            .order_by("name")
        )
        for token in tokens:
            grants.append(
                Grant(
                    "token",
                    username_of(token),
                    token_abilities(token),
                    _token_reason(token, token.image_count),
                    expires=token.expires,
                )
            )
    if not image.is_private_image:
        grants.append(Grant("everyone", "Everyone signed in", READ_ONLY, "the image is public"))
    staff = get_user_model().objects.filter(is_staff=True, is_active=True).count()
    if staff:
        grants.append(
            Grant("staff", f"Staff ({staff})", EVERYTHING, "staff may do everything here")
        )
    return grants


def _display_name(user) -> str:
    profile = getattr(user, "profile", None)
    return profile.display_name if profile else ""


@dataclass(frozen=True)
class Reach:
    """A namespace a person reaches: their own, a team's, or everyone's public images."""

    kind: str  # "own", "team" or "public"
    namespace: str
    abilities: frozenset[Ability]
    reason: str
    image_count: int
    role: str | None = None


def what_person_reaches(user) -> list[Reach]:
    """Everything `user` can reach, namespace by namespace, with the reason."""
    own = Image.objects.filter(owner=user).count()
    reaches = [
        Reach("own", user.get_username(), EVERYTHING, "your own namespace", own),
    ]
    memberships = (
        Membership.objects.filter(user=user)
        .select_related("team")
        .annotate(image_count=Count("team__images"))
        .order_by("team__name")
    )
    for member in memberships:
        reaches.append(
            Reach(
                "team",
                member.team.name,
                ROLE_ABILITIES[member.role],
                f"{member.role} in team {member.team.name}",
                member.image_count,
                member.role,
            )
        )
    mine = [m.team_id for m in memberships]
    public = (
        Image.objects.filter(is_private_image=False)
        .exclude(owner=user)
        .exclude(team_id__in=mine)
        .count()
    )
    reaches.append(
        Reach("public", "", READ_ONLY, "public images of others: anyone signed in", public)
    )
    if user.is_staff:
        reaches.append(Reach("staff", "", EVERYTHING, "you are staff: everything here", 0))
    return reaches
