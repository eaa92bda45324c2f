"""Garbage collection: free the registry's blobs no manifest references any more (what the
recycle bin purged, what pushes replaced), inside the maintenance window.

`docker-registry garbage-collect` works on the storage (files or bucket) while the registry keeps
serving (there is no blob descriptor cache to go stale, registry.config). Never with
`--delete-untagged`: in 2.8 it aborts on a repository holding only digest-pushed manifests
(the bin's) and would delete an index's images, which are untagged.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from records.models import BinEntry, Collection, Maintenance, Tally
from registry import maintenance
from registry.locks import deleting_from_storage
from registry.names import BIN_NAMESPACE
from registry.storage import RegistryStorage, open_storage

log = logging.getLogger(__name__)

# "7 blobs marked, 3 blobs and 0 manifests eligible for deletion" (on stdout, whatever the
# log level); a manifest deleted through the API is already unlinked, so counted in "blobs".
_SUMMARY = re.compile(r"(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible")
GC_TIMEOUT = 20 * 60  # below maintenance.STALE, so nobody else starts a window meanwhile


class CollectFailed(Exception):
    """garbage-collect did not finish; the message says why."""


@dataclass
class Collected:
    bytes_before: int
    bytes_after: int
    blobs_deleted: int
    bin_repositories_removed: int
    window_seconds: float  # pushes refused this long: waiting for quiet, then collecting
    gc_seconds: float

    @property
    def bytes_freed(self) -> int:
        return self.bytes_before - self.bytes_after


def _garbage_collect(config: Path) -> int:
    """Run garbage-collect; how many blobs it deleted."""
    result = subprocess.run(
        ["docker-registry", "garbage-collect", str(config)],
        capture_output=True,
        text=True,
        timeout=GC_TIMEOUT,
        # A clean environment: our own REGISTRY_* settings would read as config overrides to
        # docker-registry, and its s3 driver panics ("unable to load custom CA bundle") when
        # AWS_CA_BUNDLE is set, even for an http endpoint (seen with 2.8.2).
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise CollectFailed(f"garbage-collect exited with {result.returncode}: {' '.join(tail)}")
    summary = _SUMMARY.search(result.stdout)
    return int(summary.group(2)) + int(summary.group(3)) if summary else 0


def _remove_spent_bin_repositories(storage: RegistryStorage) -> int:
    """Remove the bin's repositories that hold nothing any more, and those no entry owns (a
    copy that failed half-way leaves manifests no tag names, which the registry's API cannot
    list), so the catalog does not grow with every deletion and the collection frees their
    blobs. Only inside the window, before collecting: nothing can put a manifest back now,
    and an entry is saved before its copy starts, so a copy in progress is owned."""
    removed = 0
    owned = {f"{BIN_NAMESPACE}/{pk}" for pk in BinEntry.objects.values_list("pk", flat=True)}
    for repository in storage.repositories_in(BIN_NAMESPACE):
        if repository in owned and storage.holds_revisions(repository):
            continue
        storage.remove_repository(repository)
        removed += 1
    return removed


def collect() -> Collected:
    """Run garbage collection inside the maintenance window (maintenance.Busy if another
    one is on; registry.locks.StorageHeld while a backup copies the storage); the figures,
    recorded. The storage is the registry's own (REGISTRY_CONFIG): its filesystem or its
    bucket (registry.storage)."""
    config = settings.REGISTRY_CONFIG
    storage = open_storage(config)
    started_at = timezone.now()
    opened = time.monotonic()
    if not storage.has_repositories():
        # Nothing was ever pushed (garbage-collect fails on an empty storage): nothing to free.
        before = storage.stored_bytes()
        return record(Collected(before, before, 0, 0, time.monotonic() - opened, 0), started_at)
    with deleting_from_storage(), maintenance.window(storage):
        before = storage.stored_bytes()
        removed = _remove_spent_bin_repositories(storage)
        started = time.monotonic()
        deleted = _garbage_collect(config)
        gc_seconds = time.monotonic() - started
        after = storage.stored_bytes()
    collected = Collected(
        bytes_before=before,
        bytes_after=after,
        blobs_deleted=deleted,
        bin_repositories_removed=removed,
        window_seconds=time.monotonic() - opened,
        gc_seconds=gc_seconds,
    )
    log.info("garbage collection: %s", collected)
    return record(collected, started_at)


def record(collected: Collected, started_at: datetime) -> Collected:
    """Keep a collection that ran to its end: when (housekeeping's next is due from it), its
    figures for its history, and its part of what /metrics counts."""
    with transaction.atomic():
        Maintenance.objects.update_or_create(pk=1, defaults={"last_collected": timezone.now()})
        Collection.objects.create(
            started=started_at,
            seconds=collected.window_seconds,
            gc_seconds=collected.gc_seconds,
            bytes_before=collected.bytes_before,
            bytes_after=collected.bytes_after,
            blobs_deleted=collected.blobs_deleted,
        )
        for name, amount in (
            (Tally.Name.GC_FREED_BYTES, collected.bytes_freed),
            (Tally.Name.GC_DELETED_BLOBS, collected.blobs_deleted),
            (Tally.Name.GC_WINDOW_SECONDS, collected.window_seconds),
            (Tally.Name.GC_SECONDS, collected.gc_seconds),
        ):
            Tally.add(name, amount=amount)
    return collected
