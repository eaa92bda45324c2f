"""buildah's storage between builds: base images stay as a cache until it outgrows its cap.

vfs storage keeps a full copy of every layer, so a worker that builds from many base images
would otherwise fill its disk.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress

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


@contextmanager
def in_use() -> Iterator[None]:
    """Held (shared) for a whole build: several workers may share one BUILD_DIR."""
    with _lock_file() as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        yield


def trim() -> bool:
    """Between builds: remove buildah's working containers (a killed build leaves its own),
    then clear the images if storage is over BUILD_CACHE_MAX_MB. True if it cleared them.

    Skipped while any build runs in BUILD_DIR (another worker may share it); the next build's
    end tries again.
    """
    if not (settings.BUILD_DIR / "storage").is_dir():
        return False
    with _lock_file() as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        env = environment()
        buildah.run_quiet("rm", "--all", env=env)
        size = storage_bytes()
        if size <= settings.BUILD_CACHE_MAX_MB * 1024 * 1024:
            return False
        buildah.run_quiet("rmi", "--all", "--force", env=env)
    log.info("build cache was %d MB, over BUILD_CACHE_MAX_MB: cleared", size // 2**20)
    return True


def _lock_file():
    settings.BUILD_DIR.mkdir(parents=True, exist_ok=True)
    # Closing the file releases the lock, whatever happened in between.
    return open(settings.BUILD_DIR / "storage.lock", "a")  # noqa: SIM115


def environment() -> dict:
    """buildah's environment for work that needs no registry credentials."""
    none = settings.BUILD_DIR / "no-credentials.json"
    if not none.exists():
        none.parent.mkdir(parents=True, exist_ok=True)
        none.write_text('{"auths": {}}')
    return buildah.environment(none)
