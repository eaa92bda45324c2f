"""How much storage tags take, each layer counted once however many tags share it.

Read from what the registry told us at push time (each tag's image config and layers): for a
multi-platform tag only the platform shown (linux/amd64) is known in detail, so the figures
are at least what is stored. Image configs and manifests (a few KB each) are left out.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from records.models import BinEntry, Tag, UntaggedManifest


def _distinct(layer_lists) -> dict[str, int]:
    found: dict[str, int] = {}
    for layers in layer_lists.distinct():
        for layer in layers or []:
            found[layer["digest"]] = layer["size"]
    return found


def blobs(tags: QuerySet[Tag]) -> dict[str, int]:
    """Each distinct layer of these tags, with its compressed size."""
    return _distinct(tags.filter(layer__isnull=False).values_list("layer__layers", flat=True))


def held_in_bin() -> dict[str, int]:
    """The layers of what waits in the recycle bin: kept until it is purged."""
    entries = BinEntry.objects.filter(layer__isnull=False)
    return _distinct(entries.values_list("layer__layers", flat=True))


def untagged_blobs(manifests: QuerySet[UntaggedManifest]) -> dict[str, int]:
    """Each distinct layer of these untagged manifests (registry.untagged): the registry
    keeps them as long as it serves the manifests by digest."""
    manifests = manifests.filter(layer__isnull=False)
    return _distinct(manifests.values_list("layer__layers", flat=True))


def of_image(image) -> int:
    return sum(blobs(image.tags.all()).values())


def of_namespace(namespace: str) -> int:
    prefix = f"{settings.REGISTRY_HOST}/{namespace}/"
    return sum(blobs(Tag.objects.filter(image__name__startswith=prefix)).values())


def _untagged(manifests: QuerySet[UntaggedManifest], tags: QuerySet[Tag]) -> tuple[int, int]:
    """How many untagged manifests, and the bytes of their layers that no tag (of `tags`)
    holds: what they add to the storage of those tags."""
    used = blobs(tags).keys()
    held = untagged_blobs(manifests)
    return manifests.count(), sum(size for digest, size in held.items() if digest not in used)


def untagged_of_image(image) -> tuple[int, int]:
    return _untagged(image.untagged_manifests.all(), image.tags.all())


def untagged_of_namespace(namespace: str) -> tuple[int, int]:
    prefix = f"{settings.REGISTRY_HOST}/{namespace}/"
    return _untagged(
        UntaggedManifest.objects.filter(image__name__startswith=prefix),
        Tag.objects.filter(image__name__startswith=prefix),
    )
