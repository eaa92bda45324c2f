"""Our registry's storage read in place: what the registry's HTTP API cannot tell cheaply or at
all, read where CNCF Distribution keeps it, on its filesystem or in its S3 bucket.

- The sync (registry.sync) needs each tag's current digest. The HTTP API lists tag names
  without digests, so knowing a tag is unchanged costs a request per tag there; the storage
  keeps it in `<root>/docker/registry/v2/repositories/<repository>/_manifests/tags/<tag>/
  current/link`.
- Garbage collection (lifecycle.collect) is ours, not `docker-registry garbage-collect` (which
  is unsafe while pushes go on): it lists the blobs and every repository's manifests, sets
  aside (moves out of the registry's sight, to put back if need be) the blobs none references,
  and measures what is stored. It also removes the recycle bin's spent repositories (the API
  cannot delete a repository).

- Recording a push (registry.events) reads its manifest and image config back. From files on
  this machine that is two reads instead of two requests to a registry busy with the pushes
  themselves: with 10 pushing at once those requests took 150 of the 280 ms a notification took
  to record, one after the other (bench/push.py). The registry serves a blob in a repository
  when the repository links it (`_manifests/revisions/<algorithm>/<hex>/link` for a manifest,
  `_layers/...` for a config or layer) and its bytes are `<root>/docker/registry/v2/blobs/
  <algorithm>/<first two hex>/<hex>/data`; a read here checks both, and the bytes against the
  digest. From a bucket a read costs what the request to the registry does: not done there.

Which storage is read comes from the registry's own config (REGISTRY_CONFIG), so it is the one
the registry serves: `open_storage()`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from lib.outbound import MAX_BODY
from registry.config import storage_driver
from registry.names import is_repository_path

log = logging.getLogger(__name__)

REPOSITORIES = Path("docker/registry/v2/repositories")
BLOBS = Path("docker/registry/v2/blobs/sha256")
# Where garbage collection keeps the blobs it took out of the registry's sight until it knows
# no push needs them (lifecycle.collect): beside `docker/`, which is all the registry reads.
SET_ASIDE = Path("tutumweb/set-aside")
# The largest manifest Distribution 2.8 accepts (4 MiB): a bigger blob is no manifest.
MANIFEST_LIMIT = 4 * 1024 * 1024
# The OCI digest grammar (`sha256:<hex>`): anything else is a link being written.
_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
# What the registry stores blobs under (2.8 writes sha256 only); any other digest is asked for.
_SHA256 = re.compile(r"sha256:([0-9a-f]{64})")


class StorageError(OSError):
    """The storage could not be read or changed (the bucket did not answer, or refused)."""


@dataclass(frozen=True)
class StoredBlob:
    digest: str
    size: int
    modified: float  # POSIX time its bytes were written


class RegistryStorage(ABC):
    """What our parts read and change in the registry's storage, whatever the driver."""

    @abstractmethod
    def readable(self) -> bool:
        """Whether this machine can read the repositories (or nothing was pushed yet)."""

    @abstractmethod
    def has_repositories(self) -> bool:
        """Whether anything was ever pushed (garbage-collect fails on an empty storage)."""

    @abstractmethod
    def tag_digests(
        self, repository: str, known: Mapping[str, str] | None = None
    ) -> dict[str, str] | None:
        """Each tag of `repository` and its current manifest digest ("" while its link is
        being written); None if the storage cannot tell (no such repository here: ask the
        registry). `known` holds the digests recorded for its tags, which some storages can
        confirm without reading each link."""

    def tag_digests_of(
        self, repositories: Mapping[str, Mapping[str, str]]
    ) -> dict[str, dict[str, str] | None]:
        """`tag_digests` of each repository, given with its known digests."""
        return {name: self.tag_digests(name, known) for name, known in repositories.items()}

    @abstractmethod
    def stored_bytes(self) -> int:
        """The sum of the sizes of what is stored (not disk blocks)."""

    @abstractmethod
    def repositories_uploading(self, since: float) -> set[str]:
        """The repositories with an upload written to at or after `since` (a POSIX time)."""

    @abstractmethod
    def blobs(self) -> Iterator[StoredBlob]:
        """Every blob the registry stores (layers, configs and manifests alike)."""

    @abstractmethod
    def revisions(self) -> Iterator[tuple[str, str]]:
        """Every manifest every repository holds, as (repository, digest): the revision links,
        tagged or not, the recycle bin's repositories too."""

    @abstractmethod
    def blob_content(self, digest: str) -> bytes | None:
        """The bytes of a blob up to a manifest's size (None: no such blob, or larger)."""

    @abstractmethod
    def links(self, repository: str, digest: str) -> bool:
        """Whether `repository` links `digest`, as a layer or config, or as a manifest: what the
        registry checks before it says a blob exists there, mounts it, or takes a manifest."""

    @abstractmethod
    def set_aside(self, digest: str, unless: Callable[[str], bool]) -> int | None:
        """Move a blob out of the registry's sight (to SET_ASIDE) unless `unless(digest)`,
        asked at the last moment before the registry stops seeing it; its size, or None if it
        was not there or stays."""

    @abstractmethod
    def put_back(self, digest: str) -> None:
        """Put a blob set aside back where the registry reads it (if an upload has written it
        there again meanwhile, that copy stays: it holds the same bytes)."""

    @abstractmethod
    def drop_set_aside(self, digest: str) -> None:
        """Delete a blob set aside, for good."""

    @abstractmethod
    def set_aside_digests(self) -> list[str]:
        """The blobs set aside now (left by a collection that stopped before its end)."""

    @abstractmethod
    def repositories_in(self, namespace: str) -> list[str]:
        """The names of the repositories directly under `namespace` ("ns/name")."""

    @abstractmethod
    def holds_revisions(self, repository: str) -> bool:
        """Whether `repository` holds any manifest (a revision link)."""

    @abstractmethod
    def remove_repository(self, repository: str) -> None:
        """Remove every file of `repository` (its blobs stay until garbage collection)."""


