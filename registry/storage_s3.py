"""Our registry's storage in an S3 bucket (Distribution's `s3` driver), read with boto3.

The keys are the filesystem driver's paths under the bucket's root directory:
`<rootdirectory>/docker/registry/v2/repositories/<repository>/_manifests/tags/<tag>/current/link`.
Requests cost money and time here, so each operation says what it asks:

- a repository's tags: one LIST of its `_manifests/tags/` (1,000 keys a page: each tag's
  current link and one index link per digest it ever had), and a GET only of the links whose
  ETag is not the MD5 of the digest recorded for that tag. A link is a plain PUT of the digest
  text, so its ETag is that MD5 (checked against SeaweedFS, and what AWS S3 does without
  SSE-KMS); where a store makes other ETags, every link is read: slower, never wrong;
- what is stored: a LIST of everything under the root (garbage collection, twice);
- garbage collection: a LIST of the blobs, a LIST of the repositories' keys (the manifests'
  revision links among them) and a GET of each manifest not seen before; setting a blob aside
  is a COPY and a DELETE (putting it back the same the other way), and whether a repository
  links a blob is a HEAD of each of its two possible links;
- uploads in progress: one LIST of the bucket's unfinished multipart uploads (every upload's
  data is one, from its POST to its last PUT), and for those started before `since` a LIST of
  their parts and of their upload directory.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from registry.names import is_repository_path
from registry.storage import (
    BLOBS,
    MANIFEST_LIMIT,
    REPOSITORIES,
    SET_ASIDE,
    RegistryStorage,
    StorageError,
    StoredBlob,
    digest_in_link,
)

log = logging.getLogger(__name__)

# DeleteObjects takes at most 1,000 keys.
DELETE_BATCH = 1000
# Repositories whose tags are listed at once in a sync: a LIST is a round trip (about 6 ms to
# SeaweedFS on this machine, tens of ms to AWS S3), and a catalog page is 1,000 of them.
LIST_CONCURRENCY = 16
_TRUE = {True, "true", "True", "1"}
_REVISION = re.compile(r"(.+)/_manifests/revisions/sha256/([0-9a-f]{64})/link")
_SHA256 = re.compile(r"sha256:([0-9a-f]{64})")
_MISSING = ("NoSuchKey", "404", "NotFound")


def make_client(parameters: dict):
    """A boto3 client for the bucket the registry's `s3` parameters name."""
    endpoint = parameters.get("regionendpoint") or None
    path_style = parameters.get("forcepathstyle") in _TRUE
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=parameters.get("region") or "us-east-1",
        aws_access_key_id=parameters.get("accesskey") or None,
        aws_secret_access_key=parameters.get("secretkey") or None,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if path_style else "auto"},
            connect_timeout=5,
            max_pool_connections=LIST_CONCURRENCY,
            read_timeout=30,
            retries={"mode": "standard", "max_attempts": 3},
        ),
    )


def link_etag(digest: str) -> str:
    """The ETag of a link object holding `digest` as S3 gives a plain PUT: its content's MD5."""
    return hashlib.md5(digest.encode("ascii"), usedforsecurity=False).hexdigest()


