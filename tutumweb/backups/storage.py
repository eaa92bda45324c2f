"""Our registry's storage in a backup: copied when the registry keeps it on the filesystem (the
object storage drivers' buckets are copied by the operator's own tools, see
docs/operations.md), in an order that keeps every copied tag whole while pushes go on.

CNCF Distribution's filesystem layout, under `docker/registry/v2/`:

    blobs/sha256/<2 hex>/<hex>/data            content, named by its digest, never changed
    repositories/<name>/_layers/sha256/<hex>/link           "this repository has the blob"
    repositories/<name>/_manifests/revisions/sha256/<hex>/link   "... has the manifest"
    repositories/<name>/_manifests/tags/<tag>/current/link  the tag's manifest digest
    repositories/<name>/_uploads/...           uploads being written

A push writes its blobs (and their `_layers` links), then the manifest and its revision link,
then the tag's link. The copy walks the other way round: each directory's entries in reverse
name order, which puts `repositories` before `blobs`, `_manifests` before `_layers` and `tags`
before `revisions`. Whatever a copied link names was written before it, so it is copied later
in the walk. Uploads in progress are left out (a client starts them again), and symbolic links
are never followed (the registry makes none).

Blobs never change, so a backup made again into the same directory copies only the blobs it
does not have (a blob of the same name and size is the same blob) and the link files that
changed, and removes what the storage no longer holds.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tutumweb.backups.archive import BackupError, private_directory

FILESYSTEM = "filesystem"
# The keys of the registry config's `storage` that are settings, not a driver.
_NOT_DRIVERS = {"delete", "maintenance", "cache", "redirect", "tag"}
_BLOB = re.compile(r"docker/registry/v2/blobs/sha256/[0-9a-f]{2}/([0-9a-f]{64})/data")
_DIGEST = re.compile(rb"sha256:[0-9a-f]{64}")
_CHUNK = 1 << 20
# The registry rewrites a link in place (truncate, then write): a read that catches it empty
# looks again this many times, a millisecond apart.
_LINK_READS = 200


def driver(config: Path) -> str | None:
    """The storage driver our registry's config at `config` names (None without a config)."""
    try:
        storage = (yaml.safe_load(config.read_text()) or {}).get("storage") or {}
    except FileNotFoundError:
        return None
    except (OSError, yaml.YAMLError) as error:
        raise BackupError(f"The registry config {config} cannot be read: {error}.") from None
    drivers = [key for key in storage if key not in _NOT_DRIVERS]
    return drivers[0] if drivers else None


def root(config: Path) -> Path:
    """Where the filesystem driver keeps the storage (the directory itself, links resolved)."""
    storage = yaml.safe_load(config.read_text())["storage"][FILESYSTEM]
    return Path(storage.get("rootdirectory", "/var/lib/registry")).resolve()


@dataclass
class Copied:
    files: int = 0
    bytes: int = 0
    # Files a backup made there before holds already: blobs (not read again) and unchanged
    # links (not written again).
    kept_files: int = 0
    kept_bytes: int = 0
    removed: int = 0  # files of that earlier backup the storage no longer holds
    symlinks: int = 0  # never followed
    # Blobs whose content does not match their digest in the registry's storage itself.
    damaged: list[str] = field(default_factory=list)


def copy(
    source: Path, backup: Path, sums_name: str, progress: Callable[[Copied], None] | None = None
) -> Copied:
    """Copy the storage at `source` into `backup`/storage, listing each file's SHA-256 in
    `backup`/`sums_name`; `progress` hears after every file."""
    copied = Copied()
    target = backup / "storage"
    private_directory(target)
    kept: set[str] = set()
    sums_path = backup / sums_name
    temporary = sums_path.with_name(f".{sums_name}.partial")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as sums:
        if source.is_dir():
            for relative in _walk(source, copied):
                digest = _copy_file(source / relative, target / relative, relative, copied)
                sums.write(f"{digest}  storage/{relative}\n")
                kept.add(relative)
                if progress:
                    progress(copied)
    os.replace(temporary, sums_path)
    copied.removed = _remove_others(target, kept)
    return copied


