"""The recycle bin, cleanup policies and their runs, and our registry's garbage collections."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from records.models.images import Image, Layer
from records.models.teams import Team


class BinEntry(models.Model):
    """Something deleted that can still be restored: a tag, an image with its tags, or an
    untagged manifest a cleanup policy removed (by digest; no tag, `tag_name` "").

    A tag's manifest is kept in a hidden repository of our registry (`repository`, see
    lifecycle.bin) so that garbage collection keeps its blobs until the entry is purged.
    Names and owners are copied: the image may be gone.
    """

    class Kind(models.TextChoices):
        TAG = "tag"
        IMAGE = "image"
        UNTAGGED = "untagged"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    # The image while it exists (a tag's entry); an image entry's image is gone.
    image = models.ForeignKey(
        Image, null=True, blank=True, on_delete=models.SET_NULL, related_name="bin_entries"
    )
    # A tag deleted with its image belongs to the image's entry and is restored with it.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="tag_entries"
    )
    image_name = models.CharField(max_length=255)
    namespace = models.CharField(max_length=255, help_text="The first part of the image's path.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="bin_entries"
    )
    tag_name = models.CharField(max_length=128, blank=True)
    digest = models.CharField(max_length=100, blank=True)
    media_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    platforms = models.JSONField(default=list, blank=True)
    layer = models.ForeignKey(
        Layer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pushed_by = models.CharField(max_length=150, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    last_build_date = models.DateTimeField(null=True, blank=True)
    # The hidden repository holding the manifest; "" for an image entry or an unpushed tag.
    repository = models.CharField(max_length=255, blank=True)
    # An image entry: the image's settings to register it again (lifecycle.bin.snapshot).
    snapshot = models.JSONField(default=dict, blank=True)
    deleted_at = models.DateTimeField(default=timezone.now)
    deleted_by = models.CharField(max_length=150, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-deleted_at", "-pk"]
        indexes = [
            models.Index(fields=["image", "-deleted_at"], name="bin_image"),
            models.Index(fields=["namespace", "-deleted_at"], name="bin_namespace"),
            models.Index(fields=["deleted_at"], name="bin_age"),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.IMAGE:
            return self.image_name
        if self.kind == self.Kind.UNTAGGED:
            return f"{self.image_name}@{self.digest}"
        return f"{self.image_name}:{self.tag_name}"


class Maintenance(models.Model):
    """One row: when garbage collection last ran to its end (housekeeping runs it every
    GC_EVERY_HOURS)."""

    last_collected = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return (
            f"last collected {self.last_collected:%Y-%m-%d %H:%M}"
            if self.last_collected
            else "never collected"
        )


class WriteToken(models.Model):
    """The latest expiry of a push or delete token issued for one repository of our registry.

    Garbage collection (lifecycle.collect) never deletes a blob a repository with a valid
    write token links: a client of that repository may have been told the blob exists (a HEAD,
    which the registry reports nowhere) and be about to put a manifest that needs it."""

    repository = models.CharField(max_length=255, primary_key=True)
    until = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.repository} until {self.until:%H:%M:%S}"


class Collection(models.Model):
    """One garbage collection of our registry's storage (lifecycle.collect), for its history
    and the admin's storage page (/metrics counts collections in records.Tally)."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"  # asked for by staff, waiting for a worker
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    # When it was asked for while Queued, when it started after.
    started = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    # Who or what started it: "schedule", "after a purge", or a staff member's username.
    trigger = models.CharField(max_length=150, blank=True)
    # How long it ran, start to end (pushes go on meanwhile: there is no window).
    seconds = models.FloatField(default=0)
    # What was stored before and after (a listing of the storage), and exactly what the
    # deleted blobs held: pushes during the run make the first two differ from the third.
    bytes_before = models.BigIntegerField(default=0)
    bytes_after = models.BigIntegerField(default=0)
    bytes_freed = models.BigIntegerField(default=0)
    repositories = models.PositiveIntegerField(default=0)
    manifests = models.PositiveIntegerField(default=0)
    blobs_deleted = models.PositiveIntegerField(default=0)
    # Unreferenced blobs left for a later run: a push under way links them (see WriteToken).
    blobs_deferred = models.PositiveIntegerField(default=0)
    # Blobs taken out and put back because a push used them while the run swept.
    blobs_restored = models.PositiveIntegerField(default=0)
    bin_repositories_removed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started", "-pk"]

    def __str__(self) -> str:
        return f"collection at {self.started:%Y-%m-%d %H:%M}: {self.bytes_freed} bytes freed"


class CleanupPolicy(models.Model):
    """Which tags an image (or every image of a namespace without its own) sheds on its own
    (lifecycle.policies): what is removed goes to the recycle bin, never straight away."""

    image = models.OneToOneField(
        Image, null=True, blank=True, on_delete=models.CASCADE, related_name="cleanup_policy"
    )
    namespace = models.CharField(max_length=255, blank=True, help_text="For a namespace's policy.")
    # A tag goes when it breaks every rule that is set (outside the N most recent, older
    # than D days) and no keep rule saves it (patterns, pulled in the last P days).
    keep_last = models.PositiveIntegerField(null=True, blank=True)
    older_than_days = models.PositiveIntegerField(null=True, blank=True)
    keep_patterns = models.JSONField(default=list, blank=True)
    keep_pulled_days = models.PositiveIntegerField(null=True, blank=True)
    # Manifests no tag names any more go after this many days untagged (null: never), unless
    # pulled in the last `keep_pulled_days` or listed by an index that stays.
    untagged_days = models.PositiveIntegerField(null=True, blank=True)
    # Saved knowing it removes every tag of an image (asked twice): only then may a run.
    may_empty_images = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    updated = models.DateTimeField(default=timezone.now)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["namespace"],
                condition=models.Q(image__isnull=True),
                name="one_policy_per_namespace",
            )
        ]

    def __str__(self) -> str:
        return f"cleanup of {self.image.name if self.image_id else self.namespace + '/*'}"


class PolicyRun(models.Model):
    """One run of a cleanup policy, kept for its history."""

    policy = models.ForeignKey(CleanupPolicy, on_delete=models.CASCADE, related_name="runs")
    started = models.DateTimeField(default=timezone.now)
    # [{"image": name, "tag": name, "size": bytes}] — what went to the recycle bin.
    removed = models.JSONField(default=list, blank=True)
    removed_bytes = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started", "-pk"]

    def __str__(self) -> str:
        return f"{self.policy} at {self.started:%Y-%m-%d %H:%M}: {len(self.removed)} tags"
