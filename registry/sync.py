"""Keeping the database in step with our registry: push and delete events, and a full sync.

Each records a repository under its lock (registry.locks.image_lock), the one the recycle bin's
moves hold: a sync or an event never sees a bin move half done.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from records.models import Build, Image, Layer, State, Tag, Team
from registry import client as oci
from registry import storage as registry_storage
from registry import untagged
from registry.hosts import registry_for_host
from registry.locks import image_lock
from registry.names import BIN_NAMESPACE
from registry.storage import RegistryStorage
from teams import tokens as team_tokens
from webhooks import events as webhook_events

log = logging.getLogger(__name__)


def store_layer(config: oci.ImageConfig) -> Layer:
    fields = {
        "author": config.author,
        "creation": config.created,
        "entrypoint": config.entrypoint,
        "run_command": config.run_command,
        "envvars": config.envvars,
        "labels": config.labels,
        "ports": config.ports,
        "volumes": config.volumes,
        "size": config.size,
        "os": config.os,
        "architecture": config.architecture,
        "variant": config.variant,
        "layers": config.layers,
        "history": config.history,
    }
    try:
        with transaction.atomic():
            layer, _ = Layer.objects.update_or_create(docker_id=config.docker_id, defaults=fields)
    except IntegrityError:
        # Two events for the same config at once: the other one stored it.
        layer = Layer.objects.get(docker_id=config.docker_id)
    return layer


def tag_fields(manifest: oci.ManifestInfo) -> dict:
    """A Tag's fields read from its manifest, its layer (image config) stored."""
    return {
        "layer": store_layer(manifest.config),
        "creation": manifest.config.created,
        "digest": manifest.digest,
        "media_type": manifest.media_type,
        "size": manifest.size,
        "platforms": manifest.platforms,
    }


def _owner_for(repository: str, actor_name: str):
    User = get_user_model()
    # A team access token (`<team>+<name>`, see teams.tokens) is nobody: no person owns what
    # it pushes (into its team's namespace, which makes the team's image anyway).
    actor = "" if team_tokens.is_token_username(actor_name) else actor_name
    for username in (actor, repository.split("/")[0]):
        if username:
            user = User.objects.filter(username=username).first()
            if user is not None:
                return user
    return None


def _image_for(repository: str, actor_name: str) -> Image:
    name = f"{settings.REGISTRY_HOST}/{repository}"
    image = Image.objects.filter(name=name).first()
    if image is not None:
        return image
    namespace = repository.split("/")[0] if "/" in repository else ""
    team = Team.objects.filter(name=namespace).first() if namespace else None
    try:
        with transaction.atomic():
            image = Image.objects.create(
                name=name,
                # A push into a team's namespace makes the team's image, whoever pushed.
                owner=None if team else _owner_for(repository, actor_name),
                team=team,
                registry=registry_for_host(settings.REGISTRY_HOST),
                is_private_image=True,
            )
            webhook_events.emit("image.registered", image, key=str(image.pk), actor=actor_name)
            return image
    except IntegrityError:
        return Image.objects.get(name=name)


def record_push(repository: str, tag: str, digest: str, actor_name: str = "") -> Tag:
    """Record a pushed tag with its layer read back from the registry (idempotent)."""
    with image_lock(repository):
        return _record_push(repository, tag, digest, actor_name)


