"""Who may do what with an image: the one rule the API, the registry's token server and the
builds apply.

An image belongs to a person (its owner may do everything with it) or to a team (each member
may do what their role allows). Anyone signed in may read a public image; anyone else's
private image does not exist for them (404). Staff may do everything. The API asks everyone
to sign in; the registry lets anonymous clients pull public images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from records.models import Image, Membership, Role, Team


class Ability(StrEnum):
    READ = "read"  # see it, pull it
    WRITE = "write"  # register, edit, build, push, delete tags
    MANAGE = "manage"  # delete the image, change who can see it


EVERYTHING = frozenset(Ability)
NOTHING: frozenset[Ability] = frozenset()
READ_ONLY = frozenset({Ability.READ})
ROLE_ABILITIES = {
    Role.READER: READ_ONLY,
    Role.WRITER: frozenset({Ability.READ, Ability.WRITE}),
    Role.OWNER: EVERYTHING,
}
# The one sentence shown wherever a role is chosen.
ROLE_SENTENCES = {
    Role.READER: "Readers see and pull the team's private images.",
    Role.WRITER: (
        "Writers also register, edit and build the team's images, push to them and delete tags."
    ),
    Role.OWNER: (
        "Owners also delete images, choose who can see them, and run the team: members, "
        "invitations, access tokens and settings."
    ),
}
_RANK = {Role.READER: 1, Role.WRITER: 2, Role.OWNER: 3}


def at_least(role: str | None, wanted: str) -> bool:
    return role is not None and _RANK[role] >= _RANK[wanted]


@dataclass(frozen=True)
class Viewer:
    """Someone asking, with their team roles read once per request (team id → role)."""

    user_id: int | None
    username: str = ""
    is_staff: bool = False
    roles: dict[int, str] = field(default_factory=dict)

    def abilities(self, owner_id: int | None, team_id: int | None, is_private: bool):
        if self.is_staff or (self.user_id is not None and owner_id == self.user_id):
            return EVERYTHING
        if team_id is not None and team_id in self.roles:
            return ROLE_ABILITIES[self.roles[team_id]]
        return READ_ONLY if not is_private else NOTHING

    def abilities_for(self, image: Image) -> frozenset[Ability]:
        return self.abilities(image.owner_id, image.team_id, image.is_private_image)


def viewer(user) -> Viewer:
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return Viewer(user_id=None)
    roles = dict(Membership.objects.filter(user_id=user.pk).values_list("team_id", "role"))
    return Viewer(user.pk, user.get_username(), bool(user.is_staff), roles)


def _team_ids(user) -> QuerySet:
    return Membership.objects.filter(user_id=user.pk).values("team_id")


def visible_images(user) -> QuerySet[Image]:
    """Public images, the person's own and their teams': each of the three is an index scan."""
    if user is None or not user.is_authenticated:
        return Image.objects.filter(is_private_image=False)
    return Image.objects.filter(
        Q(is_private_image=False) | Q(owner=user) | Q(team_id__in=_team_ids(user))
    )


def abilities(user, image: Image) -> frozenset[Ability]:
    """What `user` may do with `image`, reading at most their one membership of its team.

    Anyone may read a public image (the registry lets anonymous clients pull them).
    """
    if user is None or not user.is_authenticated:
        return Viewer(user_id=None).abilities_for(image)
    roles = {}
    if image.team_id is not None and not user.is_staff:
        role = (
            Membership.objects.filter(user_id=user.pk, team_id=image.team_id)
            .values_list("role", flat=True)
            .first()
        )
        roles = {image.team_id: role} if role else {}
    return Viewer(user.pk, user.get_username(), bool(user.is_staff), roles).abilities_for(image)


def require(user, image: Image, ability: Ability) -> None:
    """Raise PermissionDenied, saying why and who can, unless `user` may do `ability`.

    Callers have already found the image visible (a 404 otherwise), so naming it leaks nothing.
    """
    if ability in abilities(user, image):
        return
    team = image.team.name if image.team_id else ""
    role = (
        Membership.objects.filter(user_id=user.pk, team_id=image.team_id)
        .values_list("role", flat=True)
        .first()
        if team
        else None
    )
    if role is None:
        whose = f"team {team}" if team else "someone else"
        raise PermissionDenied(
            f"You can see {image.name} but not change it: it belongs to {whose}."
        )
    if ability == Ability.WRITE:
        raise PermissionDenied(
            f"You are a Reader in team {team}: only its Writers and Owners can change "
            f"{image.name}. Ask an Owner of {team} to make you a Writer."
        )
    raise PermissionDenied(
        f"Only the Owners of team {team} can delete {image.name} or change who can see it; "
        f"you are a {role}."
    )


def namespace_role(user, namespace: str) -> tuple[Team | None, str | None]:
    """(the team named `namespace` or None, the person's role in that namespace or None).

    A person is the Owner of their own namespace; staff act as Owners everywhere.
    """
    team = Team.objects.filter(name=namespace).first()
    if user is None or not user.is_authenticated:
        return team, None
    if team is None:
        own = namespace == user.get_username()
        return None, Role.OWNER if own or user.is_staff else None
    if user.is_staff:
        return team, Role.OWNER
    role = Membership.objects.filter(user_id=user.pk, team=team).values_list("role", flat=True)
    return team, role.first()


def writable_namespaces(user) -> list[str]:
    """The person's own namespace, then the teams where they are a Writer or an Owner."""
    teams = (
        Membership.objects.filter(user_id=user.pk, role__in=[Role.WRITER, Role.OWNER])
        .order_by("team__name")
        .values_list("team__name", flat=True)
    )
    return [user.get_username(), *teams]
