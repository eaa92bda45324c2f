"""Keeping the database in step with our registry: push and delete events, and a full sync."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from records.models import Build, Image, Layer, State, Tag, Team
from registry import client as oci
from registry.hosts import registry_for_host
from registry.names import BIN_NAMESPACE
from teams import tokens as team_tokens

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
            return Image.objects.create(
                name=name,
                # A push into a team's namespace makes the team's image, whoever pushed.
                owner=None if team else _owner_for(repository, actor_name),
                team=team,
                registry=registry_for_host(settings.REGISTRY_HOST),
                is_private_image=True,
            )
    except IntegrityError:
        return Image.objects.get(name=name)


def record_push(repository: str, tag: str, digest: str, actor_name: str = "") -> Tag:
    """Record a pushed tag with its layer read back from the registry (idempotent)."""
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
    try:
        with transaction.atomic():
            tag_obj, _ = Tag.objects.update_or_create(image=image, name=tag, defaults=defaults)
    except IntegrityError:
        tag_obj = Tag.objects.get(image=image, name=tag)
    image.refresh_state()
    return tag_obj


def _complete(tag: Tag) -> bool:
    """Whether a tag has everything a push records (tags recorded before sizes were kept
    have no size, so a sync or a new event fills them in)."""
    return tag.layer_id is not None and tag.size is not None


def record_delete(repository: str, reference: str) -> int:
    """Forget the tags a deleted manifest (digest) or tag pointed at; returns how many."""
    image = Image.objects.filter(name=f"{settings.REGISTRY_HOST}/{repository}").first()
    if image is None:
        return 0
    tags = (
        image.tags.filter(digest=reference)
        if ":" in reference
        else image.tags.filter(name=reference)
    )
    count, _ = tags.delete()
    image.refresh_state()
    return count


@dataclass
class SyncReport:
    repositories: int = 0
    recorded: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0


def sync_registry() -> SyncReport:
    """Walk our registry's catalog and tags; record what is missing, drop what is gone."""
    report = SyncReport()
    registry = registry_for_host(settings.REGISTRY_HOST)
    probe = Image(name=f"{registry.host}/_", registry=registry)
    client = oci.client_for_image(probe)
    for repository in client.catalog():
        if repository.split("/")[0] == BIN_NAMESPACE:
            # The recycle bin's copies (lifecycle.bin) are the API's own, never images.
            continue
        report.repositories += 1
        image = Image.objects.filter(name=f"{registry.host}/{repository}").first()
        known = {t.name: t.digest for t in image.tags.all() if _complete(t)} if image else {}
        try:
            names = client.list_tags(repository)
        except oci.RegistryNotFound:
            names = []
        for name in names:
            try:
                # Only the digest matters here; record_push reads the rest when it changed.
                manifest = client.get_manifest(repository, name, read_platforms=False)
                if known.get(name) == manifest.digest:
                    report.unchanged += 1
                    continue
                record_push(repository, name, manifest.digest)
                report.recorded += 1
            except oci.RegistryError as error:
                log.warning("sync: %s:%s: %s", repository, name, error)
                report.failed += 1
        if image is not None:
            gone = image.tags.exclude(name__in=names).exclude(digest="")
            report.removed += gone.delete()[0]
            image.refresh_state()
    return report
