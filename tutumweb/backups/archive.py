"""A backup directory: its layout, its manifest and its checksums.

    manifest.json        what the backup holds, with the size and SHA-256 of each file; written
                         last, so a backup without it (or with "complete": false) did not finish
    database.sqlite3     or database.pgdump (pg_dump's custom format)
    secrets/             secret_key, notification_secret, token.key and token.crt
    registry/config.yml  our registry's config file
    storage/             the registry's filesystem storage, laid out as the registry keeps it
    storage.sha256       a line per storage file, as `sha256sum` writes them (listed in the
                         manifest with its own checksum): `cd DIR && sha256sum -c storage.sha256`

The directory holds the token-signing key and the secrets: it is mode 0700, every file 0600.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

FORMAT = "tutumweb-backup"
VERSION = 1
MANIFEST = "manifest.json"
STORAGE = "storage"
STORAGE_SUMS = "storage.sha256"


class BackupError(Exception):
    """The backup cannot be made or restored; the message says why, in a sentence."""


def prepare(directory: Path) -> None:
    """Make `directory` (0700) for a backup: new, empty, or a backup made before, which is
    brought up to date (its manifest goes first, so an update that stops half-way is never
    taken for a whole backup)."""
    if directory.exists() and not directory.is_dir():
        raise BackupError(f"{directory} is a file: name a directory for the backup.")
    if directory.is_dir() and any(directory.iterdir()) and not _is_backup(directory):
        raise BackupError(
            f"{directory} holds files that are not a tutumweb backup: name a new or empty "
            "directory (or one a backup was made in before, to bring it up to date)."
        )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    write_manifest(directory, {"format": FORMAT, "version": VERSION, "complete": False})


def _is_backup(directory: Path) -> bool:
    try:
        return json.loads((directory / MANIFEST).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def private_directory(path: Path) -> None:
    """Make `path` and its missing parents, owner only (mkdir's `parents` would make the
    parents with the default mode)."""
    if path.is_dir():
        return
    private_directory(path.parent)
    path.mkdir(mode=0o700, exist_ok=True)


def write_private(path: Path, data: bytes) -> None:
    """Write `path` (mode 0600) whole or not at all: a temporary file renamed over it."""
    private_directory(path.parent)
    temporary = path.with_name(f".{path.name}.partial")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def checksum(path: Path) -> dict:
    """The size and SHA-256 of a file, as the manifest lists them."""
    with path.open("rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()
        return {"bytes": os.fstat(file.fileno()).st_size, "sha256": digest}


def write_manifest(directory: Path, manifest: dict) -> None:
    write_private(directory / MANIFEST, json.dumps(manifest, indent=2).encode())


def flush() -> None:
    """Put everything written so far on disk: one sync for the lot, as an fsync per file costs
    more than the copy on many small files."""
    os.sync()


def finish(directory: Path, manifest: dict) -> None:
    """Write the manifest of a whole backup, once everything it lists is on disk (flush)."""
    write_manifest(directory, {"format": FORMAT, "version": VERSION, "complete": True, **manifest})


def read_manifest(directory: Path) -> dict:
    """The manifest of a whole backup, or BackupError saying why `directory` is not one."""
    path = directory / MANIFEST
    if not directory.is_dir():
        raise BackupError(f"There is no backup at {directory}: no such directory.")
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise BackupError(f"{directory} is not a tutumweb backup: it has no {MANIFEST}.") from None
    except (OSError, ValueError) as error:
        raise BackupError(f"{path} cannot be read ({error}): the backup is damaged.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{directory} is not a tutumweb backup (its {MANIFEST} is another's).")
    if manifest.get("version") != VERSION:
        raise BackupError(
            f"The backup at {directory} is of version {manifest.get('version')}; this tutumweb "
            f"reads version {VERSION}."
        )
    if not manifest.get("complete"):
        raise BackupError(
            f"The backup at {directory} did not finish (it stopped before writing its "
            f"manifest): take another."
        )
    return manifest


def verify(directory: Path, manifest: dict) -> int:
    """Check every file the backup lists against its checksum (the storage's too, from its
    list); raise BackupError naming the first one missing or changed. The bytes read."""
    read = 0
    for name, expected in sorted(manifest.get("files", {}).items()):
        read += _check(directory, name, expected["sha256"], expected["bytes"])
    if manifest.get("storage", {}).get("copied"):
        for digest, name in storage_sums(directory):
            read += _check(directory, name, digest, None)
    return read


def storage_sums(directory: Path) -> list[tuple[str, str]]:
    """The storage's files with their SHA-256 (digest, path in the backup)."""
    sums = []
    for line in (directory / STORAGE_SUMS).read_text().splitlines():
        digest, _, name = line.partition("  ")
        if not name.startswith(f"{STORAGE}/") or ".." in Path(name).parts:
            raise BackupError(f"{STORAGE_SUMS} names a file outside the storage: {name!r}.")
        sums.append((digest, name))
    return sums


def _check(directory: Path, name: str, digest: str, size: int | None) -> int:
    path = directory / name
    try:
        found = checksum(path)
    except FileNotFoundError:
        raise BackupError(f"The backup is incomplete: {name} is missing.") from None
    if size is not None and found["bytes"] != size:
        raise BackupError(
            f"The backup is damaged: {name} has {found['bytes']:,} bytes instead of {size:,} "
            "(truncated or changed since the backup was taken)."
        )
    if found["sha256"] != digest:
        raise BackupError(
            f"The backup is damaged: {name} does not match its checksum (truncated or changed "
            "since the backup was taken)."
        )
    return found["bytes"]


def in_words(size: int) -> str:
    """A size as people read it: 512 bytes, 12.3 KB, 456.7 MB, 1.2 GB."""
    if size < 1000:
        return f"{size} bytes"
    value, unit = size / 1000, "KB"
    for bigger in ("MB", "GB", "TB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    return f"{value:,.1f} {unit}"


# A long copy says how far it got this often.
PROGRESS_EVERY = 10.0


def progress_lines(write: Callable[[str], None], name: Callable[[object], str]):
    """A copy's progress callback (backup's storage, move_storage's steps: anything with
    `files`, `kept_files`, `bytes` and `kept_bytes`): a line to `write`, under the copy's
    `name`, at most every PROGRESS_EVERY seconds."""
    last = time.monotonic()

    def progress(copy) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_EVERY:
            last = time.monotonic()
            write(
                f"  {name(copy)}: {copy.files + copy.kept_files:,} files, "
                f"{in_words(copy.bytes + copy.kept_bytes)} so far"
            )

    return progress
