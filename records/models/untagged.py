"""Manifests of our images that no tag names any more (registry.untagged)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from records.models.images import Image, Layer


class UntaggedManifest(models.Model):
    """A manifest left in an image's repository when its last tag moved to another digest (a
    push, a build, or a move the sync found). The registry still serves it by digest, so
    deployments pinned to it keep pulling; a cleanup policy's untagged rule moves it to the
    recycle bin after some days (lifecycle.policies). The row is written when it happens:
    the registry itself cannot say since when a manifest has had no tag."""

    # No index of its own: one_untagged_manifest (image, digest) serves every lookup by image.
    image = models.ForeignKey(
        Image, on_delete=models.CASCADE, related_name="untagged_manifests", db_index=False
    )
    digest = models.CharField(max_length=100)
    # Copied from the tag that named it last: what a pull downloads, its image config with
    # the layers it holds (the bytes removing it frees), an index's platforms (the manifests
    # it lists, which stay while it does).
    media_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    layer = models.ForeignKey(
        Layer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    platforms = models.JSONField(default=list, blank=True)
    pushed_by = models.CharField(max_length=150, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    # The tag that named it last, for people ("was latest").
    last_tag = models.CharField(max_length=128, blank=True)
    untagged_since = models.DateTimeField(default=timezone.now)
    # A pull by digest (registry.events), at most once a minute; or its last tag's last pull.
    last_pulled = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["untagged_since", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["image", "digest"], name="one_untagged_manifest")
        ]

    def __str__(self) -> str:
        return f"{self.image.name}@{self.digest}"