def _record_push(repository: str, tag: str, digest: str, actor_name: str) -> Tag:
    image = _image_for(repository, actor_name)
    existing = Tag.objects.filter(image=image, name=tag).first()
    if existing is not None and digest and existing.digest == digest and _complete(existing):
        return existing
    manifest = oci.client_for_image(image).get_manifest(repository, digest or tag)
    now = timezone.now()
    # A build's own push arrives while the build runs: its state is the build's to set (the
    # build may end between this check and the write, so the event never writes Building).
    building = Build.objects.filter(
        tag__image=image, tag__name=tag, state__in=Build.ACTIVE
    ).exists()
    defaults = {
        **tag_fields(manifest),
        **({} if building else {"state": State.SUCCESS}),
        # The registry's actor: a username, `<team>+<name>` for a team access token, or for
        # a build the person it pushes for; "" when the sync found the tag.
        "pushed_by": actor_name,
        "pushed_at": now,
        "last_build_date": now,
    }
    # The digest the tag leaves may now have no tag at all (kept, untagged, for cleanup).
    untagged.tag_moves(image, existing, manifest.digest, now)
    try:
        with transaction.atomic():
            tag_obj, _ = Tag.objects.update_or_create(image=image, name=tag, defaults=defaults)
    except IntegrityError:
        tag_obj = Tag.objects.get(image=image, name=tag)
    image.refresh_state()
    if existing is None or existing.digest != manifest.digest:
        # Once per new digest at a tag, under the image's lock: the registry's event sent
        # again, or a build's own push recorded first (builds.pipeline), finds it done.
        pushed(image, tag, manifest.digest, actor_name)
    return tag_obj


def pushed(image: Image, tag: str, digest: str, actor_name: str) -> None:
    """Tell the webhooks that `tag` now holds `digest`."""
    webhook_events.emit("tag.pushed", image, tag=tag, digest=digest, actor=actor_name)


def _complete(tag: Tag) -> bool:
    """Whether a tag (or a row with its `layer_id` and `size`) has everything a push records
    (tags recorded before sizes were kept have no size, so a sync or a new event fills them
    in)."""
    return tag.layer_id is not None and tag.size is not None


@dataclass
class SyncReport:
    repositories: int = 0
    recorded: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    # Repositories whose tags came from the registry's storage, not its API (registry.storage).
    read_from_storage: int = 0


@dataclass
class _Recorded:
    """What the database holds for one of our repositories."""

    image_id: int
    # The digests of the tags recorded in full: a tag still on that digest is unchanged.
    complete: dict[str, str] = field(default_factory=dict)
    # The tags a push recorded (a digest): the ones to remove when the registry lost them.
    pushed: set[str] = field(default_factory=set)


def sync_registry() -> SyncReport:
    """Walk our registry's catalog; record the tags whose digest the database lacks (or holds
    only in part) and drop the tags gone. An unchanged tag costs no manifest or config read:
    its digest comes from the registry's storage when this machine can read it, else from a
    HEAD request."""
    report = SyncReport()
    registry = registry_for_host(settings.REGISTRY_HOST)
    probe = Image(name=f"{registry.host}/_", registry=registry)
    client = oci.client_for_image(probe)
    storage = registry_storage.readable_storage()
    for page in client.catalog_pages():
        # The recycle bin's copies (lifecycle.bin) are the API's own, never images.
        repositories = [r for r in page if r.split("/")[0] != BIN_NAMESPACE]
        # Read before the registry is: a tag pushed meanwhile is then new, never "gone".
        recorded = _recorded(registry.host, repositories)
        # What the storage holds for the repositories recorded before, read for the whole page
        # at once (in parallel where each read is a request: S3).
        known = {r: recorded[r].complete for r in repositories if r in recorded}
        stored = storage.tag_digests_of(known) if storage else {}
        for repository in repositories:
            report.repositories += 1
            here = recorded.get(repository)
            _sync_repository(client, storage, repository, here, stored.get(repository), report)
    return report


def sync_repository(repository: str) -> SyncReport:
    """Bring one repository's tags in step with the registry (a delete event's repository:
    what the registry serves decides, not the event)."""
    report = SyncReport(repositories=1)
    registry = registry_for_host(settings.REGISTRY_HOST)
    client = oci.client_for_image(Image(name=f"{registry.host}/_", registry=registry))
    with image_lock(repository):
        recorded = _recorded(registry.host, [repository]).get(repository)
        storage = registry_storage.readable_storage()
        stored = (
            storage.tag_digests(repository, recorded.complete) if storage and recorded else None
        )
        _sync_repository(client, storage, repository, recorded, stored, report)
    return report


