"""Our registry's notifications: a tag pushed or a manifest deleted, recorded idempotently
(the registry retries, so the same event can arrive twice).

A push is recorded by reading its manifest back; when that read fails the event is not
recorded and the error goes up (registry.client.RegistryError), for the sink to answer with a
status that makes the registry send it again. A delete is only a hint: the registry's tags of
that repository are read again (registry.sync.sync_repository), so a tag the registry still
serves is never forgotten (a delete by digest also removes every tag on it, which the sync
sees).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit import trail
from records.models import AuditEvent, Image, Tag, Tally, UntaggedManifest
from registry import client as oci
from registry import sync as registry_sync
from registry.names import BIN_NAMESPACE
from registry.tokens import SERVICE_SUBJECT

# A tag's (or an untagged manifest's) last pull is written at most this often: a busy tag is
# pulled many times a minute.
PULL_RESOLUTION = timedelta(minutes=1)

MANIFEST_MEDIA_TYPES = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}


# The fields apply() reads, which must be strings when present; the parts holding them must be
# objects.
_STRING_FIELDS = {
    "": ("id", "action"),
    "target": ("repository", "tag", "digest", "mediaType"),
    "actor": ("name",),
    "request": ("addr",),
}


def malformed(events: object) -> str:
    """What is wrong with a notification's `events`, in words; "" when nothing is."""
    if not isinstance(events, list):
        return 'Expected {"events": [...]}.'
    for index, event in enumerate(events):
        where = f"events[{index}]"
        if not isinstance(event, dict):
            return f"{where} is not an object."
        for part, fields in _STRING_FIELDS.items():
            value = event if not part else event.get(part, {})
            if not isinstance(value, dict):
                return f"{where}.{part} is not an object."
            for name in fields:
                if name in value and not isinstance(value[name], str):
                    return f"{where}.{f'{part}.' if part else ''}{name} is not a string."
    return ""


def apply(event: dict) -> bool:
    """Apply one registry event; returns whether it changed anything we track."""
    action = event.get("action")
    target = event.get("target") or {}
    repository = target.get("repository")
    if not isinstance(repository, str) or not repository:
        return False
    actor = (event.get("actor") or {}).get("name") or ""
    is_manifest = target.get("mediaType") in MANIFEST_MEDIA_TYPES
    if actor == SERVICE_SUBJECT or repository.split("/")[0] == BIN_NAMESPACE:
        # The API's own changes (the recycle bin's moves) are recorded as it makes them.
        return False
    if action == "pull" and is_manifest:
        _note_pull(repository, target.get("tag") or "", target.get("digest") or "")
    if action == "push" and target.get("tag") and is_manifest:
        try:
            tag = registry_sync.record_push(
                repository, target["tag"], target.get("digest") or "", actor
            )
        except oci.RegistryNotFound:
            # Gone again before we read it back: what the registry serves now decides.
            registry_sync.sync_repository(repository)
            return False
        with transaction.atomic():
            # Counted once per event, as audited: a delivery sent again is neither.
            if _audit(event, "tag.push", tag.image, target["tag"], actor) is not None:
                Tally.add(Tally.Name.PUSHES)
        return True
    if action == "pull" and target.get("tag") and is_manifest and "+" in actor:
        # Pulls by team access tokens are audited (a person's pulls are not: too many).
        image = Image.objects.filter(name=f"{settings.REGISTRY_HOST}/{repository}").first()
        if image is not None:
            _audit(event, "tag.pull", image, target["tag"], actor)
        return False
    if action == "delete" and (target.get("digest") or target.get("tag")):
        registry_sync.sync_repository(repository)
        return True
    return False


def _note_pull(repository: str, tag: str, digest: str) -> None:
    """Keep each tag's last pull (cleanup policies keep what is in use); by digest, every
    tag on it, or the untagged manifest it names (a deployment pinned to an old digest)."""
    if not tag and not digest:
        return
    now = timezone.now()
    name = f"{settings.REGISTRY_HOST}/{repository}"
    stale = Q(last_pulled__isnull=True) | Q(last_pulled__lt=now - PULL_RESOLUTION)
    tags = Tag.objects.filter(image__name=name)
    tags = tags.filter(name=tag) if tag else tags.filter(digest=digest)
    tags.filter(stale).update(last_pulled=now)
    if not tag:
        untagged = UntaggedManifest.objects.filter(image__name=name, digest=digest)
        untagged.filter(stale).update(last_pulled=now)


def _audit(event: dict, action: str, image: Image, tag: str, actor: str) -> AuditEvent | None:
    """The event as recorded, or None if it was recorded already (delivered again)."""
    address = ((event.get("request") or {}).get("addr") or "").rsplit(":", 1)[0]
    return trail.record(
        action,
        f"{image.name}:{tag}",
        actor_name=actor,
        team=image.team_id,
        address=address,
        details={"digest": (event.get("target") or {}).get("digest", "")},
        event_id=str(event.get("id") or "") or None,
    )
