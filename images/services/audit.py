"""The audit trail: who changed what, when and from where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from images.services.http import Credentials, Page, call, page, parse_date


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
