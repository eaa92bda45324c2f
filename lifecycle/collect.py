"""Garbage collection: free the registry's blobs no manifest references any more (what the
recycle bin purged, what pushes replaced), while pushes go on.

`docker-registry garbage-collect` is documented as unsafe alongside pushes, so our registry
had to refuse every push for minutes while it ran. This collection needs no window. What it
relies on (CNCF Distribution 2.8, checked with Debian's 2.8.2):

- the registry takes a manifest only if every blob it names is linked in that repository *and*
  its bytes exist at that moment; a cross-repository mount needs the same of the source;
- an upload whose blob already exists only links it (its bytes are not written again), and one
  whose blob does not exist writes it;
- a client can learn that a blob exists (a `HEAD`) without anybody being told, so "nobody
  pushed a manifest naming it" is not enough: a client may be about to;
- only a client holding an unexpired token granting push in a repository can put a manifest,
  mount or upload there, and we issue every such token (registry.writers).

How a run goes (one at a time on all machines: registry.locks.collecting):

1. List every blob, then every repository's manifests (tagged or not, the recycle bin's too),
   reading each manifest once: a blob none names and written before the grace period
   (GC_GRACE_MINUTES) is a candidate. Listed first, so a blob written meanwhile never is.
2. For each candidate: if a repository being written (registry.writers) links it, leave it for
   a later run. Otherwise *set it aside* (one rename, or a copy and a delete on S3, that look
   made between the two): the registry no longer sees it. Then look again at the repositories
   being written: if one links it now (a push that was told it exists, or linked it by an
   upload or a mount, just before), put it back at once. A client that asks after it was set
   aside is told it is missing and uploads it.
3. Wait GC_SETTLE_SECONDS for manifests whose check passed just before a blob was set aside to
   be written, then list every repository's manifests again: a blob set aside that a manifest
   not seen in step 1 names is put back.
4. Delete what is still set aside, and record what the run freed (Collection).

So no manifest that exists afterwards names a missing blob, and no push is refused for
maintenance. What can still happen is in docs/operations.md ("Garbage collection").
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lifecycle import bin as recycle_bin
from records.models import BinEntry, Collection, Maintenance, Tally
from registry import writers
from registry.locks import collecting, deleting_from_storage
from registry.manifests import RawManifest
from registry.names import BIN_NAMESPACE
from registry.storage import RegistryStorage, StorageError, open_storage

log = logging.getLogger(__name__)

# An upload written to this recently counts its repository as being written, whatever its
# token: the registry checks a token when a request starts, and a long upload outlives it.
UPLOAD_QUIET = 120
# The first look at a candidate may use who was being written this long ago: the second look,
# after the set-aside, always asks afresh and puts back what the first one missed.
FIRST_LOOK_FRESH = 0.5
# The uploads under way are listed again after this many seconds at least (a walk of every
# repository on files, a LIST on S3), and never more than a quarter of the time.
UPLOADS_FRESH = 5.0
# What a run tells a test at each step: ("marked", ""), ("set aside", digest), ("swept", "").
Checkpoint = Callable[[str, str], None]
# What each manifest names, by digest, kept between the runs of one process (`housekeeping
# --every` runs them all in one): a manifest's bytes never change under its digest, so the
# next run reads only the manifests pushed since. About 300 bytes an entry.
_NAMED: dict[str, frozenset[str]] = {}
NAMED_KEPT = 200_000


class CollectFailed(Exception):
    """The collection stopped before its end; the message says why. What it had set aside
    is put back by the next run."""


@dataclass
class _Marks:
    referenced: set[str] = field(default_factory=set)
    manifests: set[str] = field(default_factory=set)
    repositories: set[str] = field(default_factory=set)


class _BeingWritten:
    """Which repositories a push may be writing to now (registry.writers), and whether one of
    them links a blob."""

    def __init__(self, storage: RegistryStorage):
        self.storage = storage
        self._uploading: set[str] = set()
        self._uploads_listed = -UPLOADS_FRESH
        self._listing_took = 0.0
        self._asked: tuple[float, set[str]] = (-FIRST_LOOK_FRESH, set())

    def repositories(self, *, fresh: bool = True) -> set[str]:
        """The repositories being written; not `fresh`: as they were up to FIRST_LOOK_FRESH
        ago (one question to the database instead of one a candidate)."""
        asked_at, found = self._asked
        if not fresh and time.monotonic() - asked_at < FIRST_LOOK_FRESH:
            return found
        now = time.monotonic()
        if now - self._uploads_listed >= max(UPLOADS_FRESH, 4 * self._listing_took):
            self._uploading = self.storage.repositories_uploading(time.time() - UPLOAD_QUIET)
            self._uploads_listed = time.monotonic()
            self._listing_took = self._uploads_listed - now
        found = writers.being_written() | self._uploading
        self._asked = (time.monotonic(), found)
        return found

    def link(self, digest: str, *, fresh: bool = True) -> bool:
        repositories = self.repositories(fresh=fresh)
        return any(self.storage.links(repository, digest) for repository in repositories)


def collect(
    trigger: str = "schedule",
    checkpoint: Checkpoint | None = None,
    *,
    run: Collection | None = None,
) -> Collection:
    """Run one collection of our registry's storage (REGISTRY_CONFIG: its directory or its
    bucket) and return its record: `run` if given (one staff asked for, Queued), else a new
    one. Raises registry.locks.CollectionRunning if another one runs, registry.locks.
    StorageHeld while a backup copies the storage, and CollectFailed (recorded as failed) if
    the storage failed it. `checkpoint`: tests force interleavings."""
    storage = open_storage(settings.REGISTRY_CONFIG)
    with deleting_from_storage(), collecting(), _yielding_the_cpu():
        _end_abandoned_runs()
        run = run or Collection(trigger=trigger)
        run.state, run.started = Collection.State.RUNNING, timezone.now()
        run.save()
        started = time.monotonic()
        try:
            _collect(storage, run, checkpoint or (lambda step, digest: None))
        except (StorageError, OSError, ValueError) as error:
            # Nothing stays out of the registry's sight because a run stopped half-way (what a
            # new manifest named would wait for the next run otherwise).
            with suppress(StorageError, OSError):
                _put_back_everything(storage)
            run.state, run.error = Collection.State.FAILED, str(error) or type(error).__name__
            run.seconds, run.finished = time.monotonic() - started, timezone.now()
            run.save()
            log.error("garbage collection failed: %s", run.error)
            raise CollectFailed(run.error) from error
        run.seconds = time.monotonic() - started
        record(run)
    log.info(
        "garbage collection: %s blobs (%s bytes) freed, %s left for later, %s put back",
        run.blobs_deleted,
        run.bytes_freed,
        run.blobs_deferred,
        run.blobs_restored,
    )
    return run


@contextmanager
def _yielding_the_cpu() -> Iterator[None]:
    """Run the block at GC_NICENESS, this thread only (Linux gives each thread its own):
    where pushes and the collection want the same CPU, pushes come first (measured in
    bench/gc.py: pushes kept 0.71-0.86x of their rate beside collections at the same priority,
    0.85-0.93x beside niced ones). A process without the privilege to raise a
    priority again leaves this thread lower: lifecycle.tasks runs it in a thread of its own."""
    thread = threading.get_native_id()
    before = os.getpriority(os.PRIO_PROCESS, thread)
    os.setpriority(os.PRIO_PROCESS, thread, max(before, min(settings.GC_NICENESS, 19)))
    try:
        yield
    finally:
        with suppress(PermissionError):
            os.setpriority(os.PRIO_PROCESS, thread, before)


def running() -> Collection | None:
    """The collection running now, if any (as far as its record tells)."""
    return Collection.objects.filter(state=Collection.State.RUNNING).first()


def _end_abandoned_runs() -> None:
    """Runs still marked running while we hold the lock stopped with their process."""
    Collection.objects.filter(state=Collection.State.RUNNING).update(
        state=Collection.State.FAILED,
        finished=timezone.now(),
        error="It stopped before its end (its process ended); the next run finished its work.",
    )


def _put_back_everything(storage: RegistryStorage) -> None:
    for digest in storage.set_aside_digests():
        storage.put_back(digest)


def _collect(storage: RegistryStorage, run: Collection, checkpoint: Checkpoint) -> None:
    # What a run whose process died set aside is decided again from the start.
    _put_back_everything(storage)
    if not storage.has_repositories():
        run.bytes_before = run.bytes_after = storage.stored_bytes()
        return
    run.bytes_before = storage.stored_bytes()
    run.bin_repositories_removed = _remove_spent_bin_repositories(storage)
    marked_at = time.time()
    stored = list(storage.blobs())
    marks = _mark(storage)
    run.repositories, run.manifests = len(marks.repositories), len(marks.manifests)
    checkpoint("marked", "")
    cutoff = marked_at - settings.GC_GRACE_MINUTES * 60
    candidates = [b for b in stored if b.digest not in marks.referenced and b.modified < cutoff]
    being_written = _BeingWritten(storage)

    def in_use(digest: str) -> bool:
        used = being_written.link(digest, fresh=False)
        run.blobs_deferred += used
        return used

    aside: dict[str, int] = {}
    for blob in candidates:
        size = storage.set_aside(blob.digest, unless=in_use)
        if size is None:
            continue  # in use, or gone meanwhile
        checkpoint("set aside", blob.digest)
        if being_written.link(blob.digest):
            storage.put_back(blob.digest)
            run.blobs_restored += 1
            continue
        aside[blob.digest] = size
    if aside:
        time.sleep(settings.GC_SETTLE_SECONDS)
        run.blobs_restored += _put_back_what_new_manifests_name(storage, marks, aside)
    checkpoint("swept", "")
    for digest, size in aside.items():
        storage.drop_set_aside(digest)
        run.blobs_deleted += 1
        run.bytes_freed += size
    run.bytes_after = storage.stored_bytes()


def _mark(storage: RegistryStorage) -> _Marks:
    marks = _Marks()
    for repository, digest in storage.revisions():
        marks.repositories.add(repository)
        if digest not in marks.manifests:
            marks.referenced.update(_references(storage, repository, digest))
            marks.manifests.add(digest)
    return marks


def _references(storage: RegistryStorage, repository: str, digest: str) -> frozenset[str]:
    """The manifest's own blob and what it names: an image's config and layers, an index's
    manifests. Raises ValueError when it cannot be read as a manifest: what it names is then
    unknown, and deleting anything would be a guess."""
    named = _NAMED.get(digest)
    if named is not None:
        return named
    content = storage.blob_content(digest)
    if content is None:
        # A manifest deleted since it was listed names nothing any more.
        return frozenset({digest})
    named = _read_references(repository, digest, content)
    if len(_NAMED) >= NAMED_KEPT:
        _NAMED.clear()
    _NAMED[digest] = named
    return named


def _read_references(repository: str, digest: str, content: bytes) -> frozenset[str]:
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValueError(f"{repository}@{digest} cannot be read as a manifest: nothing was deleted")
    manifest = RawManifest(digest, str(body.get("mediaType") or ""), content, body)
    named = manifest.children() if manifest.is_index else manifest.blobs()
    # Docker's schema 1 names its layers as `fsLayers`.
    named += [
        layer["blobSum"]
        for layer in body.get("fsLayers") or []
        if isinstance(layer, dict) and isinstance(layer.get("blobSum"), str)
    ]
    return frozenset({digest, *named})


def _put_back_what_new_manifests_name(
    storage: RegistryStorage, marks: _Marks, aside: dict[str, int]
) -> int:
    """Put back each blob set aside that a manifest written since the marking names (its
    check passed just before the blob was set aside); how many."""
    restored = 0
    for repository, digest in storage.revisions():
        if digest in marks.manifests:
            continue
        if digest in aside:  # read the manifest itself where the registry reads it
            storage.put_back(digest)
            del aside[digest]
            restored += 1
        marks.manifests.add(digest)
        for named in _references(storage, repository, digest):
            if named in aside:
                storage.put_back(named)
                del aside[named]
                restored += 1
    return restored


def _remove_spent_bin_repositories(storage: RegistryStorage) -> int:
    """Remove the bin's repositories that hold nothing any more, and those no entry owns (a
    copy that failed half-way leaves manifests no tag names, which the registry's API cannot
    list), so the catalog does not grow with every deletion and the collection frees their
    blobs.

    Listed before the entries are read: a repository is made only after its entry is saved,
    so one listed whose entry is not found was let go. An entry's repository is looked at
    again under its image's lock (lifecycle.bin), which every move into or out of it holds."""
    listed = storage.repositories_in(BIN_NAMESPACE)
    owners = dict(BinEntry.objects.values_list("pk", "image_name"))
    removed = 0
    for repository in listed:
        entry_id = repository.partition("/")[2]
        image_name = owners.get(int(entry_id)) if entry_id.isdigit() else None
        if image_name is None:
            storage.remove_repository(repository)
            removed += 1
            continue
        with recycle_bin.lock(image_name):
            if BinEntry.objects.filter(pk=entry_id).exists() and storage.holds_revisions(
                repository
            ):
                continue
            storage.remove_repository(repository)
            removed += 1
    return removed


def record(run: Collection) -> None:
    """Keep a run that went to its end: its figures, when (housekeeping's next is due from
    it), and its part of what /metrics counts."""
    run.state, run.finished = Collection.State.DONE, timezone.now()
    with transaction.atomic():
        run.save()
        Maintenance.objects.update_or_create(pk=1, defaults={"last_collected": run.finished})
        for name, amount in (
            (Tally.Name.GC_FREED_BYTES, run.bytes_freed),
            (Tally.Name.GC_DELETED_BLOBS, run.blobs_deleted),
            (Tally.Name.GC_SECONDS, run.seconds),
        ):
            Tally.add(name, amount=amount)


def last_finished() -> Collection | None:
    return Collection.objects.filter(state=Collection.State.DONE).first()
