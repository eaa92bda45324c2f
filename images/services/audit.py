"""The audit trail: who changed what, when and from where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache

from images.services.http import Credentials, NotFound, Page, call, page, parse_date


@dataclass(frozen=True)
class Action:
    """Something the trail records (`tag.push`), with the sentence a row shows ("Pushed")."""

    action: str
    label: str
    description: str


def _action(data: dict) -> Action:
    return Action(
        action=data["action"],
        label=data.get("label") or data["action"],
        description=data.get("description") or "",
    )


@dataclass(frozen=True)
class AuditEvent:
    id: int
    time: datetime | None
    actor: str
    actor_kind: str
    action: str
    target: str
    team: str | None
    address: str
    details: dict


def _audit_event(data: dict) -> AuditEvent:
    return AuditEvent(
        id=int(data["id"]),
        time=parse_date(data.get("time")),
        actor=data.get("actor") or "",
        actor_kind=data.get("actor_kind") or "",
        action=data.get("action") or "",
        target=data.get("target") or "",
        team=data.get("team"),
        address=data.get("address") or "",
        details=data.get("details") or {},
    )


def list_audit(
    creds: Credentials, *, filters: dict | None = None, offset: int = 0, limit: int = 50
) -> Page[AuditEvent]:
    params = {"limit": limit, "offset": offset, **(filters or {})}
    return page(call("GET", "/api/v1/audit/", creds=creds, params=params), _audit_event)


# The actions change only with the API's version: read once per API, kept a while.
ACTIONS_KEPT_SECONDS = 300


def list_actions(creds: Credentials) -> list[Action]:
    """Every action the API's trail records, as the API words them; none from a server that
    does not publish them (its rows then show the actions' codes)."""
    key = f"audit-actions:{settings.TUTUM_API_URL}"
    kept = cache.get(key)
    if kept is not None:
        return kept
    try:
        body = call("GET", "/api/v1/audit/action/", creds=creds)
    except NotFound:
        return []
    actions = [_action(item) for item in body.get("objects") or []]
    cache.set(key, actions, ACTIONS_KEPT_SECONDS)
    return actions
