"""Webhooks of a namespace or an image (their Owners): the events one may choose, the
webhooks, adding and changing one (its secret shown once), a new secret, a test event, the
delivery log and sending a delivery again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from urllib.parse import quote, urlsplit

from images.services.http import (
    LIST_LIMIT,
    PAGE_SIZE,
    Credentials,
    Page,
    call,
    listed,
    page,
    parse_date,
)

PATH = "/api/v1/webhook/"
# What the API calls the two formats, and what the admin calls them.
FORMATS = {
    "standard": "Standard (signed JSON)",
    "slack": "Chat (Slack, Mattermost, Rocket.Chat)",
}


def _webhook_path(uuid: str, rest: str = "") -> str:
    return f"{PATH}{quote(uuid, safe='')}/{rest}"


@dataclass(frozen=True)
class Event:
    name: str  # tag.pushed
    label: str  # "A tag is pushed (by anyone, or by a build)"

    @property
    def group(self) -> str:
        """What it is about, for grouping the checkboxes: "tag" of "tag.pushed"."""
        return self.name.split(".", 1)[0]


def _event(data: dict) -> Event:
    return Event(name=data["name"], label=data.get("label") or data["name"])


@dataclass(frozen=True)
class LastDelivery:
    id: int
    event: str
    state: str  # pending, delivered, failed
    created: datetime | None
    outcome: str


def _last_delivery(data: dict | None) -> LastDelivery | None:
    if not data:
        return None
    return LastDelivery(
        id=int(data["id"]),
        event=data.get("event") or "",
        state=data.get("state") or "",
        created=parse_date(data.get("created")),
        outcome=data.get("outcome") or "",
    )


@dataclass(frozen=True)
class Webhook:
    uuid: str
    namespace: str
    image: str | None  # None: every image of the namespace
    url: str
    events: list[str]
    tag_pattern: str
    format: str
    description: str
    enabled: bool
    paused: bool  # turned off because deliveries kept failing
    paused_reason: str
    paused_at: datetime | None
    created: datetime | None
    created_by: str
    last_delivery: LastDelivery | None

    @property
    def state(self) -> str:
        """Active, Paused (deliveries kept failing) or Off (turned off by its Owners)."""
        if self.enabled:
            return "Active"
        return "Paused" if self.paused else "Off"

    @property
    def host(self) -> str:
        """Where it sends, for titles: the URL's host (its path may hold a token)."""
        return urlsplit(self.url).netloc.rsplit("@", 1)[-1] or self.url

    @property
    def format_label(self) -> str:
        return FORMATS.get(self.format, self.format)


def _webhook(data: dict) -> Webhook:
    return Webhook(
        uuid=data["uuid"],
        namespace=data.get("namespace") or "",
        image=data.get("image") or None,
        url=data.get("url") or "",
        events=list(data.get("events") or []),
        tag_pattern=data.get("tag_pattern") or "",
        format=data.get("format") or "standard",
        description=data.get("description") or "",
        enabled=bool(data.get("enabled")),
        paused=bool(data.get("paused")),
        paused_reason=data.get("paused_reason") or "",
        paused_at=parse_date(data.get("paused_at")),
        created=parse_date(data.get("created")),
        created_by=data.get("created_by") or "",
        last_delivery=_last_delivery(data.get("last_delivery")),
    )


@dataclass(frozen=True)
class NewSecret:
    """A secret on the one answer that shows it."""

    secret: str
    # After a new secret, the old one signs beside it until then (None for a new webhook).
    previous_until: datetime | None = None


@dataclass(frozen=True)
class Attempt:
    number: int
    started: datetime | None
    duration_ms: int
    status_code: int | None  # None: no answer (see error)
    response_excerpt: str  # the answer's first bytes
    error: str  # why it failed, in words
    by_hand: bool  # made by "Send again"

    @property
    def status(self) -> str:
        """ "200 OK", "404 Not Found"; "No answer" when there was none."""
        if self.status_code is None:
            return "No answer"
        try:
            return f"{self.status_code} {HTTPStatus(self.status_code).phrase}"
        except ValueError:
            return str(self.status_code)

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def took(self) -> str:
        if self.duration_ms < 1000:
            return f"{self.duration_ms} ms"
        return f"{self.duration_ms / 1000:.1f} s"


