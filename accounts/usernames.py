"""What a new username or team name may be: either becomes a namespace on our registry
(`<registry>/<name>/app`), so both follow the registry's name rules and share one name space:
no team may take a username, nor the reverse."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model

from lib.errors import Invalid
from records.models import Team

RULE = (
    "A username is 2 to 30 lowercase letters and digits, with single '.', '_' or '-' between "
    "them; it starts the names of your images."
)
TEAM_RULE = (
    "A team name is 2 to 30 lowercase letters and digits, with single '.', '_' or '-' between "
    "them; it starts the names of the team's images."
)
_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")


def _is_well_formed(name: str) -> bool:
    return 2 <= len(name) <= 30 and _NAME.fullmatch(name) is not None


def _username_taken(name: str) -> bool:
    return get_user_model().objects.filter(username__iexact=name).exists()


def _team_name_taken(name: str) -> bool:
    return Team.objects.filter(name__iexact=name).exists()


def validate_new_username(username: str) -> None:
    """Names are compared case-insensitively, against usernames and team names alike."""
    if not _is_well_formed(username):
        raise Invalid({"username": [RULE]})
    if _username_taken(username):
        raise Invalid({"username": ["Someone here already has this username."]})
    if _team_name_taken(username):
        raise Invalid({"username": ["A team has this name: choose another."]})


def validate_new_team_name(name: str) -> None:
    if not _is_well_formed(name):
        raise Invalid({"name": [TEAM_RULE]})
    if _username_taken(name):
        raise Invalid({"name": ["Someone here has this name as their username."]})
    if _team_name_taken(name):
        raise Invalid({"name": ["A team already has this name."]})