def open_storage(config: Path | None = None) -> RegistryStorage:
    """The storage the registry config at `config` (REGISTRY_CONFIG) names; OSError if the
    config cannot be read, KeyError or ValueError if it names no storage we read."""
    try:
        driver, parameters = storage_driver(config)
    except (yaml.YAMLError, TypeError) as error:
        raise ValueError(f"the registry config cannot be read: {error}") from error
    if driver == "s3":
        # boto3 loads in about 0.3 s: only where the registry is on S3.
        from registry.storage_s3 import S3Storage

        return S3Storage(parameters)
    return FilesystemStorage(Path(parameters["rootdirectory"]))


def readable_storage(config: Path | None = None) -> RegistryStorage | None:
    """The registry's storage if this machine can read it; else None (the registry runs
    elsewhere, or its config is not here): then the registry's API is asked."""
    try:
        storage = open_storage(config)
    except (OSError, KeyError, ValueError):
        return None
    return storage if storage.readable() else None


def local_storage(config: Path | None = None) -> FilesystemStorage | None:
    """The registry's storage if it is files this machine can read, else None (a bucket, or a
    registry elsewhere): where reading a pushed blob back beats asking the registry for it."""
    try:
        driver, parameters = storage_driver(config)
    except (OSError, KeyError, ValueError, yaml.YAMLError, TypeError):
        return None
    if driver != "filesystem":
        return None
    storage = FilesystemStorage(Path(parameters["rootdirectory"]))
    return storage if storage.readable() else None


def digest_in_link(content: str) -> str:
    """The digest a link file holds, or "" if it holds none (caught while being written)."""
    digest = content.strip()
    return digest if _DIGEST.fullmatch(digest) else ""