def _recorded(host: str, repositories: list[str]) -> dict[str, _Recorded]:
    """The database's images and tags for a page of the catalog, in two queries (rows, not
    models: a page is a thousand of each)."""
    images = Image.objects.filter(name__in=[f"{host}/{r}" for r in repositories])
    by_id: dict[int, _Recorded] = {}
    recorded: dict[str, _Recorded] = {}
    for pk, name in images.values_list("pk", "name"):
        recorded[name.removeprefix(f"{host}/")] = by_id[pk] = _Recorded(pk)
    tags = Tag.objects.filter(image_id__in=by_id).values_list(
        "image_id", "name", "digest", "layer_id", "size", named=True
    )
    for tag in tags:
        if tag.digest:
            by_id[tag.image_id].pushed.add(tag.name)
        if _complete(tag):
            by_id[tag.image_id].complete[tag.name] = tag.digest
    return recorded


def _current_tags(
    client: oci.RegistryClient,
    storage: RegistryStorage | None,
    repository: str,
    known: dict[str, str],
    report: SyncReport,
) -> tuple[dict[str, str], bool]:
    """The repository's tags now, with their digests when the storage tells ("" when not),
    and whether it told."""
    current = storage.tag_digests(repository, known) if storage else None
    if current is not None:
        report.read_from_storage += 1
        return current, True
    try:
        return dict.fromkeys(client.list_tags(repository), ""), False
    except oci.RegistryNotFound:
        return {}, False


def _sync_repository(
    client: oci.RegistryClient,
    storage: RegistryStorage | None,
    repository: str,
    recorded: _Recorded | None,
    stored: dict[str, str] | None,
    report: SyncReport,
) -> None:
    """`stored`: the repository's tags and digests as its storage told before (None: it did
    not, or was not asked)."""
    if recorded and stored is not None and _unchanged(stored, recorded):
        # Most repositories are unchanged, which their storage tells without a request to the
        # registry: those write nothing, so they need no lock (taking one costs about as much
        # as the read). The others are read again under it.
        report.read_from_storage += 1
        report.unchanged += len(stored)
        return
    with image_lock(repository):
        current = _record_current(client, storage, repository, recorded, report)
        gone = recorded.pushed - current if recorded else set()
        if not gone:
            return
        # `recorded` was read for the whole page before the lock, but what goes is only what
        # the registry does not serve now (read under the lock, where no push is recorded and
        # no bin move is half done), and the rows are read afresh by the delete.
        image = Image.objects.filter(pk=recorded.image_id).first()
        if image is not None:
            report.removed += image.tags.filter(name__in=gone).exclude(digest="").delete()[0]
            image.refresh_state()


def _unchanged(digests: dict[str, str], recorded: _Recorded) -> bool:
    """Whether the registry's tags (with their digests) are what the database holds."""
    return recorded.pushed <= digests.keys() and all(
        digest and recorded.complete.get(name) == digest for name, digest in digests.items()
    )


def _record_current(
    client: oci.RegistryClient,
    storage: RegistryStorage | None,
    repository: str,
    recorded: _Recorded | None,
    report: SyncReport,
) -> set[str]:
    """Record the tags the registry has whose digest the database lacks; their names."""
    complete = recorded.complete if recorded else {}
    current, from_storage = _current_tags(client, storage, repository, complete, report)
    for name, digest in current.items():
        try:
            if not from_storage and name in complete:
                # Only a tag with a digest to compare is worth asking for it (HEAD, no body).
                digest = client.manifest_digest(repository, name)
            if digest and complete.get(name) == digest:
                report.unchanged += 1
                continue
            # By digest when known: what is recorded is what was compared, even if the tag
            # moves meanwhile.
            record_push(repository, name, digest)
            report.recorded += 1
        except oci.RegistryError as error:
            log.warning("sync: %s:%s: %s", repository, name, error)
            report.failed += 1
    return set(current)