class S3Storage(RegistryStorage):
    def __init__(self, parameters: dict):
        self.bucket = parameters["bucket"]
        root = str(parameters.get("rootdirectory") or "").strip("/")
        self.root = f"{root}/docker/" if root else "docker/"
        self.repositories = f"{root}/{REPOSITORIES}/" if root else f"{REPOSITORIES}/"
        base = f"{root}/" if root else ""
        self.blob_prefix = f"{base}{BLOBS}/"
        self.set_aside_prefix = f"{base}{SET_ASIDE}/"
        self.client = make_client(parameters)
        # Set by the first read that failed: the bucket is not to be reached from here (no
        # route, refused keys), and asking again for each of a sync's repositories would
        # cost each its timeouts. The registry's API answers instead.
        self.failed: StorageError | None = None

    def _objects(self, prefix: str, limit: int | None = None) -> Iterator[dict]:
        """The objects under `prefix`, in key order (at most `limit` of them)."""
        pagination = {"MaxItems": limit, "PageSize": limit} if limit else {}
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, PaginationConfig=pagination
        )
        try:
            for page in pages:
                yield from page.get("Contents", ())
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"the registry's bucket {self.bucket}: {error}") from error

    def _any(self, prefix: str) -> bool:
        return next(self._objects(prefix, limit=1), None) is not None

    def readable(self) -> bool:
        # Whether the bucket answers is found out by the first real request, which then falls
        # back to the registry's API: asking now would cost every sync a request.
        return True

    def has_repositories(self) -> bool:
        return self._any(self.repositories)

    def tag_digests(
        self, repository: str, known: Mapping[str, str] | None = None
    ) -> dict[str, str] | None:
        if self.failed:
            return None
        known = known or {}
        tags = f"{self.repositories}{repository}/_manifests/tags/"
        try:
            etags = {}
            for item in self._objects(tags):
                name, _, rest = item["Key"][len(tags) :].partition("/")
                if rest == "current/link":
                    etags[name] = item["ETag"].strip('"')
            if not etags:
                # No tags: a repository of its own if it has layers (what the catalog counts).
                return {} if self._any(f"{self.repositories}{repository}/_layers/") else None
            return {
                name: known[name]
                if name in known and etag == link_etag(known[name])
                else self._link(f"{tags}{name}/current/link")
                for name, etag in etags.items()
            }
        except StorageError as error:
            log.warning("reading %s's tags from the registry's bucket: %s", repository, error)
            self.failed = error
            return None

    def tag_digests_of(
        self, repositories: Mapping[str, Mapping[str, str]]
    ) -> dict[str, dict[str, str] | None]:
        if len(repositories) < 2:
            return super().tag_digests_of(repositories)
        # boto3's clients are safe to share between threads (its sessions are not).
        with ThreadPoolExecutor(max_workers=LIST_CONCURRENCY) as pool:
            found = pool.map(lambda item: self.tag_digests(*item), repositories.items())
            return dict(zip(repositories, found, strict=True))

    def _link(self, key: str) -> str:
        try:
            content = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            # Deleted since the listing (the tag was deleted or is being rewritten).
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return ""
            raise StorageError(f"the registry's bucket {self.bucket}: {error}") from error
        except BotoCoreError as error:
            raise StorageError(f"the registry's bucket {self.bucket}: {error}") from error
        return digest_in_link(content.decode("ascii", errors="replace"))

    def stored_bytes(self) -> int:
        return sum(item["Size"] for item in self._objects(self.root))

    def repositories_uploading(self, since: float) -> set[str]:
        quiet_since = datetime.fromtimestamp(since, UTC)
        found = set()
        try:
            for upload in self._multipart_uploads():
                key, upload_id = upload["Key"], upload["UploadId"]
                repository, uploads, _ = key.removeprefix(self.repositories).partition("/_uploads/")
                if not uploads or not key.startswith(self.repositories) or repository in found:
                    continue
                # A blob upload's data, or a finished one being copied to its blob's place.
                if upload["Initiated"] >= quiet_since or self._upload_written(
                    key, upload_id, quiet_since
                ):
                    found.add(repository)
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"the registry's bucket {self.bucket}: {error}") from error
        return found

    def _multipart_uploads(self) -> Iterator[dict]:
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.root
        )
        for page in pages:
            yield from page.get("Uploads", ())

    def _upload_written(self, key: str, upload_id: str, quiet_since: datetime) -> bool:
        """Whether an upload started earlier was written to since: a part of its data (the
        driver sends one every 10 MB, its chunk size) or its hash state (after each PATCH)."""
        pages = self.client.get_paginator("list_parts").paginate(
            Bucket=self.bucket, Key=key, UploadId=upload_id
        )
        for page in pages:
            if any(part["LastModified"] >= quiet_since for part in page.get("Parts", ())):
                return True
        directory = key.rsplit("/", 1)[0] + "/"
        return any(item["LastModified"] >= quiet_since for item in self._objects(directory))

    def repositories_in(self, namespace: str) -> list[str]:
        prefix = f"{self.repositories}{namespace}/"
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, Delimiter="/"
        )
        try:
            return [
                f"{namespace}/{common['Prefix'][len(prefix) :].rstrip('/')}"
                for page in pages
                for common in page.get("CommonPrefixes", ())
            ]
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"the registry's bucket {self.bucket}: {error}") from error

    def holds_revisions(self, repository: str) -> bool:
        return self._any(f"{self.repositories}{repository}/_manifests/revisions/")

    def remove_repository(self, repository: str) -> None:
        keys = (item["Key"] for item in self._objects(f"{self.repositories}{repository}/"))
        batch: list[str] = []
        for key in keys:
            batch.append(key)
            if len(batch) == DELETE_BATCH:
                self._delete(batch)
                batch = []
        if batch:
            self._delete(batch)

    def _delete(self, keys: list[str]) -> None:
        try:
            answer = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
            )
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"the registry's bucket {self.bucket}: {error}") from error
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise StorageError(
                f"the registry's bucket {self.bucket} kept {len(answer['Errors'])} objects: "
                f"{first.get('Code')} {first.get('Message')}"
            )

    # -- garbage collection ---------------------------------------------------------------

    def _blob_key(self, digest: str) -> str | None:
        found = _SHA256.fullmatch(digest)
        if found is None:
            return None
        hex_digest = found.group(1)
        return f"{self.blob_prefix}{hex_digest[:2]}/{hex_digest}/data"

    def _set_aside_key(self, digest: str) -> str:
        return f"{self.set_aside_prefix}{digest.removeprefix('sha256:')}/data"

    def blobs(self) -> Iterator[StoredBlob]:
        for item in self._objects(self.blob_prefix):
            directory, _, name = item["Key"].rpartition("/")
            if name == "data":
                digest = f"sha256:{directory.rpartition('/')[2]}"
                yield StoredBlob(digest, item["Size"], item["LastModified"].timestamp())

    def revisions(self) -> Iterator[tuple[str, str]]:
        for item in self._objects(self.repositories):
            found = _REVISION.fullmatch(item["Key"][len(self.repositories) :])
            if found is not None:
                yield found.group(1), f"sha256:{found.group(2)}"

    def _head(self, key: str) -> int | None:
        """The size of the object at `key`, or None if there is none."""
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise StorageError(f"the registry's bucket {self.bucket}: {error}") from error
        except BotoCoreError as error:
            raise StorageError(f"the registry's bucket {self.bucket}: {error}") from error

    def blob_content(self, digest: str) -> bytes | None:
        key = self._blob_key(digest)
        if key is None:
            return None
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
            if answer["ContentLength"] > MANIFEST_LIMIT:
                return None
            return answer["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise StorageError(f"the registry's bucket {self.bucket}: {error}") from error
        except BotoCoreError as error:
            raise StorageError(f"the registry's bucket {self.bucket}: {error}") from error

    def links(self, repository: str, digest: str) -> bool:
        found = _SHA256.fullmatch(digest)
        if found is None or not is_repository_path(repository):
            return False
        directory = f"{self.repositories}{repository}"
        return any(
            self._head(f"{directory}/{kind}/sha256/{found.group(1)}/link") is not None
            for kind in ("_layers", "_manifests/revisions")
        )

    def _copy(self, source: str, target: str) -> None:
        try:
            # A managed copy: S3 copies an object of more than 5 GB only in parts.
            self.client.copy({"Bucket": self.bucket, "Key": source}, self.bucket, target)
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"the registry's bucket {self.bucket}: {error}") from error

    def set_aside(self, digest: str, unless: Callable[[str], bool]) -> int | None:
        key, kept = self._blob_key(digest), self._set_aside_key(digest)
        size = None if key is None else self._head(key)
        if size is None:
            return None
        # The copy first, which takes a while for a large blob and leaves it in sight; asked
        # after it, `unless` is what decides just before the delete.
        self._copy(key, kept)
        if unless(digest):
            self._delete([kept])
            return None
        self._delete([key])
        return size

    def put_back(self, digest: str) -> None:
        key, kept = self._blob_key(digest), self._set_aside_key(digest)
        if key is None or self._head(kept) is None:
            return
        if self._head(key) is None:
            self._copy(kept, key)
        # Else an upload wrote it again meanwhile: the same bytes.
        self._delete([kept])

    def drop_set_aside(self, digest: str) -> None:
        self._delete([self._set_aside_key(digest)])

    def set_aside_digests(self) -> list[str]:
        return [
            f"sha256:{item['Key'][len(self.set_aside_prefix) :].partition('/')[0]}"
            for item in self._objects(self.set_aside_prefix)
        ]