class FilesystemStorage(RegistryStorage):
    """Distribution's `filesystem` driver: the files under `root` on this machine."""

    def __init__(self, root: Path):
        self.root = root
        self.repositories = root / REPOSITORIES

    def readable(self) -> bool:
        return self.repositories.is_dir() and os.access(self.repositories, os.R_OK | os.X_OK)

    def has_repositories(self) -> bool:
        return self.repositories.is_dir()

    def tag_digests(
        self, repository: str, known: Mapping[str, str] | None = None
    ) -> dict[str, str] | None:
        # os.path, not pathlib: this runs for every repository of a sync, and pathlib's objects
        # cost more than the reads. The links themselves are as cheap to read as to compare.
        directory = os.path.join(self.repositories, repository)
        tags = os.path.join(directory, "_manifests", "tags")
        try:
            names = os.listdir(tags)
        except FileNotFoundError:
            # `_layers` is what the registry's catalog counts as a repository: one without tags.
            return {} if os.path.isdir(os.path.join(directory, "_layers")) else None
        except OSError:
            return None
        return {name: _link(os.path.join(tags, name, "current", "link")) for name in names}

    def stored_bytes(self) -> int:
        total = 0
        for directory, _, files in os.walk(self.root / "docker"):
            for name in files:
                try:
                    total += os.lstat(os.path.join(directory, name)).st_size
                except FileNotFoundError:
                    continue
        return total

    def repositories_uploading(self, since: float) -> set[str]:
        found = set()
        for directory, subdirectories, files in os.walk(self.repositories):
            # Manifests and layer links are no uploads; skipping them keeps the walk short.
            subdirectories[:] = [d for d in subdirectories if d not in ("_manifests", "_layers")]
            repository, uploads, _ = directory.partition(f"{os.sep}_uploads")
            if not uploads or repository in found:
                continue
            for name in files:
                try:
                    if os.stat(os.path.join(directory, name)).st_mtime >= since:
                        found.add(os.path.relpath(repository, self.repositories))
                        break
                except FileNotFoundError:  # the upload finished while we looked
                    continue
        return found

    def _blob_directory(self, digest: str) -> str | None:
        found = _SHA256.fullmatch(digest)
        if found is None:
            return None
        hex_digest = found.group(1)
        return os.path.join(self.root, BLOBS, hex_digest[:2], hex_digest)

    def _set_aside_directory(self, digest: str) -> str:
        return os.path.join(self.root, SET_ASIDE, digest.removeprefix("sha256:"))

    def blobs(self) -> Iterator[StoredBlob]:
        for prefix in _entries(os.path.join(self.root, BLOBS)):
            for entry in _entries(prefix.path):
                try:
                    stat = os.stat(os.path.join(entry.path, "data"))
                except OSError:  # being written, or deleted meanwhile
                    continue
                yield StoredBlob(f"sha256:{entry.name}", stat.st_size, stat.st_mtime)

    def revisions(self) -> Iterator[tuple[str, str]]:
        for directory, subdirectories, _ in os.walk(self.repositories):
            if "_manifests" in subdirectories:
                repository = os.path.relpath(directory, self.repositories)
                revisions = os.path.join(directory, "_manifests", "revisions", "sha256")
                for entry in _entries(revisions):
                    # Deleting a manifest removes its link and leaves the directory.
                    if os.path.exists(os.path.join(entry.path, "link")):
                        yield repository, f"sha256:{entry.name}"
            # Names never start with `_`: what does is the repository's own data.
            subdirectories[:] = [d for d in subdirectories if not d.startswith("_")]

    def blob_content(self, digest: str) -> bytes | None:
        directory = self._blob_directory(digest)
        if directory is None:
            return None
        try:
            with open(os.path.join(directory, "data"), "rb") as blob:
                content = blob.read(MANIFEST_LIMIT + 1)
        except FileNotFoundError:
            return None
        return content if len(content) <= MANIFEST_LIMIT else None

    def links(self, repository: str, digest: str) -> bool:
        found = _SHA256.fullmatch(digest)
        if found is None or not is_repository_path(repository):
            return False
        directory = os.path.join(self.repositories, repository)
        return any(
            os.path.exists(os.path.join(directory, *kind, "sha256", found.group(1), "link"))
            for kind in (("_layers",), ("_manifests", "revisions"))
        )

    def set_aside(self, digest: str, unless: Callable[[str], bool]) -> int | None:
        directory = self._blob_directory(digest)
        if directory is None:
            return None
        target = self._set_aside_directory(digest)
        try:
            size = os.stat(os.path.join(directory, "data")).st_size
        except FileNotFoundError:
            return None
        shutil.rmtree(target, ignore_errors=True)
        if unless(digest):
            return None
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            # One rename: the registry sees the blob, or not at all.
            os.rename(directory, target)
        except FileNotFoundError:
            return None
        return size

    def put_back(self, digest: str) -> None:
        directory = self._blob_directory(digest)
        source = self._set_aside_directory(digest)
        if directory is None or not os.path.isdir(source):
            return
        os.makedirs(os.path.dirname(directory), exist_ok=True)
        try:
            # Onto nothing, or onto the empty directory an upload's commit has just made.
            os.rename(source, directory)
        except OSError:
            if not os.path.exists(os.path.join(directory, "data")):
                raise
            shutil.rmtree(source)

    def drop_set_aside(self, digest: str) -> None:
        shutil.rmtree(self._set_aside_directory(digest), ignore_errors=True)

    def set_aside_digests(self) -> list[str]:
        return [f"sha256:{entry.name}" for entry in _entries(os.path.join(self.root, SET_ASIDE))]

    def repositories_in(self, namespace: str) -> list[str]:
        try:
            return [
                f"{namespace}/{entry.name}" for entry in os.scandir(self.repositories / namespace)
            ]
        except FileNotFoundError:
            return []

    def holds_revisions(self, repository: str) -> bool:
        revisions = self.repositories / repository / "_manifests" / "revisions"
        return any(files for _, _, files in os.walk(revisions))

    def remove_repository(self, repository: str) -> None:
        shutil.rmtree(self.repositories / repository)

    def linked_blob(self, repository: str, digest: str, *, manifest: bool) -> bytes | None:
        """The bytes of `digest` in `repository`, a manifest (`manifest`) or a config or
        layer; None when the storage cannot tell (the repository does not link it, it is being
        written or deleted, a larger answer than a request would take, bytes that do not hash
        to it): ask the registry, whose answer decides."""
        found = _SHA256.fullmatch(digest)
        if found is None or not is_repository_path(repository):
            return None
        hex_digest = found.group(1)
        links = ("_manifests", "revisions") if manifest else ("_layers",)
        link = os.path.join(self.repositories, repository, *links, "sha256", hex_digest, "link")
        if _link(link) != digest:
            return None
        data = os.path.join(
            self.repositories.parent, "blobs", "sha256", hex_digest[:2], hex_digest, "data"
        )
        try:
            with open(data, "rb") as blob:
                if os.fstat(blob.fileno()).st_size > MAX_BODY:
                    return None
                content = blob.read()
        except OSError:
            return None
        return content if hashlib.sha256(content).hexdigest() == hex_digest else None


def _entries(path: str) -> list[os.DirEntry]:
    try:
        return list(os.scandir(path))
    except FileNotFoundError:
        return []


def _link(path: str) -> str:
    # The filesystem driver rewrites a link in place (truncate, then write): a reader can
    # catch it empty, or the tag directory gone if it was just deleted.
    try:
        with open(path, encoding="ascii", errors="replace") as link:
            return digest_in_link(link.read())
    except OSError:
        return ""
