"""Copying our registry's filesystem storage into an S3 bucket (`manage.py move_storage`), where
Distribution's `s3` driver finds it: the same paths as keys, under the bucket's root directory.

CNCF Distribution's layout, under `docker/registry/v2/`:

    blobs/sha256/<2 hex>/<hex>/data                          content, named by its digest
    repositories/<name>/_layers/sha256/<hex>/link            "this repository has the blob"
    repositories/<name>/_manifests/revisions/sha256/<hex>/link   "... has the manifest"
    repositories/<name>/_manifests/tags/<tag>/index/sha256/<hex>/link   digests it had
    repositories/<name>/_manifests/tags/<tag>/current/link   the tag's manifest digest
    repositories/<name>/_uploads/...                         uploads being written

The copy goes in four steps, each finished before the next begins: the blobs, then the
repositories' layer and manifest links, then the tags' index links, then the tags' current
links: the order a push writes them. A registry (or a sync) reading the bucket while the copy
runs never finds a tag whose manifest or layers are not there yet. Uploads in progress are
left out (clients start them again); symbolic links are never followed.

It can stop and run again: an object already in the bucket with the file's size (and, for a
file below the multipart size, whose ETag is the file's MD5, as S3 makes it for a plain PUT)
is kept, so a second run copies only what is new or changed (a tag pushed again changes its
link's content, not its size). Nothing in the bucket is ever deleted. At the end the bucket is
listed again and every file checked there. The registry's config is not rewritten here:
`setup_instance` writes it from REGISTRY_STORAGE_URL on each machine.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from registry.config import storage_driver
from registry.storage_s3 import make_client
from tutumweb.moves import MoveError

V2 = "docker/registry/v2"
BLOBS, REPOSITORIES = f"{V2}/blobs", f"{V2}/repositories"
# Files this big or bigger go up in parts (boto3's default threshold), and a multipart
# object's ETag is not its content's MD5: those are compared by size alone (blobs, named by
# their digest, never change).
MULTIPART = 8 * 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=MULTIPART, multipart_chunksize=MULTIPART)
# Files sent at once: a small file is a round trip, and most of a registry's are small.
CONCURRENCY = 8
_BATCH = 256
_CONTENT_TYPE = "application/octet-stream"  # what the s3 driver writes


@dataclass
class Step:
    name: str
    files: int = 0
    bytes: int = 0
    kept_files: int = 0  # already in the bucket, not sent again
    kept_bytes: int = 0
    seconds: float = 0.0


@dataclass
class StorageMoved:
    """What a move of the storage did, for the command to tell."""

    source: str
    target: str
    steps: list[Step] = field(default_factory=list)
    uploads_left_out: int = 0  # files of uploads in progress
    symlinks: int = 0  # never followed
    checked: int = 0  # files found in the bucket with their size
    checked_md5: int = 0  # of which with their MD5 too
    others: int = 0  # objects under the root the storage does not hold (left alone)
    other_tags: int = 0  # of which tags' current links
    seconds: float = 0.0

    @property
    def files(self) -> int:
        return sum(step.files for step in self.steps)

    @property
    def bytes(self) -> int:
        return sum(step.bytes for step in self.steps)

    @property
    def kept_files(self) -> int:
        return sum(step.kept_files for step in self.steps)


def move_storage(
    target: dict, *, progress: Callable[[Step], None] = lambda step: None
) -> StorageMoved:
    """Copy the filesystem storage REGISTRY_CONFIG names into the bucket of `target`, a
    `storage` driver block (lib.storage_url); `progress` hears after every batch of files."""
    started = time.monotonic()
    source = _source_root()
    if "s3" not in target:
        raise MoveError(
            "The target must be S3-compatible storage (s3://ACCESS_KEY:SECRET_KEY@host/bucket"
            "): for another directory, copy the storage with `cp -a` or rsync."
        )
    copier = _Copier(source, target["s3"])
    moved = StorageMoved(f"the filesystem at {source}", copier.described)
    copier.check_bucket()
    existing = copier.listing()
    sent: dict[str, tuple[int, str | None]] = {}
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        for name, files in _steps(source, moved):
            step = Step(name)
            began = time.monotonic()
            for batch in _batches(files):
                for relative, size, md5, copied in pool.map(
                    lambda relative: copier.copy(relative, existing), batch
                ):
                    sent[copier.key(relative)] = (size, md5)
                    if copied:
                        step.files, step.bytes = step.files + 1, step.bytes + size
                    else:
                        step.kept_files, step.kept_bytes = (
                            step.kept_files + 1,
                            step.kept_bytes + size,
                        )
                step.seconds = time.monotonic() - began
                progress(step)
            moved.steps.append(step)
    _check(copier, sent, moved)
    moved.seconds = time.monotonic() - started
    return moved


def _source_root() -> Path:
    config = settings.REGISTRY_CONFIG
    try:
        driver, parameters = storage_driver(config)
    except FileNotFoundError:
        raise MoveError(
            f"There is no registry config at {config} (REGISTRY_CONFIG): run the command with "
            "the installation's settings, where the config names the storage to copy."
        ) from None
    except KeyError as error:
        raise MoveError(f"The registry config {config} names {error.args[0]}.") from None
    if driver != "filesystem":
        raise MoveError(
            f"The registry config {config} names the {driver} driver already: move_storage "
            "copies the filesystem storage the config names, so run it before setup_instance "
            "writes the new config (or point REGISTRY_CONFIG at a copy of the old one)."
        )
    root = Path(parameters.get("rootdirectory") or "/var/lib/registry")
    if not (root / V2).is_dir():
        raise MoveError(f"There is no registry storage at {root}: nothing was pushed to move.")
    return root


def _steps(root: Path, moved: StorageMoved) -> Iterator[tuple[str, Iterator[str]]]:
    """The four steps of the copy (see the module's docstring), each with its files."""

    def tags_part(path: str) -> str | None:
        """`current` or `index` for a file of a tag (`_manifests/tags/<tag>/<part>/...`; a tag
        name holds no slash), None for any other file (the second step copied those)."""
        _, found, rest = path.partition("/_manifests/tags/")
        parts = rest.split("/")
        return parts[1] if found and len(parts) > 2 else None

    def links(directory: str) -> bool:
        if directory.rsplit("/", 1)[-1] == "_uploads":
            moved.uploads_left_out += sum(len(files) for _, _, files in os.walk(root / directory))
            return False
        return not directory.endswith("/_manifests/tags")

    def tags(directory: str) -> bool:
        name = directory.rsplit("/", 1)[-1]
        return name not in ("_uploads", "_layers") and not directory.endswith(
            "/_manifests/revisions"
        )

    def symlink(path: str) -> None:
        moved.symlinks += 1

    def symlink_in_tags(path: str) -> None:
        # The other walks of the repositories count the rest.
        if "/_manifests/tags/" in path:
            moved.symlinks += 1

    yield "blobs", _walk(root, BLOBS, lambda directory: True, symlink)
    yield "repositories' layer and manifest links", _walk(root, REPOSITORIES, links, symlink)
    every_tag = _walk(root, REPOSITORIES, tags, symlink_in_tags)
    yield "tags' index links", (p for p in every_tag if tags_part(p) not in (None, "current"))
    every_tag = _walk(root, REPOSITORIES, tags, lambda path: None)
    yield "tags' current links", (p for p in every_tag if tags_part(p) == "current")


def _walk(
    root: Path, relative: str, descend: Callable[[str], bool], symlink: Callable[[str], None]
) -> Iterator[str]:
    """The regular files under `relative` in name order, in the directories `descend` allows;
    symbolic links are told to `symlink` and never followed."""
    try:
        with os.scandir(root / relative) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except FileNotFoundError:
        return
    for entry in entries:
        path = f"{relative}/{entry.name}"
        if entry.is_symlink():
            symlink(path)
        elif entry.is_dir(follow_symlinks=False):
            if descend(path):
                yield from _walk(root, path, descend, symlink)
        elif entry.is_file(follow_symlinks=False):
            yield path


def _batches(files: Iterator[str]) -> Iterator[list[str]]:
    while batch := list(islice(files, _BATCH)):
        yield batch


class _Copier:
    """The bucket's side: its keys, what it holds, sending a file."""

    def __init__(self, source: Path, parameters: dict):
        self.source = source
        self.bucket = parameters["bucket"]
        self.root = str(parameters.get("rootdirectory") or "").strip("/")
        self.client = make_client(parameters)
        where = parameters.get("regionendpoint") or f"AWS S3 ({parameters.get('region')})"
        under = f" under /{self.root}" if self.root else ""
        self.described = f"the bucket {self.bucket} at {where}{under}"

    def key(self, relative: str) -> str:
        # The s3 driver's key of a path: the root directory, then the path.
        return f"{self.root}/{relative}" if self.root else relative

    def check_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code in ("404", "NoSuchBucket"):
                raise MoveError(
                    f"There is no {self.described.removeprefix('the ')}: make the bucket first."
                ) from None
            raise MoveError(f"{self._capital()} refused the keys: {error}.") from None
        except BotoCoreError as error:
            raise MoveError(f"{self._capital()} cannot be reached: {error}.") from None

    def _capital(self) -> str:
        return self.described[0].upper() + self.described[1:]

    def listing(self) -> dict[str, tuple[int, str]]:
        """Each object under the root's `docker/`: its size and ETag."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.key("docker/")
        )
        try:
            return {
                item["Key"]: (item["Size"], item["ETag"].strip('"'))
                for page in pages
                for item in page.get("Contents", ())
            }
        except (BotoCoreError, ClientError) as error:
            raise MoveError(f"Listing {self.described} failed: {error}.") from None

    def copy(
        self, relative: str, existing: dict[str, tuple[int, str]]
    ) -> tuple[str, int, str | None, bool]:
        """Send one file unless the bucket holds it: (it, its size, its MD5 when it is below
        the multipart size, whether it was sent)."""
        path, key = self.source / relative, self.key(relative)
        try:
            size = path.stat().st_size
            content = path.read_bytes() if size < MULTIPART else None
            md5 = hashlib.md5(content, usedforsecurity=False) if content is not None else None
            there = existing.get(key)
            if there and there[0] == size and (md5 is None or there[1] == md5.hexdigest()):
                return relative, size, md5 and md5.hexdigest(), False
            if md5 is not None:
                # Content-MD5: the store checks what it received.
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=content,
                    ContentMD5=base64.b64encode(md5.digest()).decode(),
                    ContentType=_CONTENT_TYPE,
                )
            else:
                self.client.upload_file(
                    str(path),
                    self.bucket,
                    key,
                    ExtraArgs={"ContentType": _CONTENT_TYPE},
                    Config=TRANSFER,
                )
        except OSError as error:
            raise MoveError(f"Reading {path} failed: {error}.") from None
        except (BotoCoreError, ClientError) as error:
            raise MoveError(
                f"Sending {relative} to {self.described} failed: {error}. What was sent stays; "
                "run the move again to go on from there."
            ) from None
        return relative, size, md5 and md5.hexdigest(), True


def _check(copier: _Copier, sent: dict[str, tuple[int, str | None]], moved: StorageMoved) -> None:
    """List the bucket again: every file there with its size (and MD5 where S3 tells it)."""
    listed = copier.listing()
    wrong = []
    for key, (size, md5) in sent.items():
        there = listed.get(key)
        if there is None or there[0] != size or (md5 is not None and there[1] != md5):
            wrong.append(key)
    if wrong:
        raise MoveError(
            f"{len(wrong):,} files are not in {copier.described} as they were sent (the first: "
            f"{wrong[0]}): run the move again."
        )
    moved.checked = len(sent)
    moved.checked_md5 = sum(1 for _, md5 in sent.values() if md5 is not None)
    others = set(listed) - set(sent)
    moved.others = len(others)
    moved.other_tags = sum(
        1 for key in others if "/_manifests/tags/" in key and key.endswith("/current/link")
    )
