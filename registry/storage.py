"""Our registry's storage read in place: a repository's tags and their digests, and the
manifests and image configs it holds, no request.

The registry's HTTP API lists tag names without digests, so knowing a tag is unchanged costs
a request per tag there. CNCF Distribution's filesystem driver keeps each tag's current
manifest digest in `<root>/docker/registry/v2/repositories/<repository>/_manifests/tags/
<tag>/current/link`. When that storage is on this machine (REGISTRY_CONFIG names it, which
garbage collection relies on too), reading those links answers the question for free.

Recording a push reads its manifest and image config back. From the storage that is two file
reads instead of two requests to a registry busy with the pushes themselves: with 10 pushing
at once those requests took 150 of the 280 ms a notification took to record, one after the
other (bench/push.py). The registry serves a blob in a repository when the repository links it
(`_manifests/revisions/<algorithm>/<hex>/link` for a manifest, `_layers/...` for a config
or layer) and its bytes are `<root>/docker/registry/v2/blobs/<algorithm>/<first two hex>/
<hex>/data`; a read here checks both, and the bytes against the digest.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import yaml

from lib.outbound import MAX_BODY
from registry.config import storage_directory
from registry.names import is_repository_path

REPOSITORIES = Path("docker/registry/v2/repositories")
# The OCI digest grammar (`sha256:<hex>`): anything else is a link being written.
_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
# What the registry stores blobs under (2.8 writes sha256 only); any other digest is asked for.
_SHA256 = re.compile(r"sha256:([0-9a-f]{64})")


def repositories_root(config: Path | None = None) -> Path | None:
    """Where our registry keeps its repositories, if this machine can read them; else None
    (the registry runs elsewhere, or not on the filesystem driver)."""
    try:
        root = storage_directory(config) / REPOSITORIES
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    return root if root.is_dir() and os.access(root, os.R_OK | os.X_OK) else None


def tag_digests(root: Path, repository: str) -> dict[str, str] | None:
    """Each tag of `repository` and its current manifest digest ("" while its link is being
    written); None if the storage cannot tell (no such repository here: ask the registry)."""
    # os.path, not pathlib: this runs for every repository of a sync, and pathlib's objects
    # cost more than the reads.
    directory = os.path.join(root, repository)
    tags = os.path.join(directory, "_manifests", "tags")
    try:
        names = os.listdir(tags)
    except FileNotFoundError:
        # `_layers` is what the registry's catalog counts as a repository: one without tags.
        return {} if os.path.isdir(os.path.join(directory, "_layers")) else None
    except OSError:
        return None
    return {name: _link(os.path.join(tags, name, "current", "link")) for name in names}


def _link(path: str) -> str:
    # The filesystem driver rewrites a link in place (truncate, then write): a reader can
    # catch it empty, or the tag directory gone if it was just deleted.
    try:
        with open(path, encoding="ascii", errors="replace") as link:
            digest = link.read().strip()
    except OSError:
        return ""
    return digest if _DIGEST.fullmatch(digest) else ""


def linked_blob(root: Path, repository: str, digest: str, *, manifest: bool) -> bytes | None:
    """The bytes of `digest` in `repository`, a manifest (`manifest`) or a config or layer,
    read from the storage whose repositories are at `root` (`repositories_root`); None when
    the storage cannot tell (the repository does not link it, it is being written or
    deleted, a larger answer than a request would take, bytes that do not hash to it):
    ask the registry, whose answer decides."""
    found = _SHA256.fullmatch(digest)
    if found is None or not is_repository_path(repository):
        return None
    hex_digest = found.group(1)
    links = ("_manifests", "revisions") if manifest else ("_layers",)
    link = os.path.join(root, repository, *links, "sha256", hex_digest, "link")
    if _link(link) != digest:
        return None
    data = os.path.join(root.parent, "blobs", "sha256", hex_digest[:2], hex_digest, "data")
    try:
        with open(data, "rb") as blob:
            if os.fstat(blob.fileno()).st_size > MAX_BODY:
                return None
            content = blob.read()
    except OSError:
        return None
    return content if hashlib.sha256(content).hexdigest() == hex_digest else None
