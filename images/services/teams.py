"""Teams, their members, invitations into them and their access tokens.

Extensions of our API; another Tutum server answers 404 and the pages say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from images.services.http import Credentials, call, listed, parse_date


def _team_path(team: str, rest: str = "") -> str:
    return f"/api/v1/team/{quote(team, safe='')}/{rest}"


def _member_path(team: str, username: str) -> str:
    return _team_path(team, f"member/{quote(username, safe='')}/")


def _link_path(token: str) -> str:
    return f"/api/v1/team-invitation/{quote(token, safe='')}/"


@dataclass(frozen=True)
class Team:
    name: str
    description: str
    role: str | None
    member_count: int
    image_count: int
    created: datetime | None

    @property
    def is_owner(self) -> bool:
        return self.role == "Owner"

    @property
    def can_write(self) -> bool:
        return self.role in ("Writer", "Owner")


def _team(data: dict) -> Team:
    return Team(
        name=data["name"],
        description=data.get("description") or "",
        role=data.get("role"),
        member_count=int(data.get("member_count") or 0),
        image_count=int(data.get("image_count") or 0),
        created=parse_date(data.get("created")),
    )


@dataclass(frozen=True)
class Member:
    username: str
    display_name: str
    role: str
    joined: datetime | None


def _member(data: dict) -> Member:
    return Member(
        username=data["username"],
        display_name=data.get("display_name") or "",
        role=data["role"],
        joined=parse_date(data.get("joined")),
    )


@dataclass(frozen=True)
class TeamInvitation:
    id: int
    team: str
    role: str
    username: str | None  # None: a link anyone signed in may accept once
    invited_by: str
    created: datetime | None
    expires: datetime | None
    is_expired: bool


def _team_invitation(data: dict) -> TeamInvitation:
    return TeamInvitation(
        id=int(data["id"]),
        team=data["team"],
        role=data["role"],
        username=data.get("username"),
        invited_by=data.get("invited_by") or "",
        created=parse_date(data.get("created")),
        expires=parse_date(data.get("expires")),
        is_expired=bool(data.get("is_expired")),
    )


@dataclass(frozen=True)
class NewTeamInvitation:
    invitation: TeamInvitation
    token: str | None = field(repr=False, default=None)


def _new_team_invitation(data: dict) -> NewTeamInvitation:
    return NewTeamInvitation(invitation=_team_invitation(data), token=data.get("token"))


@dataclass(frozen=True)
class TeamToken:
    id: int
    name: str
    username: str  # what it logs in as: <team>+<name>
    prefix: str
    access: str  # "pull" or "push"
    images: list[str]  # empty: every image of the team
    created_by: str
    expires: datetime | None
    last_used: datetime | None
    is_expired: bool

    @property
    def may_push(self) -> bool:
        return self.access == "push"


def _team_token(data: dict) -> TeamToken:
    return TeamToken(
        id=int(data["id"]),
        name=data["name"],
        username=data.get("username") or data["name"],
        prefix=data.get("prefix") or "",
        access=data.get("access") or "pull",
        images=[uri.removeprefix("/api/v1/image/").rstrip("/") for uri in data.get("images") or []],
        created_by=data.get("created_by") or "",
        expires=parse_date(data.get("expires")),
        last_used=parse_date(data.get("last_used")),
        is_expired=bool(data.get("is_expired")),
    )


@dataclass(frozen=True)
class NewTeamToken:
    """A token just made: the only moment its secret is known."""

    token: TeamToken
    secret: str = field(repr=False)


def _new_team_token(data: dict) -> NewTeamToken:
    return NewTeamToken(token=_team_token(data), secret=data["secret"])


def list_teams(creds: Credentials) -> list[Team]:
    return listed("/api/v1/team/", _team, creds=creds)


def create_team(creds: Credentials, name: str, description: str = "") -> Team:
    body = {"name": name, "description": description}
    return _team(call("POST", "/api/v1/team/", creds=creds, json=body))


def get_team(creds: Credentials, team: str) -> Team:
    return _team(call("GET", _team_path(team), creds=creds))


def update_team(creds: Credentials, team: str, description: str) -> Team:
    body = {"description": description}
    return _team(call("PATCH", _team_path(team), creds=creds, json=body))


def delete_team(creds: Credentials, team: str) -> None:
    call("DELETE", _team_path(team), creds=creds)


def list_members(creds: Credentials, team: str) -> list[Member]:
    return listed(_team_path(team, "member/"), _member, creds=creds)


def get_member(creds: Credentials, team: str, username: str) -> Member:
    return _member(call("GET", _member_path(team, username), creds=creds))


def change_role(creds: Credentials, team: str, username: str, role: str) -> Member:
    body = {"role": role}
    return _member(call("PATCH", _member_path(team, username), creds=creds, json=body))


def remove_member(creds: Credentials, team: str, username: str) -> None:
    call("DELETE", _member_path(team, username), creds=creds)


def list_team_invitations(creds: Credentials, team: str) -> list[TeamInvitation]:
    return listed(_team_path(team, "invitation/"), _team_invitation, creds=creds)


def invite_to_team(
    creds: Credentials, team: str, role: str, username: str = ""
) -> NewTeamInvitation:
    """By username (they accept on their Teams page), or a link when `username` is empty."""
    body = {"role": role, **({"username": username} if username else {})}
    made = call("POST", _team_path(team, "invitation/"), creds=creds, json=body)
    return _new_team_invitation(made)


def cancel_team_invitation(creds: Credentials, team: str, invitation_id: int) -> None:
    call("DELETE", _team_path(team, f"invitation/{invitation_id}/"), creds=creds)


def my_team_invitations(creds: Credentials) -> list[TeamInvitation]:
    return listed("/api/v1/account/invitation/", _team_invitation, creds=creds)


def answer_team_invitation(creds: Credentials, invitation_id: int, *, accept: bool) -> None:
    path = f"/api/v1/account/invitation/{invitation_id}/"
    call("POST" if accept else "DELETE", path, creds=creds)


def open_team_link(creds: Credentials, token: str) -> TeamInvitation:
    return _team_invitation(call("GET", _link_path(token), creds=creds))


def answer_team_link(creds: Credentials, token: str, *, accept: bool) -> None:
    call("POST" if accept else "DELETE", _link_path(token), creds=creds)


def list_team_tokens(creds: Credentials, team: str) -> list[TeamToken]:
    return listed(_team_path(team, "token/"), _team_token, creds=creds)


def make_team_token(
    creds: Credentials, team: str, *, name: str, access: str, expires: str, images: list[str]
) -> NewTeamToken:
    """`expires` is an ISO 8601 date; no `images` means every image of the team."""
    body = {"name": name, "access": access, "expires": expires}
    if images:
        body["images"] = images
    return _new_team_token(call("POST", _team_path(team, "token/"), creds=creds, json=body))


def get_team_token(creds: Credentials, team: str, token_id: int) -> TeamToken:
    return _team_token(call("GET", _team_path(team, f"token/{token_id}/"), creds=creds))


def revoke_team_token(creds: Credentials, team: str, token_id: int) -> None:
    call("DELETE", _team_path(team, f"token/{token_id}/"), creds=creds)
