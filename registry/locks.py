"""One lock per repository of our registry, held while the recycle bin, a cleanup policy, a
sync or a registry event changes that repository's tags (registry, database and bin together).

Why: the registry deletes a manifest only by digest, taking every tag on it, so moving one tag
to the bin is several registry calls (copy it out, delete the digest, put the digest back under
the tags that stay) and database writes. Two such moves on one digest must not interleave: a
tag restored between a delete's "which tags stay" and its "delete the digest" is lost, and two
deletes that each put the other's tag back leave both served (issue 27).

Which lock:
- PostgreSQL: a session advisory lock (`pg_advisory_lock`) on a 63-bit hash of the repository
  name. It holds across processes and machines sharing the database, and needs no row (an
  image row may not exist yet for a push, and restoring a deleted image creates it anew).
  Session rather than transaction level (`pg_advisory_xact_lock`): a move commits each step as
  it goes (the bin entry before the registry changes), and one transaction around the section
  would roll back the record of copies already made when a later registry call fails. The
  `finally` unlocks; a connection that dies frees its locks with it.
- SQLite: an exclusive `fcntl.flock` on one of 1,024 files under DATA_DIR/locks, chosen by
  the hash. SQLite means one machine, and a file lock serialises every process and thread
  there (each `open` is a lock of its own, even within one process). A file per repository
  would cost a file creation (0.4 ms here) the first time each one is synced; two repositories
  sharing a file only wait for each other now and then. `BEGIN IMMEDIATE` would
  serialise too, but it holds the whole database's write lock through the section's registry
  HTTP calls, stalling every other write (sign-ins, other images' pushes) behind them.

Sections are short and take one lock at a time: taking another repository's lock while holding
one is refused (two such sections could wait on each other for ever); taking the same one again
in the same thread (a policy run calling the bin, a sync recording a push) just goes on. Take it
outside database transactions: on SQLite an open write transaction held while waiting here
would block the holder's writes.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import OperationalError, connection

from lib.errors import TryLater

_held = threading.local()
_FILES = 1024
# The storage lock's keys ("tutu", 1) and file.
_STORAGE_KEYS = (0x74757475, 1)
_STORAGE_FILE = "storage.lock"
# The collection's lock: one garbage collection at a time, whichever machine runs it.
_COLLECTION_KEYS = (0x74757475, 2)
_COLLECTION_FILE = "collection.lock"
_storage = threading.local()


def _key(repository: str) -> int:
    """A signed 64-bit key (what pg_advisory_lock takes) from the repository name."""
    digest = hashlib.sha256(f"tutumweb-image:{repository}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_directory():
    return settings.DATA_DIR / "locks"


@contextmanager
def image_lock(repository: str) -> Iterator[None]:
    """Hold the repository's lock for the block (see the module's docstring)."""
    key = _key(repository)
    held = getattr(_held, "key", None)
    if held == key:
        _held.depth += 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    if held is not None:
        raise RuntimeError(f"image_lock({repository!r}) while holding another image's lock")
    with _acquire(key):
        _held.key, _held.depth = key, 1
        try:
            yield
        finally:
            _held.key = None


@contextmanager
def _acquire(key: int) -> Iterator[None]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    directory = lock_directory()
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / f"{key % _FILES:04d}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        # Closing the descriptor releases the lock.
        os.close(fd)


class StorageHeld(TryLater):
    """A deletion from our registry's storage refused while a backup copies it."""

    def __init__(self):
        super().__init__(
            "A backup is copying our registry's storage, which takes a few minutes: deleting, "
            "restoring and purging wait until it ends. Try again in a few minutes; nothing was "
            "changed.",
            retry_after=120,
        )


@contextmanager
def deleting_from_storage() -> Iterator[None]:
    """Held by whatever deletes from our registry's storage, for as long as it works; raises
    StorageHeld at once if a backup holds the storage. Nests within a thread."""
    depth = getattr(_storage, "depth", 0)
    if depth:
        _storage.depth += 1
        try:
            yield
        finally:
            _storage.depth -= 1
        return
    with _storage_lock(exclusive=False):
        _storage.depth = 1
        try:
            yield
        finally:
            _storage.depth = 0


@contextmanager
def storage_kept(*, wait: float, on_wait: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Held by a backup while it copies our registry's storage: nothing deletes from it
    meanwhile. Waits up to `wait` seconds for the deletions under way to end (calling `on_wait`
    once if it has to wait), then raises TimeoutError."""
    with _storage_lock(exclusive=True, wait=wait, on_wait=on_wait):
        yield


@contextmanager
def _storage_lock(
    *, exclusive: bool, wait: float = 0, on_wait: Callable[[], None] = lambda: None
) -> Iterator[None]:
    if connection.vendor == "postgresql":
        with _advisory_storage_lock(exclusive, wait, on_wait):
            yield
        return
    directory = lock_directory()
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / _STORAGE_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _flock(fd, exclusive, wait, on_wait)
        yield
    finally:
        os.close(fd)


def _flock(fd: int, exclusive: bool, wait: float, on_wait: Callable[[], None]) -> None:
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    deadline = time.monotonic() + wait
    waited = False
    while True:
        try:
            fcntl.flock(fd, mode)
            return
        except BlockingIOError:
            if not exclusive:
                raise StorageHeld() from None
            if time.monotonic() >= deadline:
                raise TimeoutError(_STILL_DELETING.format(wait=wait)) from None
            if not waited:
                on_wait()
                waited = True
            # flock has no timeout of its own.
            time.sleep(0.2)


_STILL_DELETING = (
    "Garbage collection or a recycle bin move was still deleting from the registry's storage "
    "after {wait:.0f} s: try again later."
)


@contextmanager
def _advisory_storage_lock(
    exclusive: bool, wait: float, on_wait: Callable[[], None]
) -> Iterator[None]:
    suffix = "" if exclusive else "_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_try_advisory_lock{suffix}(%s, %s)", _STORAGE_KEYS)
        got = cursor.fetchone()[0]
        if not got and not exclusive:
            raise StorageHeld()
        if not got:
            on_wait()
            # Waiting in the lock's queue, not polling: the deletions that ask meanwhile are
            # refused (their try conflicts with a waiter), so a busy bin cannot starve a backup.
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{wait * 1000:.0f}"])
            try:
                cursor.execute("SELECT pg_advisory_lock(%s, %s)", _STORAGE_KEYS)
            except OperationalError:
                raise TimeoutError(_STILL_DELETING.format(wait=wait)) from None
            finally:
                cursor.execute("RESET lock_timeout")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_unlock{suffix}(%s, %s)", _STORAGE_KEYS)


class CollectionRunning(Exception):
    """Another garbage collection is running (on this machine or another)."""


@contextmanager
def collecting() -> Iterator[None]:
    """Held by the one garbage collection that runs; raises CollectionRunning at once if
    another holds it. A PostgreSQL session advisory lock across machines (freed with its
    connection if the process dies), a file lock on SQLite's one machine."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", _COLLECTION_KEYS)
            if not cursor.fetchone()[0]:
                raise CollectionRunning("Another garbage collection is running.")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", _COLLECTION_KEYS)
        return
    directory = lock_directory()
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / _COLLECTION_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CollectionRunning("Another garbage collection is running.") from None
        yield
    finally:
        os.close(fd)
