"""Garbage collections of the registry's storage (staff): their history, and tidying up now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from images.services.http import (
    PAGE_SIZE,
    Credentials,
    Forbidden,
    NotFound,
    Page,
    call,
    page,
    parse_date,
)

PATH = "/api/v1/collection/"
UNDER_WAY = ("Queued", "Running")


@dataclass(frozen=True)
class Collection:
    """One run (`Queued`: asked for, no worker has started it yet)."""

    id: int
    state: str  # Queued, Running, Done, Failed
    trigger: str  # "schedule", "after a purge", or who asked
    started: datetime | None
    finished: datetime | None
    seconds: float
    bytes_after: int
    bytes_freed: int
    blobs_deleted: int
    blobs_deferred: int
    blobs_restored: int
    error: str
    workers_online: int

    @property
    def under_way(self) -> bool:
        return self.state in UNDER_WAY


def _collection(data: dict) -> Collection:
    return Collection(
        id=data["id"],
        state=data["state"],
        trigger=data.get("trigger") or "",
        started=parse_date(data.get("started")),
        finished=parse_date(data.get("finished")),
        seconds=float(data.get("seconds") or 0),
        bytes_after=int(data.get("bytes_after") or 0),
        bytes_freed=int(data.get("bytes_freed") or 0),
        blobs_deleted=int(data.get("blobs_deleted") or 0),
        blobs_deferred=int(data.get("blobs_deferred") or 0),
        blobs_restored=int(data.get("blobs_restored") or 0),
        error=data.get("error") or "",
        workers_online=int(data.get("workers_online") or 0),
    )


def list_collections(
    creds: Credentials, *, offset: int = 0, state: str = "", limit: int = PAGE_SIZE
) -> Page[Collection]:
    params = {"limit": limit, "offset": offset, **({"state": state} if state else {})}
    return page(call("GET", PATH, creds=creds, params=params), _collection)


def latest(creds: Credentials, state: str = "") -> Collection | None:
    """The newest collection (of that state), or None if there is none."""
    found = list_collections(creds, state=state, limit=1).items
    return found[0] if found else None


def last_tidied(creds: Credentials) -> Collection | None:
    """The last collection that ran to its end, for pages that only mention it: None where the
    API keeps no collections (another Tutum server) or the person is not staff."""
    try:
        return latest(creds, state="Done")
    except (NotFound, Forbidden):
        return None


def start_collection(creds: Credentials) -> Collection:
    """Tidy up now: the collection is queued for a worker (Conflict while one runs or waits)."""
    return _collection(call("POST", PATH, creds=creds, json={}))
