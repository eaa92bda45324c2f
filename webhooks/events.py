"""What webhooks are told about, and `emit`, which turns one event into one delivery for each
webhook that wants it (never several for one webhook: `event_key` is unique per webhook)."""

from __future__ import annotations

import fnmatch
import logging
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from records.models import Build, Image, Webhook, WebhookDelivery
from webhooks import messages
from webhooks.tasks import deliver

log = logging.getLogger(__name__)

# Every event, with the words the admin shows beside its checkbox; in the order offered.
EVENTS: dict[str, str] = {
    "tag.pushed": "A tag is pushed (by anyone, or by a build)",
    "tag.deleted": "A tag is deleted (to the recycle bin)",
    "tag.restored": "A tag is restored from the recycle bin",
    "image.registered": "An image is registered, or pushed for the first time",
    "image.deleted": "An image is deleted (to the recycle bin)",
    "image.restored": "An image is restored from the recycle bin",
    "build.started": "A build starts",
    "build.succeeded": "A build succeeds",
    "build.failed": "A build fails",
    "cleanup.ran": "A cleanup policy moves tags to the recycle bin",
}
# A test event, sent to one webhook when its Owners ask; never chosen.
PING = "webhook.test"


@dataclass(frozen=True)
class Subject:
    """The image an event is about, as it was when it happened (it may be gone since)."""

    name: str
    namespace: str

    @classmethod
    def of(cls, image: Image) -> Subject:
        return cls(image.name, namespace_of(image))


def namespace_of(image: Image) -> str:
    """Whose image it is: its team's name, or its owner's username (for our registry, the
    first part of its path)."""
    if image.team_id is not None:
        return image.team.name
    if image.owner_id is not None:
        return image.owner.get_username()
    return image.name.split("/")[1] if image.name.count("/") >= 2 else ""


def wants(webhook: Webhook, event: str, tag: str) -> bool:
    if event not in webhook.events:
        return False
    # A pattern chooses tags; events about no tag (an image deleted, a cleanup) still go.
    return not (webhook.tag_pattern and tag) or fnmatch.fnmatchcase(tag, webhook.tag_pattern)


def emit(
    event: str,
    subject: Subject | Image,
    *,
    key: str = "",
    tag: str = "",
    digest: str = "",
    actor: str = "",
    build: Build | None = None,
    details: dict | None = None,
) -> list[WebhookDelivery]:
    """Queue a delivery of `event` to each enabled webhook of the subject's namespace and
    image that chose it. `key` names this occurrence (a bin entry, a build): an event emitted
    again with the same key is not delivered again. Cheap when nobody listens: one query."""
    if isinstance(subject, Image):
        subject = Subject.of(subject)
    if not subject.namespace:
        return []
    candidates = Webhook.objects.filter(namespace=subject.namespace, enabled=True).filter(
        Q(image_name="") | Q(image_name=subject.name)
    )
    chosen = [webhook for webhook in candidates if wants(webhook, event, tag)]
    if not chosen:
        return []
    now = timezone.now()
    payload = messages.payload(
        event, subject, now, tag=tag, digest=digest, actor=actor, build=build, details=details
    )
    event_key = f"{event} {key or uuid.uuid4().hex}"
    return [d for d in (_queue(w, event, event_key, payload, now) for w in chosen) if d]


def test_event(webhook: Webhook, by: str) -> WebhookDelivery:
    """A made-up event for one webhook, to see it arrive (whatever events it chose)."""
    now = timezone.now()
    name = webhook.image_name or f"{settings.REGISTRY_HOST}/{webhook.namespace}/example"
    subject = Subject(name, webhook.namespace)
    payload = messages.payload(
        PING,
        subject,
        now,
        tag="latest",
        actor=by,
        details={"test": True, "message": f"A test event sent by {by or 'staff'}."},
    )
    return _queue(webhook, PING, f"{PING} {uuid.uuid4().hex}", payload, now)


def _queue(webhook, event, event_key, payload, now) -> WebhookDelivery | None:
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                webhook=webhook,
                message_id=f"msg_{secrets.token_hex(12)}",
                event=event,
                event_key=event_key[:400],
                payload=payload,
                created=now,
                next_attempt=now,
            )
            deliver.enqueue(delivery.pk, number=1)
    except IntegrityError:
        return None  # this occurrence was delivered to this webhook already
    return delivery
