"""Our registry's notifications: a tag pushed or a manifest deleted, recorded idempotently
(the registry retries, so the same event can arrive twice)."""

from __future__ import annotations

from registry import sync as registry_sync

MANIFEST_MEDIA_TYPES = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}


def apply(event: dict) -> bool:
    """Apply one registry event; returns whether it changed anything we track."""
    action = event.get("action")
    target = event.get("target") or {}
    repository = target.get("repository")
    if not isinstance(repository, str) or not repository:
        return False
    if action == "push" and target.get("tag") and target.get("mediaType") in MANIFEST_MEDIA_TYPES:
        actor = (event.get("actor") or {}).get("name") or ""
        registry_sync.record_push(repository, target["tag"], target.get("digest") or "", actor)
        return True
    if action == "delete" and (target.get("digest") or target.get("tag")):
        registry_sync.record_delete(repository, target.get("tag") or target["digest"])
        return True
    return False
