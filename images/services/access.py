"""Who reaches an image and why; what the signed-in person reaches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from images.services.http import Credentials, call, parse_date
from images.services.images import image_path


@dataclass(frozen=True)
class Grant:
    """Someone or something that reaches an image, what it may do, and why."""

    kind: str  # person, token, everyone, staff
    name: str
    display_name: str
    can_write: bool
    can_manage: bool
    reason: str
    expires: datetime | None


def _grant(data: dict) -> Grant:
    return Grant(
        kind=data["kind"],
        name=data["name"],
        display_name=data.get("display_name") or "",
        can_write=bool(data["permissions"].get("write")),
        can_manage=bool(data["permissions"].get("manage")),
        reason=data.get("reason") or "",
        expires=parse_date(data.get("expires")),
    )


@dataclass(frozen=True)
class Reach:
    """A namespace the person reaches (their own, a team's, others' public images)."""

    kind: str
    namespace: str
    role: str | None
    can_write: bool
    can_manage: bool
    reason: str
    image_count: int


def _reach(data: dict) -> Reach:
    return Reach(
        kind=data["kind"],
        namespace=data.get("namespace") or "",
        role=data.get("role"),
        can_write=bool(data["permissions"].get("write")),
        can_manage=bool(data["permissions"].get("manage")),
        reason=data.get("reason") or "",
        image_count=int(data.get("image_count") or 0),
    )


def image_access(creds: Credentials, name: str) -> list[Grant]:
    body = call("GET", image_path(name, "access/"), creds=creds)
    return [_grant(g) for g in body["objects"]]


def account_access(creds: Credentials) -> list[Reach]:
    body = call("GET", "/api/v1/account/access/", creds=creds)
    return [_reach(r) for r in body["objects"]]