def _walk(root: Path, copied: Copied, relative: str = "") -> Iterator[str]:
    """The regular files under `root`, in the order the module's docstring explains."""
    with os.scandir(root / relative) as scan:
        entries = sorted(scan, key=lambda entry: entry.name, reverse=True)
    for entry in entries:
        path = f"{relative}/{entry.name}" if relative else entry.name
        if entry.is_symlink():
            copied.symlinks += 1
        elif entry.is_dir(follow_symlinks=False):
            if entry.name != "_uploads":
                yield from _walk(root, copied, path)
        elif entry.is_file(follow_symlinks=False):
            yield path


def _copy_file(source: Path, target: Path, relative: str, copied: Copied) -> str:
    """Copy one file (unless the backup has it); its SHA-256."""
    blob = _BLOB.fullmatch(relative)
    if blob:
        size = source.stat().st_size
        if target.is_file() and target.stat().st_size == size:
            copied.kept_files += 1
            copied.kept_bytes += size
            return blob.group(1)
    if source.name == "link":
        content = _read_link(source)
        digest = hashlib.sha256(content).hexdigest()
        if _holds(target, content):
            copied.kept_files += 1
            copied.kept_bytes += len(content)
            return digest
        _write(target, [content])
        size = len(content)
    else:
        hasher = hashlib.sha256()
        with source.open("rb") as file:
            size = _write(target, _chunks(file, hasher))
        digest = hasher.hexdigest()
        if blob and digest != blob.group(1):
            copied.damaged.append(relative)
    copied.files += 1
    copied.bytes += size
    return digest


def _read_link(path: Path) -> bytes:
    for _ in range(_LINK_READS):
        content = path.read_bytes()
        if _DIGEST.fullmatch(content.strip()):
            return content
        time.sleep(0.001)
    return content


def _holds(target: Path, content: bytes) -> bool:
    try:
        return target.read_bytes() == content
    except FileNotFoundError:
        return False


def _chunks(file, hasher) -> Iterator[bytes]:
    while chunk := file.read(_CHUNK):
        hasher.update(chunk)
        yield chunk


def _write(target: Path, chunks) -> int:
    """Write `target` (0600) whole or not at all; the bytes written."""
    private_directory(target.parent)
    temporary = target.with_name(f".{target.name}.partial")
    written = 0
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        for chunk in chunks:
            file.write(chunk)
            written += len(chunk)
    os.replace(temporary, target)
    return written


def _remove_others(target: Path, kept: set[str]) -> int:
    """Remove the files (and emptied directories) under `target` that are not in `kept`."""
    removed = 0
    for directory, subdirectories, files in os.walk(target, topdown=False):
        for name in files:
            path = os.path.join(directory, name)
            if os.path.relpath(path, target) not in kept:
                os.unlink(path)
                removed += 1
        for name in subdirectories:
            path = os.path.join(directory, name)
            if not os.path.islink(path) and not os.listdir(path):
                os.rmdir(path)
    return removed


def put_back(sums: list[tuple[str, str]], backup: Path, target: Path) -> int:
    """Copy the storage files the backup lists into `target`, a directory made for it (put
    in place only once every file is in: a staging directory beside it, then renamed);
    the bytes copied."""
    staging = target.with_name(f".{target.name}.restoring")
    if staging.exists():
        shutil.rmtree(staging)
    private_directory(staging)
    copied = 0
    for _, name in sums:
        destination = staging / Path(name).relative_to("storage")
        private_directory(destination.parent)
        shutil.copyfile(backup / name, destination)
        destination.chmod(0o600)
        copied += destination.stat().st_size
    if target.exists():
        replaced = target.with_name(f".{target.name}.replaced")
        os.replace(target, replaced)
        shutil.rmtree(replaced)
    os.replace(staging, target)
    return copied
