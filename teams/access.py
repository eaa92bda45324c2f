"""Who may do what with an image: the one rule the API, the registry's token server and the
builds apply.

An image belongs to a person (its owner may do everything with it) or to a team (each member
may do what their role allows). Anyone signed in may read a public image; anyone else's
private image does not exist for them (404). Staff may do everything, and so see every image:
the API, the registry's token server and "Who can reach it" answer from this one rule. The API
asks everyone to sign in; the registry lets anonymous clients pull public images.

A team access token (teams.tokens.TokenPrincipal) is no person: it sees the images in its
scope (its team's, or the chosen ones) and no others, public or not; it reads them, a push
token also writes (pushes and builds), and none manages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.contrib.auth.models import AnonymousUser
from django.db.models import F, Q, QuerySet

from lib.errors import Forbidden
from records.models import Image, Membership, Role, Team, TeamToken
from teams.tokens import NOT_FOR_TOKENS, TokenPrincipal


class Ability(StrEnum):
    READ = "read"  # see it, pull it
    WRITE = "write"  # register, edit, build, push, delete tags
    MANAGE = "manage"  # delete the image, change who can see it


# Image.reach of every public image; a private one's is its owner's id or minus its team's.
PUBLIC = 0

EVERYTHING = frozenset(Ability)
NOTHING: frozenset[Ability] = frozenset()
READ_ONLY = frozenset({Ability.READ})
ROLE_ABILITIES = {
    Role.READER: READ_ONLY,
    Role.WRITER: frozenset({Ability.READ, Ability.WRITE}),
    Role.OWNER: EVERYTHING,
}
_RANK = {Role.READER: 1, Role.WRITER: 2, Role.OWNER: 3}


def at_least(role: str | None, wanted: str) -> bool:
    return role is not None and _RANK[role] >= _RANK[wanted]


@dataclass(frozen=True)
class Viewer:
    """Someone asking, with their team roles read once per request (team id → role)."""

    user_id: int | None
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

    @property
    def reaches(self) -> list[int] | None:
        """The Image.reach values of what they see: public, their own, their teams'; None
        for staff, who see every image (no set of reaches)."""
        if self.is_staff:
            return None
        own = [self.user_id] if self.user_id is not None else []
        return [PUBLIC, *own, *(-team_id for team_id in self.roles)]


@dataclass(frozen=True)
class TokenViewer:
    """A team access token asking: what it may do with the images it can see (`Viewer`'s
    interface; the images it is shown are the ones in its scope, see `visible_images`)."""

    team_id: int
    granted: frozenset[Ability]

    def abilities(self, owner_id: int | None, team_id: int | None, is_private: bool):
        return self.granted if team_id == self.team_id else NOTHING

    def abilities_for(self, image: Image) -> frozenset[Ability]:
        return self.abilities(image.owner_id, image.team_id, image.is_private_image)

    # A token's scope is its team's images, public or not: no set of reaches.
    reaches = None


def token_abilities(token: TeamToken) -> frozenset[Ability]:
    """Pull is read; push is also write (push and build); no token ever manages."""
    return ROLE_ABILITIES[Role.WRITER] if token.access == TeamToken.Access.PUSH else READ_ONLY


def role_in(user, team_id: int) -> str | None:
    """The person's role in a team (None: not a member); staff act as its Owners."""
    if user.is_staff:
        return Role.OWNER
    return (
        Membership.objects.filter(user_id=user.pk, team_id=team_id)
        .values_list("role", flat=True)
        .first()
    )


def viewer(user) -> Viewer | TokenViewer:
    if isinstance(user, TokenPrincipal):
        return TokenViewer(user.team_id, token_abilities(user.token))
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return Viewer(user_id=None)
    # No ordering: Membership's default (team and user names) would join both tables.
    memberships = Membership.objects.filter(user_id=user.pk).order_by()
    roles = dict(memberships.values_list("team_id", "role"))
    return Viewer(user.pk, bool(user.is_staff), roles)


def visible_images(user) -> QuerySet[Image]:
    """Public images, the person's own and their teams', by their reach (Image.reach).

    A team access token sees the images in its scope only.
    """
    if isinstance(user, TokenPrincipal):
        images = Image.objects.filter(team_id=user.team_id)
        return images if user.token.all_images else images.filter(team_tokens=user.token)
    if user is None or not user.is_authenticated:
        return Image.objects.filter(reach=PUBLIC)
    if user.is_staff:
        return Image.objects.all()
    teams = Membership.objects.filter(user_id=user.pk).values(reach=-F("team_id"))
    return Image.objects.filter(Q(reach__in=[PUBLIC, user.pk]) | Q(reach__in=teams))


