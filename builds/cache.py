"""buildah's storage between builds: base images stay as a cache until it outgrows its cap.

vfs storage keeps a full copy of every layer, so a worker that builds from many base images
would otherwise fill its disk.
"""

from __future__ import annotations

import logging
import os
from contextlib import suppress

from django.conf import settings

from builds import buildah

log = logging.getLogger(__name__)


def storage_bytes() -> int:
    """Bytes in BUILD_DIR/storage (files only; links are not followed)."""
    total = 0
    for folder, _, files in os.walk(settings.BUILD_DIR / "storage"):
        for name in files:
            with suppress(OSError):  # removed while we walked
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def trim() -> bool:
    """After a build (or a killed one): remove buildah's working containers (a failed step
    leaves its own), then clear the images if storage is over BUILD_CACHE_MAX_MB.

    Only while no build runs in BUILD_DIR, as between a worker's builds. True if cleared.
    """
    if not (settings.BUILD_DIR / "storage").is_dir():
        return False
    env = environment()
    buildah.run_quiet("rm", "--all", env=env)
    size = storage_bytes()
    if size <= settings.BUILD_CACHE_MAX_MB * 1024 * 1024:
        return False
    buildah.run_quiet("rmi", "--all", "--force", env=env)
    log.info("build cache was %d MB, over BUILD_CACHE_MAX_MB: cleared", size // 2**20)
    return True


def environment() -> dict:
    """buildah's environment for work that needs no registry credentials."""
    none = settings.BUILD_DIR / "no-credentials.json"
    if not none.exists():
        none.parent.mkdir(parents=True, exist_ok=True)
        none.write_text('{"auths": {}}')
    return buildah.environment(none)
