"""Signing in and out, your own account, your password and your API keys."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, fields
from datetime import datetime

from images.services.http import (
    ApiError,
    Credentials,
    NotAuthenticated,
    NotFound,
    call,
    handle,
    listed,
    parse_date,
    send,
)
from lib import client_address


class SecondFactorNeeded(Exception):
    """The password is right; the person has two-factor sign-in on: the code comes next,
    sent with `challenge` (good for 5 minutes, once)."""

    def __init__(self, challenge: str, message: str):
        super().__init__(message)
        self.challenge, self.message = challenge, message


def _vouched(browser_address: str) -> dict:
    if not browser_address:
        return {}
    return {client_address.HEADER: client_address.vouch(browser_address)}


def login(username: str, password: str, *, browser_address: str = "") -> Credentials:
    """Exchange a username and password for the user's API key.

    `browser_address` lets our API count wrong passwords per browser rather than per admin
    server (see lib/client_address.py).
    """
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", **_vouched(browser_address)}
    try:
        # Our API gives each browser a sign-in of its own, ended at sign-out or when the
        # password changes; another Tutum server only has Tutum's key exchange.
        try:
            body = handle(send("POST", "/api/v1/session/", headers=headers))
        except NotFound:
            body = handle(send("GET", "/api/v1/auth/", headers=headers))
        else:
            if (body or {}).get("second_factor"):
                raise SecondFactorNeeded(body.get("challenge", ""), body.get("message", ""))
            if not (body or {}).get("key"):
                raise ApiError("The image service did not return a sign-in.")
            return Credentials(username=body.get("username", username), key=body["key"])
    except NotAuthenticated as error:
        raise NotAuthenticated("That username and password do not match.") from error
    objects = (body or {}).get("objects") or []
    if not objects or not objects[0].get("key"):
        raise ApiError("The image service did not return an API key.")
    return Credentials(username=objects[0].get("username", username), key=objects[0]["key"])


def complete_login(challenge: str, code: str, *, browser_address: str = "") -> Credentials:
    """The sign-in's second step: the code from the app (or a recovery code)."""
    body = handle(
        send(
            "POST",
            "/api/v1/session/",
            headers=_vouched(browser_address),
            json={"challenge": challenge, "code": code},
        )
    )
    if not (body or {}).get("key"):
        raise ApiError("The image service did not return a sign-in.")
    return Credentials(username=body["username"], key=body["key"])


@dataclass(frozen=True)
class TwoFactor:
    enabled: bool
    recovery_codes_left: int


@dataclass(frozen=True)
class TwoFactorSetup:
    secret: str
    uri: str


def two_factor(creds: Credentials) -> TwoFactor:
    body = call("GET", "/api/v1/account/two-factor/", creds=creds)
    return TwoFactor(bool(body["enabled"]), int(body["recovery_codes_left"]))


def two_factor_begin(creds: Credentials) -> TwoFactorSetup:
    body = call("POST", "/api/v1/account/two-factor/", creds=creds)
    return TwoFactorSetup(body["secret"], body["uri"])


def two_factor_confirm(creds: Credentials, code: str) -> list[str]:
    body = call("POST", "/api/v1/account/two-factor/confirm/", creds=creds, json={"code": code})
    return list(body["recovery_codes"])


def two_factor_new_codes(creds: Credentials, code: str) -> list[str]:
    path = "/api/v1/account/two-factor/recovery-codes/"
    return list(call("POST", path, creds=creds, json={"code": code})["recovery_codes"])


def two_factor_off(creds: Credentials, code: str) -> None:
    call("DELETE", "/api/v1/account/two-factor/", creds=creds, json={"code": code})


def logout(creds: Credentials) -> None:
    """End this browser's sign-in on the API, so its credential is refused from now on."""
    call("DELETE", "/api/v1/session/", creds=creds)


@dataclass(frozen=True)
class EmailNotifications:
    """What the person is emailed about, each on or off (all on until turned off)."""

    build_failed: bool = True
    build_fixed: bool = True
    invitation_accepted: bool = True
    webhook_paused: bool = True


@dataclass(frozen=True)
class Account:
    username: str
    email: str
    display_name: str
    is_staff: bool
    github_login: str
    has_github_token: bool
    # Where the person may add images on our registry: their own namespace, then teams'.
    namespaces: list[str] = field(default_factory=list)
    # None from a Tutum server that sends no notifications.
    email_notifications: EmailNotifications | None = None
    # Whether the server sends email at all.
    email_enabled: bool = False


def _email_notifications(data) -> EmailNotifications | None:
    if not isinstance(data, dict):
        return None
    return EmailNotifications(
        **{f.name: bool(data.get(f.name, True)) for f in fields(EmailNotifications)}
    )


def _account(data: dict) -> Account:
    return Account(
        username=data["username"],
        email=data.get("email") or "",
        display_name=data.get("display_name") or "",
        is_staff=bool(data.get("is_staff")),
        github_login=data.get("github_login") or "",
        has_github_token=bool(data.get("has_github_token")),
        namespaces=list(data.get("namespaces") or [data["username"]]),
        email_notifications=_email_notifications(data.get("email_notifications")),
        email_enabled=bool(data.get("email_enabled")),
    )


def get_account(creds: Credentials) -> Account:
    return _account(call("GET", "/api/v1/account/", creds=creds))


def update_account(creds: Credentials, data: dict) -> Account:
    """Change the fields in `data` (email, display_name, github_login, github_token,
    email_notifications: {kind: bool})."""
    return _account(call("PATCH", "/api/v1/account/", creds=creds, json=data))


def change_password(creds: Credentials, current: str, new: str) -> int:
    """Returns how many other browsers were signed out."""
    body = call(
        "POST",
        "/api/v1/account/password/",
        creds=creds,
        json={"current_password": current, "new_password": new},
    )
    return int((body or {}).get("signed_out") or 0)


@dataclass(frozen=True)
class ApiKey:
    id: int
    label: str
    prefix: str
    created: datetime | None
    last_used: datetime | None
    expires: datetime | None
    is_expired: bool


def _api_key(data: dict) -> ApiKey:
    return ApiKey(
        id=data["id"],
        label=data.get("label") or "",
        prefix=data.get("prefix") or "",
        created=parse_date(data.get("created")),
        last_used=parse_date(data.get("last_used")),
        expires=parse_date(data.get("expires")),
        is_expired=bool(data.get("is_expired")),
    )


@dataclass(frozen=True)
class NewApiKey:
    """A key just made: the only moment its whole value is known."""

    api_key: ApiKey
    key: str = field(repr=False)


def _new_api_key(data: dict) -> NewApiKey:
    return NewApiKey(api_key=_api_key(data), key=data["key"])


def list_api_keys(creds: Credentials) -> list[ApiKey]:
    return listed("/api/v1/apikey/", _api_key, creds=creds, limit=0)


def get_api_key(creds: Credentials, key_id: int) -> ApiKey:
    return _api_key(call("GET", f"/api/v1/apikey/{int(key_id)}/", creds=creds))


def create_api_key(creds: Credentials, label: str, expires_in_days: int | None) -> NewApiKey:
    body = call(
        "POST",
        "/api/v1/apikey/",
        creds=creds,
        json={"label": label, "expires_in_days": expires_in_days},
    )
    return _new_api_key(body)


def revoke_api_key(creds: Credentials, key_id: int) -> None:
    call("DELETE", f"/api/v1/apikey/{int(key_id)}/", creds=creds)