def _attempt(data: dict) -> Attempt:
    return Attempt(
        number=int(data.get("number") or 0),
        started=parse_date(data.get("started")),
        duration_ms=int(data.get("duration_ms") or 0),
        status_code=data.get("status_code"),
        response_excerpt=data.get("response_excerpt") or "",
        error=data.get("error") or "",
        by_hand=bool(data.get("by_hand")),
    )


@dataclass(frozen=True)
class Delivery:
    id: int
    event: str  # the message's type: tag.pushed, webhook.test, …
    subject: str  # what it was about: an image, or image:tag
    state: str  # pending, delivered, failed
    created: datetime | None
    attempts_made: int
    next_attempt: datetime | None  # when a pending one is tried next
    outcome: str  # why the last attempt failed
    attempts: list[Attempt]

    @property
    def pending(self) -> bool:
        return self.state == "pending"

    @property
    def state_label(self) -> str:
        """The state in words for a badge: Delivered, Failed, Waiting (not tried yet) or
        Retrying."""
        if self.pending:
            return "Retrying" if self.attempts_made else "Waiting"
        return self.state.capitalize()


def _subject(payload) -> str:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        return ""
    image = (data.get("image") or {}).get("name") or ""
    tag = (data.get("tag") or {}).get("name") or ""
    return f"{image}:{tag}" if image and tag else image


def _delivery(data: dict) -> Delivery:
    return Delivery(
        id=int(data["id"]),
        event=data.get("event") or "",
        subject=_subject(data.get("payload")),
        state=data.get("state") or "",
        created=parse_date(data.get("created")),
        attempts_made=int(data.get("attempts_made") or 0),
        next_attempt=parse_date(data.get("next_attempt")),
        outcome=data.get("outcome") or "",
        attempts=[_attempt(a) for a in data.get("attempts") or []],
    )


def list_events(creds: Credentials) -> list[Event]:
    return listed("/api/v1/webhook-event/", _event, creds=creds)


def list_webhooks(creds: Credentials, *, namespace: str = "", image: str = "") -> list[Webhook]:
    """A namespace's webhooks (its images' too), or one image's: at most 20 of them, so one
    request. Forbidden for a team member who is not an Owner, NotFound for anyone else."""
    params = {"limit": LIST_LIMIT, **({"image": image} if image else {"namespace": namespace})}
    body = call("GET", PATH, creds=creds, params=params)
    return [_webhook(item) for item in body.get("objects") or []]


def get_webhook(creds: Credentials, uuid: str) -> Webhook:
    return _webhook(call("GET", _webhook_path(uuid), creds=creds))


def add_webhook(
    creds: Credentials, fields: dict, *, namespace: str = "", image: str = ""
) -> tuple[Webhook, NewSecret]:
    """A new webhook and its secret, which no other answer shows."""
    target = {"image": image} if image else {"namespace": namespace}
    body = call("POST", PATH, creds=creds, json={**fields, **target})
    return _webhook(body), NewSecret(secret=body["secret"])


def change_webhook(creds: Credentials, uuid: str, fields: dict) -> Webhook:
    """Change the fields given; `enabled: True` resumes a paused webhook."""
    return _webhook(call("PATCH", _webhook_path(uuid), creds=creds, json=fields))


def remove_webhook(creds: Credentials, uuid: str) -> None:
    call("DELETE", _webhook_path(uuid), creds=creds)


def new_secret(creds: Credentials, uuid: str) -> NewSecret:
    body = call("POST", _webhook_path(uuid, "secret/"), creds=creds, json={})
    return NewSecret(
        secret=body["secret"], previous_until=parse_date(body.get("previous_secret_until"))
    )


def send_test(creds: Credentials, uuid: str) -> Delivery:
    """A test event, queued like any other: its delivery, not yet made."""
    return _delivery(call("POST", _webhook_path(uuid, "test/"), creds=creds, json={}))


def list_deliveries(creds: Credentials, uuid: str, *, offset: int = 0) -> Page[Delivery]:
    """The delivery log, newest first, with every attempt."""
    params = {"limit": PAGE_SIZE, "offset": offset}
    body = call("GET", _webhook_path(uuid, "delivery/"), creds=creds, params=params)
    return page(body, _delivery)


def send_again(creds: Credentials, uuid: str, delivery_id: int) -> Delivery:
    """One more attempt at a delivery, queued now: the delivery as it was before it."""
    path = _webhook_path(uuid, f"delivery/{int(delivery_id)}/send-again/")
    return _delivery(call("POST", path, creds=creds, json={}))
