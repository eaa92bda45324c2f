"""The recycle bin: deleted tags and images stay restorable for RECYCLE_DAYS.

How it sits on the registry (CNCF Distribution 2.8, which deletes a manifest only by digest,
taking every tag on that digest with it, and whose garbage collection removes every blob no
manifest references):

- Deleting a tag first copies its manifest into a hidden repository of its own,
  `recycle__bin/<entry id>`: its blobs are mounted there (linked, not copied) and the manifest
  is put under the same digest. Then the digest is deleted from the image's repository and
  put back under the image's other tags on it, so they keep pulling with the same digest.
- While in the bin the tag is neither listed nor pullable: nobody but the API gets a token for
  the bin's repositories (`__` cannot start a username or a team name, so no namespace
  collides).
- Restoring mounts the blobs back and puts the manifest under its tag again: same digest.
- Purging deletes the bin's manifest; the next garbage collection (lifecycle.collect) frees
  the blobs nothing else uses.

Every move holds the image's lock (registry.locks.image_lock, which the sync and the registry's
events take too) and reads the tags and the entry afresh inside it: the moves on one image run
one after another, so the registry, the database and the bin agree whatever the interleaving.
Every move deletes from the registry's storage, so it also holds the storage lock
(registry.locks.deleting_from_storage): while a backup copies the storage, moves are refused
with "try again in a few minutes", and the copy holds what the database's snapshot names.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from lib.errors import Conflict, Invalid, NotFound, RegistryFailure
from records.models import (
    BinEntry,
    BuildSetting,
    BuildSource,
    Image,
    Membership,
    Registry,
    Role,
    State,
    Tag,
    Team,
    UntaggedManifest,
    Webhook,
)
from registry import client as oci
from registry import untagged as registry_untagged
from registry.hosts import registry_for_host
from registry.locks import StorageHeld, deleting_from_storage, image_lock
from registry.names import BIN_NAMESPACE
from webhooks import events as webhook_events

log = logging.getLogger(__name__)

# The tag a manifest has in its bin repository (one entry per repository).
_BIN_TAG = "deleted"
_TAG_FIELDS = (
    "digest",
    "media_type",
    "size",
    "platforms",
    "layer",
    "pushed_by",
    "pushed_at",
    "last_build_date",
)


def lock(name: str):
    """The lock of the image named `name` (its repository's, for an image on our registry,
    which is the key the registry's events and the sync use)."""
    return image_lock(name.removeprefix(f"{settings.REGISTRY_HOST}/"))


def bin_repository(entry: BinEntry) -> str:
    return f"{BIN_NAMESPACE}/{entry.pk}"


def purge_after(entry: BinEntry):
    return entry.deleted_at + timedelta(days=settings.RECYCLE_DAYS)


def _namespace(image: Image) -> str:
    path = image.repository if image.registry.is_tutum_registry else image.name
    return path.split("/")[0] if "/" in path else ""


def _entry_for(
    image: Image, tag: Tag | UntaggedManifest, by: str, reason: str, parent=None
) -> BinEntry:
    """The entry of a tag, or of an untagged manifest (no tag name; its own fields in the
    snapshot, for the listing and for a restore)."""
    untagged = isinstance(tag, UntaggedManifest)
    return BinEntry.objects.create(
        kind=BinEntry.Kind.UNTAGGED if untagged else BinEntry.Kind.TAG,
        image=image if parent is None else None,
        parent=parent,
        image_name=image.name,
        namespace=_namespace(image),
        owner_id=image.owner_id,
        team_id=image.team_id,
        tag_name="" if untagged else tag.name,
        deleted_by=by,
        reason=reason,
        snapshot=_untagged_snapshot(tag) if untagged else {},
        # An untagged manifest has every field of a tag but its last build date.
        **{field: getattr(tag, field, None) for field in _TAG_FIELDS},
    )


def _untagged_snapshot(row: UntaggedManifest) -> dict:
    return {
        "last_tag": row.last_tag,
        "untagged_since": row.untagged_since.isoformat(),
        "last_pulled": row.last_pulled.isoformat() if row.last_pulled else None,
    }


def _copy_manifest(client, source: str, target: str, manifest: oci.RawManifest, tag: str):
    """Put `manifest` (an image or an index with its images) into `target`, blobs mounted."""
    if manifest.is_index:
        for child in manifest.children():
            _copy_manifest(client, source, target, client.manifest_bytes(source, child), "")
    else:
        for blob in manifest.blobs():
            client.mount_blob(target, blob, source)
    client.put_manifest(target, tag or manifest.digest, manifest)


def _copy_to_bin(client, image: Image, entries: list[BinEntry]) -> dict[str, oci.RawManifest]:
    """Copy each entry's manifest into its bin repository; the manifests copied, by digest.

    A tag whose manifest the registry no longer has (deleted behind our back) has nothing to
    keep: its entry has no repository, and restoring it brings back only the record.
    """
    manifests: dict[str, oci.RawManifest | None] = {}
    for entry in entries:
        if not entry.digest:
            continue
        if entry.digest not in manifests:
            try:
                manifests[entry.digest] = client.manifest_bytes(image.repository, entry.digest)
            except oci.RegistryNotFound:
                manifests[entry.digest] = None
        manifest = manifests[entry.digest]
        if manifest is None:
            continue
        entry.repository = bin_repository(entry)
        _copy_manifest(client, image.repository, entry.repository, manifest, _BIN_TAG)
        entry.save(update_fields=["repository"])
    return {digest: m for digest, m in manifests.items() if m is not None}


def _copy_or_forget(client, image: Image, entries: list[BinEntry]) -> dict[str, oci.RawManifest]:
    """_copy_to_bin, or if a copy fails no entries at all: nothing was deleted yet."""
    try:
        return _copy_to_bin(client, image, entries)
    except oci.RegistryError as error:
        BinEntry.objects.filter(pk__in=[e.pk for e in entries]).delete()
        raise RegistryFailure(f"{error}. Nothing was deleted; try again.") from error


def _check_ours(image: Image) -> None:
    if not image.registry.is_tutum_registry:
        raise Invalid(
            {
                "tag": [
                    f"{image.name} is on {image.registry.host}: delete its tags there; "
                    "we only read them."
                ]
            }
        )


def _check_not_building(tags: list[Tag]) -> None:
    building = [t.name for t in tags if t.state == State.BUILDING]
    if building:
        raise Conflict(
            f"{', '.join(building)} {'is' if len(building) == 1 else 'are'} building: wait for "
            "the build to end, or cancel it, then delete."
        )


def delete_tags(
    image: Image, names: list[str], *, by: str, reason: str = "", announce: bool = True
) -> list[BinEntry]:
    """Move tags to the bin; the image's other tags keep pulling with the same digests.

    Nothing is removed from the image until every copy is in the bin. Each tag is a
    `tag.deleted` event for the webhooks unless not `announce` (a cleanup policy's run is one
    `cleanup.ran` event instead).
    """
    _check_ours(image)
    with deleting_from_storage(), lock(image.name):
        entries = _delete_tags(image, list(dict.fromkeys(names)), by, reason)
    if announce:
        subject = webhook_events.Subject.of(image)
        for entry in entries:
            webhook_events.emit(
                "tag.deleted",
                subject,
                key=str(entry.pk),
                tag=entry.tag_name,
                digest=entry.digest,
                actor=by,
                details={"reason": reason} if reason else None,
            )
    return entries


def _delete_tags(image: Image, names: list[str], by: str, reason: str) -> list[BinEntry]:
    tags = list(image.tags.filter(name__in=names))
    missing = sorted(set(names) - {t.name for t in tags})
    if missing:
        raise NotFound(f"{image.name} has no tag {', '.join(missing)}.")
    _check_not_building(tags)
    client = oci.client_for_image(image)
    entries = [_entry_for(image, tag, by, reason) for tag in tags]
    manifests = _copy_or_forget(client, image, entries)
    _remove_from_repository(client, image, set(names), manifests)
    _forget_tags(image, tags)
    return entries


def _remove_from_repository(client, image: Image, names: set[str], manifests: dict) -> None:
    """Delete the digests; put them back under the tags that stay, and by digest where an
    index that stays lists them; drop an index's images that no remaining index lists."""
    staying = list(image.tags.exclude(name__in=names).exclude(digest=""))
    untagged = list(image.untagged_manifests.all())
    try:
        # Read before anything is deleted: the indexes that stay, tagged or untagged (still
        # served by digest, and pulled by it), keep every manifest they list.
        still_listed = _listed_by(client, image, [*staying, *untagged])
        for digest, manifest in manifests.items():
            client.delete_manifest(image.repository, digest)
            for tag in staying:
                if tag.digest == digest:
                    client.put_manifest(image.repository, tag.name, manifest)
            if digest in still_listed:
                client.put_manifest(image.repository, digest, manifest)
        staying_digests = {tag.digest for tag in staying} | {u.digest for u in untagged}
        for digest, manifest in manifests.items():
            if digest in staying_digests:
                continue
            for child in manifest.children():
                if child not in still_listed and child not in staying_digests:
                    client.delete_manifest(image.repository, child)
    except oci.RegistryError as error:
        # The deleted tags are safe in the bin; a tag that should have stayed may need its
        # manifest put back (the bin holds the same manifest): say so rather than hide it.
        log.error("bin: removing %s from %s: %s", sorted(names), image.repository, error)
        raise RegistryFailure(
            f"{error}. The tags are in Recently deleted, but the registry stopped while "
            "tidying up; check the image's other tags and try again."
        ) from error


def _listed_by(client, image: Image, manifests) -> set[str]:
    """The manifests that the indexes among `manifests` (tags or untagged manifests of
    `image`) list, as the registry serves them (attestations included)."""
    listed: set[str] = set()
    for manifest in manifests:
        if manifest.media_type in oci.LIST_TYPES:
            try:
                listed.update(client.manifest_bytes(image.repository, manifest.digest).children())
            except oci.RegistryNotFound:
                continue  # gone behind our back: it lists nothing any more
    return listed


def _forget_tags(image: Image, tags: list[Tag]) -> None:
    """Tags a build setting names stay, empty and buildable; the others go."""
    built = set(
        BuildSetting.objects.filter(build_source__image=image).values_list("tag", flat=True)
    )
    with transaction.atomic():
        Tag.objects.filter(pk__in=[t.pk for t in tags if t.name not in built]).delete()
        Tag.objects.filter(pk__in=[t.pk for t in tags if t.name in built]).update(
            digest="",
            media_type="",
            size=None,
            platforms=[],
            layer=None,
            pushed_by="",
            pushed_at=None,
            state=State.EMPTY,
        )
    image.refresh_state()


# -- untagged manifests --------------------------------------------------------------------


def delete_untagged(
    image: Image, digests: list[str], *, by: str, reason: str = ""
) -> list[BinEntry]:
    """Move untagged manifests of an image (registry.untagged) to the bin, by digest (which
    removes no tag: they have none), an index with the manifests it lists unless something
    that stays needs them. Those that were tagged again meanwhile, or that an index staying
    in the repository lists, stay; one the registry no longer has is only forgotten."""
    if not image.registry.is_tutum_registry:
        raise Invalid({"image": [f"{image.name} is on {image.registry.host}: clean it up there."]})
    with deleting_from_storage(), lock(image.name):
        return _delete_untagged(image, list(dict.fromkeys(digests)), by, reason)


def _delete_untagged(image: Image, digests: list[str], by: str, reason: str) -> list[BinEntry]:
    # Read afresh under the lock: a push may have tagged one again since it was chosen.
    tags = list(image.tags.exclude(digest=""))
    tagged = {tag.digest for tag in tags}
    rows = list(UntaggedManifest.objects.filter(image=image))
    going = [row for row in rows if row.digest in digests and row.digest not in tagged]
    staying = [row for row in rows if row not in going]
    if not going:
        return []
    client = oci.client_for_image(image)
    try:
        listed = _listed_by(client, image, [*tags, *staying])
    except oci.RegistryError as error:
        raise RegistryFailure(f"{error}. Nothing was deleted; try again.") from error
    going = [row for row in going if row.digest not in listed]
    entries = [_entry_for(image, row, by, reason) for row in going]
    manifests = _copy_or_forget(client, image, entries)
    # Deleted behind our back: nothing to keep, nothing to restore.
    lost = [e for e in entries if e.digest not in manifests]
    BinEntry.objects.filter(pk__in=[e.pk for e in lost]).delete()
    UntaggedManifest.objects.filter(image=image, digest__in=[e.digest for e in lost]).delete()
    keep = tagged | {row.digest for row in staying} | listed
    try:
        for digest, manifest in manifests.items():
            client.delete_manifest(image.repository, digest)
            for child in manifest.children():
                if child not in keep:
                    client.delete_manifest(image.repository, child)
            UntaggedManifest.objects.filter(image=image, digest=digest).delete()
    except oci.RegistryError as error:
        # What went is in the bin; what the registry still serves keeps its row, and the
        # next run takes it again (its copy in the bin is then the first one's).
        log.error("bin: removing untagged manifests from %s: %s", image.repository, error)
        raise RegistryFailure(
            f"{error}. They are in Recently deleted, but the registry stopped while removing "
            "them; try again."
        ) from error
    return [e for e in entries if e.digest in manifests]


def last_tag(entry: BinEntry) -> str:
    """The tag that named an untagged entry's manifest last ("" if unknown)."""
    return str(entry.snapshot.get("last_tag") or "") if entry.kind == BinEntry.Kind.UNTAGGED else ""


# -- images --------------------------------------------------------------------------------


def snapshot(image: Image) -> dict:
    """What registering the image again needs (its tags have entries of their own)."""
    source = getattr(image, "build_source", None)
    return {
        "registry": image.registry.host,
        "description": image.description,
        "is_private_image": image.is_private_image,
        "jumpstart": image.jumpstart,
        "registry_username": image.registry_username,
        "registry_password_encrypted": image.registry_password_encrypted,
        "created": image.created.isoformat(),
        "build_source": None
        if source is None
        else {
            "type": source.type,
            "owner": source.owner,
            "repository": source.repository,
            "autotests": source.autotests,
            "access_token_encrypted": source.access_token_encrypted,
            "build_settings": [
                {
                    "branch": s.branch,
                    "tag": s.tag,
                    "dockerfile": s.dockerfile,
                    "autobuild": s.autobuild,
                }
                for s in source.build_settings.all()
            ],
        },
    }


def delete_image(image: Image, *, by: str, reason: str = "") -> BinEntry:
    """Move an image and its pushed tags to the bin; nothing is deleted if a copy fails."""
    ours = image.registry.is_tutum_registry
    # Another registry's image leaves our storage alone, so a backup does not hold it up.
    subject = webhook_events.Subject.of(image)
    with deleting_from_storage() if ours else nullcontext(), lock(image.name):
        if not Image.objects.filter(pk=image.pk).exists():
            raise NotFound(f"{image.name} was deleted meanwhile.")
        entry = _delete_image(image, ours, by, reason)
    webhook_events.emit(
        "image.deleted",
        subject,
        key=str(entry.pk),
        actor=by,
        details={"tags": sorted(e.tag_name for e in entry.tag_entries.all())},
    )
    return entry


def _delete_image(image: Image, ours: bool, by: str, reason: str) -> BinEntry:
    # A build still running may finish after this: its push then finds no image to record
    # and the registry's event brings nothing back (builds.pipeline checks).
    tags = list(image.tags.exclude(digest="")) if ours else []
    entry = BinEntry.objects.create(
        kind=BinEntry.Kind.IMAGE,
        image_name=image.name,
        namespace=_namespace(image),
        owner_id=image.owner_id,
        team_id=image.team_id,
        snapshot=snapshot(image),
        deleted_by=by,
        reason=reason,
    )
    children = [_entry_for(image, tag, by, reason, parent=entry) for tag in tags]
    client = oci.client_for_image(image) if ours else None
    try:
        manifests = _copy_to_bin(client, image, children) if ours else {}
    except oci.RegistryError as error:
        entry.delete()
        raise RegistryFailure(f"{error}. The image was kept; try again.") from error
    try:
        for digest, manifest in manifests.items():
            client.delete_manifest(image.repository, digest)
            for grandchild in manifest.children():
                client.delete_manifest(image.repository, grandchild)
    except oci.RegistryError as error:
        # Its copies are in the bin (this entry), so nothing is lost; the image stays listed
        # until a retry removes the rest from its repository.
        log.error("bin: removing %s from the registry: %s", image.name, error)
        raise RegistryFailure(f"{error}. The image was kept; try again.") from error
    image.delete()
    return entry


# -- who sees the bin ----------------------------------------------------------------------


# What a Writer of an image deletes and restores: its tags, and its untagged manifests.
_OF_AN_IMAGE = (BinEntry.Kind.TAG, BinEntry.Kind.UNTAGGED)


def entries_of_image(image: Image) -> QuerySet[BinEntry]:
    return BinEntry.objects.filter(image=image, kind__in=_OF_AN_IMAGE, parent=None)


def as_image(entry: BinEntry) -> Image:
    """An unsaved image with the entry's owner and team, to ask teams.access who may act."""
    return Image(
        name=entry.image_name,
        owner_id=entry.owner_id,
        team_id=entry.team_id,
        is_private_image=True,
    )


# -- restoring -----------------------------------------------------------------------------


@dataclass
class Restored:
    image: Image
    tags: list[str]


def restore(entry: BinEntry, *, by: str = "") -> Restored:
    """Put a tag back (same digest) or register an image again with its tags."""
    with deleting_from_storage(), lock(entry.image_name):
        entry = _still_in_bin(entry)
        key, kind, digest, tag = str(entry.pk), entry.kind, entry.digest, entry.tag_name
        if kind == BinEntry.Kind.IMAGE:
            restored = _restore_image(entry)
        elif kind == BinEntry.Kind.UNTAGGED:
            return _restore_untagged(entry)
        else:
            restored = _restore_tag(entry)
    if kind == BinEntry.Kind.IMAGE:
        details = {"tags": restored.tags}
        webhook_events.emit("image.restored", restored.image, key=key, actor=by, details=details)
    else:
        webhook_events.emit(
            "tag.restored", restored.image, key=key, tag=tag, digest=digest, actor=by
        )
    return restored


def _still_in_bin(entry: BinEntry) -> BinEntry:
    """The entry as it is now (under its image's lock): another request may have restored or
    purged it while this one waited."""
    fresh = BinEntry.objects.filter(pk=entry.pk).first()
    if fresh is None:
        raise NotFound(f"{entry} was restored or deleted for good meanwhile.")
    return fresh


def _restore_tag(entry: BinEntry) -> Restored:
    image = entry.image
    if image is None:
        raise Conflict(f"{entry.image_name} is gone: restore the image first.")
    existing = image.tags.filter(name=entry.tag_name).first()
    if existing is not None and existing.digest:
        raise Conflict(
            f"{image.name} has a tag {entry.tag_name} again (pushed since it was deleted): "
            "delete that one first to bring this one back."
        )
    _put_back(oci.client_for_image(image), image, entry)
    _finish(entry)
    image.refresh_state()
    return Restored(image, [entry.tag_name])


def _put_back(client, image: Image, entry: BinEntry) -> None:
    _copy_back(client, image, entry)
    fields = {field: getattr(entry, field) for field in _TAG_FIELDS}
    fields["state"] = State.SUCCESS if entry.digest else State.EMPTY
    fields["creation"] = entry.layer.creation if entry.layer_id else None
    registry_untagged.tagged_again(image, entry.digest)
    Tag.objects.update_or_create(image=image, name=entry.tag_name, defaults=fields)


def _copy_back(client, image: Image, entry: BinEntry) -> None:
    """The entry's manifest back into the image's repository, same digest: under its tag, or
    by digest alone for an untagged one."""
    if entry.repository:
        try:
            manifest = client.manifest_bytes(entry.repository, entry.digest)
            _copy_manifest(client, entry.repository, image.repository, manifest, entry.tag_name)
        except oci.RegistryError as error:
            raise RegistryFailure(
                f"{error}. It is still in Recently deleted; try again."
            ) from error


def _restore_untagged(entry: BinEntry) -> Restored:
    """Back into the image's repository by digest, with no tag: untagged again, its days
    counted from now (restored on purpose, it would otherwise go at the policy's next run)."""
    image = entry.image
    if image is None:
        raise Conflict(f"{entry.image_name} is gone: restore the image first.")
    _copy_back(oci.client_for_image(image), image, entry)
    if not image.tags.filter(digest=entry.digest).exists():
        last_pulled = entry.snapshot.get("last_pulled")
        registry_untagged.write_down(
            image,
            entry,
            last_tag=last_tag(entry),
            since=timezone.now(),
            last_pulled=datetime.fromisoformat(last_pulled) if last_pulled else None,
        )
    _finish(entry)
    return Restored(image, [])


def _restore_image(entry: BinEntry) -> Restored:
    if Image.objects.filter(name=entry.image_name).exists():
        raise Conflict(
            f"An image named {entry.image_name} was registered or pushed since: delete it "
            "first to bring this one back."
        )
    if entry.team_id is None and entry.owner_id is None:
        raise Conflict(f"Nobody owns {entry.image_name} any more: it cannot come back.")
    data = entry.snapshot
    registry = Registry.objects.filter(host=data.get("registry")).first()
    if registry is None:
        raise Conflict(f"The registry {data.get('registry')} is no longer known here.")
    with transaction.atomic():
        image = Image.objects.create(
            name=entry.image_name,
            owner_id=entry.owner_id,
            team=Team.objects.filter(pk=entry.team_id).first(),
            registry=registry,
            description=data.get("description", ""),
            is_private_image=data.get("is_private_image", True),
            jumpstart=data.get("jumpstart", False),
            registry_username=data.get("registry_username", ""),
            registry_password_encrypted=data.get("registry_password_encrypted", ""),
        )
        _restore_build_source(image, data.get("build_source"))
    tags = []
    client = oci.client_for_image(image) if registry.is_tutum_registry else None
    for child in entry.tag_entries.order_by("tag_name"):
        _put_back(client, image, child)
        tags.append(child.tag_name)
    for child in list(entry.tag_entries.all()):
        _finish(child)
    entry.delete()
    image.refresh_state()
    return Restored(image, tags)


def _restore_build_source(image: Image, data: dict | None) -> None:
    if not data:
        return
    source = BuildSource.objects.create(
        image=image,
        type=data["type"],
        owner=data["owner"],
        repository=data["repository"],
        autotests=data["autotests"],
        access_token_encrypted=data.get("access_token_encrypted", ""),
    )
    for setting in data["build_settings"]:
        BuildSetting.objects.create(build_source=source, **setting)
        Tag.objects.get_or_create(image=image, name=setting["tag"])


def _finish(entry: BinEntry) -> None:
    """The entry is restored: its bin copy goes now, or if that fails, with the repositories
    no entry owns any more at the next purge (purge_orphans)."""
    try:
        _drop_bin_copy(entry)
    except oci.RegistryError as error:
        log.warning("bin: dropping the copy of %s: %s", entry, error)
    entry.delete()


def _our_client() -> oci.RegistryClient:
    return oci.client_for_image(Image(name="", registry=registry_for_host(settings.REGISTRY_HOST)))


def _drop_bin_copy(entry: BinEntry) -> None:
    if entry.repository:
        _drop_repository(_our_client(), entry.repository)


def _drop_repository(client, repository: str) -> bool:
    """Delete every manifest a bin repository holds (its tag's, and an index's images);
    whether there was one."""
    try:
        manifest = client.manifest_bytes(repository, _BIN_TAG)
    except oci.RegistryNotFound:
        return False
    client.delete_manifest(repository, manifest.digest)
    for child in manifest.children():
        client.delete_manifest(repository, child)
    return True


# -- purging -------------------------------------------------------------------------------


def expired(now=None) -> QuerySet[BinEntry]:
    now = now or timezone.now()
    return BinEntry.objects.filter(
        parent=None, deleted_at__lt=now - timedelta(days=settings.RECYCLE_DAYS)
    )


def purge(entry: BinEntry) -> None:
    """Delete for good: the bin's manifests go; garbage collection then frees the blobs."""
    with deleting_from_storage(), lock(entry.image_name):
        _purge(_still_in_bin(entry))


def _purge(entry: BinEntry) -> None:
    for child in [*entry.tag_entries.all(), entry]:
        _drop_bin_copy(child)
    entry.delete()
    if (
        entry.kind == BinEntry.Kind.IMAGE
        and not Image.objects.filter(name=entry.image_name).exists()
    ):
        # Its own webhooks waited for it in the bin (named, not linked); now it cannot come
        # back. Under the image's lock: an image of that name pushed since keeps its own.
        Webhook.objects.filter(image_name=entry.image_name).delete()


def purge_orphans() -> int:
    """Empty the bin repositories no entry owns (a restore whose clean-up failed, a team
    deleted with its bin); returns how many held something."""
    client = _our_client()
    # The catalog first, then the entries: an entry is saved before its copy starts, so every
    # bin repository listed has an entry by the time they are read unless it was truly let go
    # (read the other way round, a tag deleted in between would lose its only copy).
    catalog = client.catalog()
    # By entry id, not by the entry's `repository`: that is saved only once the copy is in.
    owned = {str(pk) for pk in BinEntry.objects.values_list("pk", flat=True)}
    emptied = 0
    for repository in catalog:
        namespace, _, entry_id = repository.partition("/")
        if namespace == BIN_NAMESPACE and entry_id not in owned:
            emptied += _drop_repository(client, repository)
    return emptied


@dataclass
class Purged:
    entries: int = 0
    orphans: int = 0
    failed: int = 0
    # A backup was copying the storage: what expired waits for the next round.
    postponed: bool = False


def purge_expired(now=None) -> Purged:
    """Housekeeping: purge what has been in the bin longer than RECYCLE_DAYS."""
    try:
        with deleting_from_storage():
            return _purge_expired(now)
    except StorageHeld:
        return Purged(postponed=True)


def _purge_expired(now) -> Purged:
    purged = Purged()
    for entry in expired(now):
        try:
            with lock(entry.image_name):
                if not BinEntry.objects.filter(pk=entry.pk).exists():
                    continue  # restored or purged by someone else meanwhile
                _purge(entry)
            purged.entries += 1
        except oci.RegistryError as error:
            log.warning("bin: purging %s: %s", entry, error)
            purged.failed += 1
    try:
        purged.orphans = purge_orphans()
    except oci.RegistryError as error:
        log.warning("bin: emptying orphan repositories: %s", error)
        purged.failed += 1
    return purged


def entries_for(user) -> QuerySet[BinEntry]:
    """The entries a person may restore: tags of images they write to (their own, their
    teams' where they are a Writer or an Owner), and the images they could delete."""
    entries = BinEntry.objects.filter(parent=None)
    if user.is_staff:
        return entries
    writes = Membership.objects.filter(user_id=user.pk, role__in=[Role.WRITER, Role.OWNER]).values(
        "team_id"
    )
    owns = Membership.objects.filter(user_id=user.pk, role=Role.OWNER).values("team_id")
    return entries.filter(
        Q(owner_id=user.pk)
        | Q(kind__in=_OF_AN_IMAGE, team_id__in=writes)
        | Q(kind=BinEntry.Kind.IMAGE, team_id__in=owns)
    )
