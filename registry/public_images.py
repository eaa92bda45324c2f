"""Public images without a registry host are "created when inspected" (spec: Images)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from lib.errors import RegistryFailure
from records.models import Image, State, Tag
from registry import client as oci
from registry import names
from registry.hosts import registry_for_host
from registry.sync import tag_fields

log = logging.getLogger(__name__)


def inspect_public_image(name: str) -> Image | None:
    """Look `name` up on the public registry and record it with its tag names.

    Layers are read per tag when a tag is inspected, not here: Docker Hub repositories can
    have thousands of tags. Returns None when the registry has no such repository.
    """
    host, _ = names.split_name(name)
    if host is not None:
        return None
    try:
        names.validate_image_name(name)
    except ValidationError:
        return None
    image = Image(
        name=name,
        registry=registry_for_host(settings.PUBLIC_REGISTRY_HOST),
        is_private_image=False,
    )
    try:
        tag_names = oci.client_for_image(image).list_tags(image.repository)
    except oci.RegistryNotFound:
        return None
    except oci.RegistryAuthError:
        # Docker Hub answers "denied" for repositories that do not exist (or are private).
        return None
    except oci.RegistryError as error:
        raise RegistryFailure(f"Could not look {name} up: {error}. Try again later.") from error
    try:
        with transaction.atomic():
            image.save()
            Tag.objects.bulk_create(Tag(image=image, name=tag) for tag in tag_names)
    except IntegrityError:
        return Image.objects.filter(name=name).first()
    return image


def fill_public_layer(tag: Tag) -> None:
    """Read a public tag's manifest and config the first time the tag is inspected."""
    image = tag.image
    if tag.layer_id is not None or image.registry.is_tutum_registry or image.is_private_image:
        return
    # The tag page loads its image without the saved registry login (api.images.queries'
    # visible_tag): a public image on a registry that wants a login for reads needs it.
    saved = Image.objects.select_related("registry").filter(pk=image.pk).first() or image
    try:
        # Not every platform's manifest: Docker Hub counts each one read as a pull, so the
        # other platforms of an index are listed without their sizes.
        manifest = oci.client_for_image(saved).get_manifest(
            image.repository, tag.name, read_platforms=False
        )
    except oci.RegistryError as error:
        log.warning("could not read %s: %s", tag, error)
        return
    fields = tag_fields(manifest)
    for name, value in fields.items():
        setattr(tag, name, value)
    tag.state = State.SUCCESS
    tag.pushed_at = tag.pushed_at or timezone.now()
    tag.save(update_fields=[*fields, "state", "pushed_at"])
    image.refresh_state()
