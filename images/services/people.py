"""People (for staff), password resets, invitations to join, and signing up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from images.services.http import (
    LIST_LIMIT,
    Credentials,
    NotFound,
    Page,
    ServiceError,
    call,
    handle,
    page,
    parse_date,
    public,
    send,
)


def _person_path(username: str, rest: str = "") -> str:
    return f"/api/v1/user/{quote(username, safe='')}/{rest}"


def _invite_path(token: str) -> str:
    return f"/api/v1/invite/{quote(token, safe='')}/"


@dataclass(frozen=True)
class Person:
    username: str
    email: str
    display_name: str
    is_active: bool
    is_staff: bool
    date_joined: datetime | None
    last_login: datetime | None


def _person(data: dict) -> Person:
    return Person(
        username=data["username"],
        email=data.get("email") or "",
        display_name=data.get("display_name") or "",
        is_active=bool(data.get("is_active")),
        is_staff=bool(data.get("is_staff")),
        date_joined=parse_date(data.get("date_joined")),
        last_login=parse_date(data.get("last_login")),
    )


def list_people(creds: Credentials, offset: int = 0) -> Page[Person]:
    params = {"limit": LIST_LIMIT, "offset": offset}
    return page(call("GET", "/api/v1/user/", creds=creds, params=params), _person)


def get_person(creds: Credentials, username: str) -> Person:
    return _person(call("GET", _person_path(username), creds=creds))


def update_person(creds: Credentials, username: str, data: dict) -> Person:
    return _person(call("PATCH", _person_path(username), creds=creds, json=data))


def make_reset_link(creds: Credentials, username: str) -> tuple[str, str]:
    """(uid, token) of a single-use password reset link for `username` (staff)."""
    body = call("POST", _person_path(username, "reset-link/"), creds=creds)
    return body["uid"], body["token"]


def reset_password(uid: str, token: str, new: str) -> str:
    """Set a password with a reset link (no sign-in needed); returns the username."""
    body = {"uid": uid, "token": token, "new_password": new}
    return handle(send("POST", "/api/v1/password-reset/", headers={}, json=body))["username"]


def reset_by_email() -> bool:
    """Whether the API can email reset links (email is set up there)."""
    try:
        return bool(public("GET", "/api/v1/password-reset/request/", "").get("by_email"))
    except NotFound:
        return False  # another Tutum server: ask staff


def request_reset_email(email: str, *, browser_address: str) -> str:
    """Ask for a reset link by email; returns the API's answer (the same for any address)."""
    body = public("POST", "/api/v1/password-reset/request/", browser_address, {"email": email})
    return body.get("detail", "")


def signup_open() -> bool:
    try:
        return bool(public("GET", "/api/v1/signup/", "").get("open"))
    except ServiceError:
        # The sign-in page only hides its "Create an account" link.
        return False


def sign_up(data: dict, *, browser_address: str) -> str:
    """Make an account (username, email, password, display_name); returns the username."""
    return public("POST", "/api/v1/signup/", browser_address, data)["username"]


@dataclass(frozen=True)
class Invitation:
    id: int
    email: str
    invited_by: str
    created: datetime | None
    expires: datetime | None
    is_expired: bool
    sent: datetime | None


def _invitation(data: dict) -> Invitation:
    return Invitation(
        id=int(data["id"]),
        email=data["email"],
        invited_by=data.get("invited_by") or "",
        created=parse_date(data.get("created")),
        expires=parse_date(data.get("expires")),
        is_expired=bool(data.get("is_expired")),
        sent=parse_date(data.get("sent")),
    )


@dataclass(frozen=True)
class NewInvitation:
    """An invitation just made or sent again: the only moment its link is known."""

    invitation: Invitation
    token: str = field(repr=False)
    # "" when it was emailed, else why not.
    not_sent: str = ""


def _new_invitation(data: dict) -> NewInvitation:
    return NewInvitation(
        invitation=_invitation(data), token=data["token"], not_sent=data.get("not_sent") or ""
    )


@dataclass(frozen=True)
class OpenInvitation:
    email: str
    invited_by: str
    expires: datetime | None


def _open_invitation(data: dict) -> OpenInvitation:
    return OpenInvitation(
        email=data["email"],
        invited_by=data.get("invited_by") or "",
        expires=parse_date(data.get("expires")),
    )


def list_invitations(creds: Credentials) -> Page[Invitation]:
    params = {"limit": LIST_LIMIT}
    return page(call("GET", "/api/v1/invitation/", creds=creds, params=params), _invitation)


def invite(creds: Credentials, email: str) -> NewInvitation:
    body = call("POST", "/api/v1/invitation/", creds=creds, json={"email": email})
    return _new_invitation(body)


def resend_invitation(creds: Credentials, invitation_id: int) -> NewInvitation:
    path = f"/api/v1/invitation/{invitation_id}/resend/"
    return _new_invitation(call("POST", path, creds=creds))


def cancel_invitation(creds: Credentials, invitation_id: int) -> None:
    call("DELETE", f"/api/v1/invitation/{invitation_id}/", creds=creds)


def open_invitation(token: str) -> OpenInvitation:
    """What an invitation link is for; Invalid (field "token") says why it no longer works."""
    return _open_invitation(public("GET", _invite_path(token), ""))


def accept_invitation(token: str, data: dict, *, browser_address: str) -> str:
    """Choose a username and password (and display_name); returns the username."""
    return public("POST", _invite_path(token), browser_address, data)["username"]