def can_see(user, image: Image) -> bool:
    """Whether a person (or nobody signed in) sees `image`: visible_images' rule for one
    image, reading their membership only for a team's private image."""
    if image.reach == PUBLIC:
        return True
    if user is None or not user.is_authenticated or image.reach is None:
        return False
    if image.reach == user.pk or user.is_staff:
        return True
    return image.reach < 0 and (
        Membership.objects.filter(user_id=user.pk, team_id=-image.reach).exists()
    )


def abilities(user, image: Image) -> frozenset[Ability]:
    """What `user` may do with `image`, reading at most their one membership of its team.

    Anyone may read a public image (the registry lets anonymous clients pull them); a team
    access token, only the images in its scope.
    """
    if isinstance(user, TokenPrincipal):
        return token_abilities(user.token) if user.in_scope(image) else NOTHING
    if user is None or not user.is_authenticated:
        return Viewer(user_id=None).abilities_for(image)
    return _person_abilities(user, image, _image_role(user, image))


def may_publish(user, image: Image) -> bool:
    """Whether `user` may make `image` public: whoever may change who sees it (its Owners,
    the person in their own namespace, staff). A team access token never may."""
    if isinstance(user, TokenPrincipal):
        return False
    return Ability.MANAGE in _person_abilities(user, image, _image_role(user, image))


def _image_role(user, image: Image) -> str | None:
    return role_in(user, image.team_id) if image.team_id is not None else None


def _person_abilities(user, image: Image, role: str | None) -> frozenset[Ability]:
    roles = {image.team_id: role} if role else {}
    return Viewer(user.pk, bool(user.is_staff), roles).abilities_for(image)


def require(user, image: Image, ability: Ability) -> None:
    """Raise Forbidden, saying why and who can, unless `user` may do `ability`.

    Callers have already found the image visible (a 404 otherwise), so naming it leaks nothing.
    """
    if isinstance(user, TokenPrincipal):
        if ability in abilities(user, image):
            return
        if ability == Ability.WRITE and not user.may_push:
            raise Forbidden(
                f"Token {user.get_username()} may only pull {image.name}: an Owner of team "
                f"{image.team.name} can make a pull and push token."
            )
        raise Forbidden(NOT_FOR_TOKENS)
    # The role is read once: for the answer, and for the reason when it is no.
    role = _image_role(user, image)
    if ability in _person_abilities(user, image, role):
        return
    team = image.team.name if image.team_id else ""
    if role is None:
        whose = f"team {team}" if team else "someone else"
        raise Forbidden(f"You can see {image.name} but not change it: it belongs to {whose}.")
    if ability == Ability.WRITE:
        raise Forbidden(
            f"You are a Reader in team {team}: only its Writers and Owners can change "
            f"{image.name}. Ask an Owner of {team} to make you a Writer."
        )
    raise Forbidden(
        f"Only the Owners of team {team} can delete {image.name} or change who can see it; "
        f"you are a {role}."
    )


def namespace_role(user, namespace: str) -> tuple[Team | None, str | None]:
    """(the team named `namespace` or None, the person's role in that namespace or None).

    A person is the Owner of their own namespace; staff act as Owners everywhere. A push token
    for the whole team writes to its team's namespace (it may push a new repository there);
    any other token has no role in any namespace.
    """
    team = Team.objects.filter(name=namespace).first()
    if isinstance(user, TokenPrincipal):
        whole_team = team is not None and team.pk == user.team_id and user.token.all_images
        return team, Role.WRITER if whole_team and user.may_push else None
    if user is None or not user.is_authenticated:
        return team, None
    if team is None:
        own = namespace == user.get_username()
        return None, Role.OWNER if own or user.is_staff else None
    return team, role_in(user, team.pk)


def writable_namespaces(user) -> list[str]:
    """The person's own namespace, then the teams where they are a Writer or an Owner."""
    teams = (
        Membership.objects.filter(user_id=user.pk, role__in=[Role.WRITER, Role.OWNER])
        .order_by("team__name")
        .values_list("team__name", flat=True)
    )
    return [user.get_username(), *teams]
