"""Our registry's storage read in place: a repository's tags and their digests, no request.

The registry's HTTP API lists tag names without digests, so knowing a tag is unchanged costs
a request per tag there. CNCF Distribution's filesystem driver keeps each tag's current
manifest digest in `<root>/docker/registry/v2/repositories/<repository>/_manifests/tags/
<tag>/current/link`. When that storage is on this machine (REGISTRY_CONFIG names it, which
garbage collection relies on too), reading those links answers the question for free.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from registry.config import storage_directory

REPOSITORIES = Path("docker/registry/v2/repositories")
# The OCI digest grammar (`sha256:<hex>`): anything else is a link being written.
_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")


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
