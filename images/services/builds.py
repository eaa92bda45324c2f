"""Builds of a tag, their logs, and the GitHub webhook that starts them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from images.services.http import Credentials, Page, call, handle, page, parse_date, send
from images.services.images import quote_name, tag_path


def _build_path(uuid: str, rest: str = "") -> str:
    return f"/api/v1/build/{quote(uuid, safe='')}/{rest}"


@dataclass(frozen=True)
class Build:
    uuid: str
    tag: str
    state: str
    trigger: str
    triggered_by: str | None
    branch: str
    dockerfile: str
    commit: str
    commit_message: str
    error: str
    created: datetime | None
    started: datetime | None
    finished: datetime | None
    duration: float | None
    queue_position: int | None
    workers_online: int
    log_size: int

    @property
    def is_active(self) -> bool:
        return self.state in ("Queued", "Building")

    @property
    def short_commit(self) -> str:
        return self.commit[:7]

    @property
    def commit_title(self) -> str:
        return self.commit_message.splitlines()[0] if self.commit_message else ""


def _build(data: dict) -> Build:
    return Build(
        uuid=data["uuid"],
        tag=data.get("tag_name", ""),
        state=data.get("state", "Queued"),
        trigger=data.get("trigger", "API"),
        triggered_by=data.get("triggered_by"),
        branch=data.get("branch", ""),
        dockerfile=data.get("dockerfile", "/"),
        commit=data.get("commit") or "",
        commit_message=data.get("commit_message") or "",
        error=data.get("error") or "",
        created=parse_date(data.get("created")),
        started=parse_date(data.get("started")),
        finished=parse_date(data.get("finished")),
        duration=data.get("duration"),
        queue_position=data.get("queue_position"),
        workers_online=int(data.get("workers_online") or 0),
        log_size=int(data.get("log_size") or 0),
    )


@dataclass(frozen=True)
class LogChunk:
    text: str
    next_offset: int
    state: str
    complete: bool


def _log_chunk(data: dict, offset: int) -> LogChunk:
    """`offset`: where this piece was asked from, the next one's if the log did not grow."""
    return LogChunk(
        text=data.get("text") or "",
        next_offset=int(data.get("next_offset") or offset),
        state=data.get("state") or "",
        complete=bool(data.get("complete")),
    )


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str = field(repr=False)

    @property
    def secret_hint(self) -> str:
        """The end of the secret, enough to tell which one GitHub has."""
        return self.secret[-4:]


def _webhook(data: dict) -> Webhook:
    return Webhook(url=data["url"], secret=data["secret"])


def start_build(creds: Credentials, name: str, tag: str) -> str:
    """Queue a build of the tag (as a person's click); returns the new build's uuid."""
    response = send(
        "POST",
        tag_path(name, tag, "build/"),
        headers={"Authorization": creds.header},
        json={"trigger": "USER"},
    )
    handle(response)
    return response.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]


def list_builds(
    creds: Credentials, name: str, tag: str, *, offset: int = 0, limit: int = 10
) -> Page[Build]:
    params = {"limit": limit, "offset": offset}
    return page(call("GET", tag_path(name, tag, "build/"), creds=creds, params=params), _build)


def get_build(creds: Credentials, uuid: str) -> Build:
    return _build(call("GET", _build_path(uuid), creds=creds))


def cancel_build(creds: Credentials, uuid: str) -> Build:
    return _build(call("POST", _build_path(uuid, "cancel/"), creds=creds))


def read_log(creds: Credentials, uuid: str, offset: int = 0) -> LogChunk:
    body = call("GET", _build_path(uuid, "log/"), creds=creds, params={"offset": offset})
    return _log_chunk(body, offset)


def get_webhook(creds: Credentials, name: str) -> Webhook:
    return _webhook(call("GET", f"/api/v1/hooks/github/{quote_name(name)}/", creds=creds))
