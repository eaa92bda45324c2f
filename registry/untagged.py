"""Which manifests of our images no tag names any more, and since when.

Pushing a tag again leaves its old manifest in the repository: Distribution still serves it by
digest (deployments pinned to it keep pulling) and its garbage collection keeps its blobs, so an
image that CI pushes to the same tag grows without bound. The registry cannot tell since when a
manifest has had no tag, so it is written down as it happens (records.UntaggedManifest): when a
tag of one of our images is recorded on another digest (a push event, a build reading its push
back, the sync finding a tag moved), the digest it leaves becomes untagged unless another tag of
the image still names it, and the digest it gets is tagged again. The manifests an index lists
are untagged by nature and get no row: only a digest a tag named does. A cleanup policy's
untagged rule moves them to the recycle bin (lifecycle.policies).

Callers hold the image's lock (registry.locks.image_lock), as for every change to its tags.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from records.models import Image, Tag, UntaggedManifest


def tag_moves(image: Image, tag: Tag | None, digest: str, now: datetime | None = None) -> None:
    """`tag` of `image` (as recorded; None for a new tag) is about to be recorded on `digest`."""
    tagged_again(image, digest)
    if tag is None or not tag.digest or tag.digest == digest:
        return
    if image.tags.filter(digest=tag.digest).exclude(pk=tag.pk).exists():
        return  # another tag still names it
    # Pulled through its tag until now: still in use as much as it was then.
    write_down(
        image, tag, last_tag=tag.name, since=now or timezone.now(), last_pulled=tag.last_pulled
    )


def write_down(
    image: Image,
    manifest,
    *,
    last_tag: str,
    since: datetime,
    last_pulled: datetime | None,
) -> None:
    """`manifest` (the tag that named it last, or the recycle bin's entry of it brought back)
    of `image` is untagged since `since`."""
    UntaggedManifest.objects.update_or_create(
        image=image,
        digest=manifest.digest,
        defaults={
            "media_type": manifest.media_type,
            "size": manifest.size,
            "layer_id": manifest.layer_id,
            "platforms": manifest.platforms,
            "pushed_by": manifest.pushed_by,
            "pushed_at": manifest.pushed_at or manifest.last_build_date,
            "last_tag": last_tag,
            "untagged_since": since,
            "last_pulled": last_pulled,
        },
    )


def tagged_again(image: Image, digest: str) -> None:
    """A tag of `image` names `digest` (again): it is no longer untagged."""
    if digest:
        UntaggedManifest.objects.filter(image=image, digest=digest).delete()
