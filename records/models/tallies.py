"""Counts that only grow, kept in the database for /metrics (tutumweb/metrics.py)."""

from __future__ import annotations

from django.db import connection, models


class Tally(models.Model):
    """How many times something happened, and the sum of what it measured (seconds, bytes),
    added to as it happens. In the database, so every process on every machine adds to the
    same row; never lowered when what was counted goes (builds are deleted with their tags,
    the audit trail is pruned), which Prometheus would take for a counter that restarted; and
    a few dozen rows to read, whatever the history."""

    class Name(models.TextChoices):
        PUSHES = "pushes", "tags pushed to our registry"
        BUILDS = "builds", "builds finished, by final state and duration"
        # Each garbage collection counts once in each, which sums one of its figures.
        GC_FREED_BYTES = "gc_freed_bytes", "garbage collections, and the bytes they freed"
        GC_DELETED_BLOBS = "gc_deleted_blobs", "garbage collections, and the blobs they deleted"
        GC_SECONDS = "gc_seconds", "garbage collections, and the time they ran"
        # Each attempt at a webhook delivery, by outcome (delivered, failed), and its time.
        WEBHOOK_ATTEMPTS = "webhook_attempts", "webhook attempts, by outcome, and their time"

    # One of Name (not `choices`: a new count needs no migration).
    name = models.CharField(max_length=20)
    # What the count is split by: a build's final state.
    label = models.CharField(max_length=20, blank=True)
    # A histogram's bucket, the upper bound of what it counts ("60", "+Inf").
    bucket = models.CharField(max_length=20, blank=True)
    count = models.BigIntegerField(default=0)
    total = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "label", "bucket"], name="one_tally_row")
        ]

    def __str__(self) -> str:
        return " ".join(part for part in (self.name, self.label, self.bucket) if part)

    @classmethod
    def add(cls, name: str, *, label: str = "", bucket: str = "", amount: float = 0.0) -> None:
        """Count one, in the caller's transaction: one statement, which concurrent adders
        (API workers, build workers on other machines) wait on rather than lose."""
        table = cls._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (name, label, bucket, count, total) "
                "VALUES (%s, %s, %s, 1, %s) ON CONFLICT (name, label, bucket) DO UPDATE "
                f"SET count = {table}.count + 1, total = {table}.total + excluded.total",
                [name, label, bucket, amount],
            )
