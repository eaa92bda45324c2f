"""Team access tokens (what Harbor and Quay call robot accounts): made, listed and revoked by
a team's Owners, they log in as `<team>+<token name>` with their secret, wherever a password
or an API key works, to pull (and, for push tokens, push and build) the team's images or the
chosen ones, and nothing else.

'+' is in no username or team name (accounts.usernames), so such a login is never a person's:
it is tried as a token only, never as a password, and django-axes never counts it.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from functools import cached_property

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from lib import crypto
from lib.errors import Invalid, NotFound
from records.models import Image, Team, TeamToken

SEPARATOR = "+"
NAME_RULE = "A token name is 1 to 50 lowercase letters, digits, '-' and '_'."
_NAME = re.compile(r"[a-z0-9_-]{1,50}")
MAX_DAYS = 366
REFUSAL = "Invalid token name or secret."
# What a token hears from every endpoint outside its scope.
NOT_FOR_TOKENS = "Team access tokens can only pull, push and build images in their scope."


class TokenPrincipal:
    """Who a request is when it signed in with a team access token: not a person, so it can
    reach nothing a person can. teams.access gives it its scope and nothing more."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True
    pk = None
    id = None

    def __init__(self, token: TeamToken):
        self.token = token

    def __str__(self) -> str:
        return self.get_username()

    def get_username(self) -> str:
        return username_of(self.token)

    @property
    def team_id(self) -> int:
        return self.token.team_id

    @property
    def may_push(self) -> bool:
        return self.token.access == TeamToken.Access.PUSH

    @cached_property
    def image_ids(self) -> frozenset[int]:
        """The chosen images of a token scoped to some of the team's (read once)."""
        return frozenset(self.token.images.values_list("pk", flat=True))

    def in_scope(self, image: Image) -> bool:
        if image.team_id != self.token.team_id:
            return False
        return self.token.all_images or image.pk in self.image_ids


def is_token_username(username: str) -> bool:
    return SEPARATOR in username


def username_of(token: TeamToken) -> str:
    return f"{token.team.name}{SEPARATOR}{token.name}"


def principal_for(username: str, secret: str) -> TokenPrincipal | None:
    """The token `username` (`<team>+<name>`) with this secret, while it has not expired."""
    team_name, _, name = username.partition(SEPARATOR)
    token = (
        TeamToken.objects.filter(
            secret_hash=crypto.digest(secret), expires__gt=timezone.now(), name=name
        )
        .select_related("team")
        .first()
    )
    if token is None or token.team.name != team_name:
        return None
    # Touch last_used at most once a minute so authentication stays a read on hot paths.
    now = timezone.now()
    if token.last_used is None or (now - token.last_used).total_seconds() > 60:
        TeamToken.objects.filter(pk=token.pk).update(last_used=now)
        token.last_used = now
    return TokenPrincipal(token)


def tokens_of(team: Team) -> QuerySet[TeamToken]:
    """A team's tokens, expired ones included (so an Owner can see why a script stopped)."""
    return (
        TeamToken.objects.filter(team=team)
        .select_related("team", "created_by")
        .prefetch_related("images")
        .order_by("name", "pk")
    )


def get_token(team: Team, token_id: int) -> TeamToken:
    token = tokens_of(team).filter(pk=token_id).first()
    if token is None:
        raise NotFound(f"Team {team.name} has no access token {token_id}.")
    return token


def _check_expiry(expires: datetime) -> None:
    now = timezone.now()
    if expires <= now:
        raise Invalid({"expires": ["Choose a moment in the future."]})
    if expires > now + timedelta(days=MAX_DAYS):
        message = f"A token works for at most a year: choose a date within {MAX_DAYS} days."
        raise Invalid({"expires": [message]})


def _team_images(team: Team, names: list[str]) -> list[Image]:
    found = {image.name: image for image in Image.objects.filter(team=team, name__in=names)}
    missing = [name for name in names if name not in found]
    if missing:
        raise Invalid(
            {
                "images": [
                    f"Team {team.name} has no image named {name}: a token reaches only the "
                    "team's own images."
                    for name in missing
                ]
            }
        )
    return list(found.values())


def make_token(
    user,
    team: Team,
    name: str,
    *,
    access: str,
    expires: datetime,
    images: list[str] | None = None,
) -> tuple[TeamToken, str]:
    """A new token of `team` made by `user`; returns it and its secret (shown once).

    `images` (names) limits it to those images of the team; None means the whole team.
    """
    if _NAME.fullmatch(name) is None:
        raise Invalid({"name": [NAME_RULE]})
    if access not in TeamToken.Access.values:
        raise Invalid(
            {"access": [f"'{access}' is not one of: {', '.join(TeamToken.Access.values)}."]}
        )
    _check_expiry(expires)
    if images is not None and not images:
        raise Invalid(
            {"images": ["Choose at least one image, or leave images out for the whole team."]}
        )
    chosen = _team_images(team, images) if images is not None else []
    # token_urlsafe(32) is 43 characters: never the 40 hex digits of an API key.
    secret = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            token = TeamToken.objects.create(
                team=team,
                name=name,
                secret_hash=crypto.digest(secret),
                prefix=secret[:8],
                access=access,
                all_images=images is None,
                created_by=user,
                expires=expires,
            )
            token.images.set(chosen)
    except IntegrityError as error:
        raise Invalid({"name": [f"Team {team.name} already has a token named {name}."]}) from error
    return get_token(team, token.pk), secret


def revoke(token: TeamToken) -> None:
    """Gone for good: every later request with it (API, registry logins) is refused."""
    token.delete()
