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
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

_held = threading.local()
_FILES = 1024


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
