"""The CNCF Distribution configuration of our registry: token auth and push notifications."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import yaml
from django.conf import settings

from lib.storage_url import filesystem


def registry_config(
    *,
    addr: str,
    realm: str,
    notify_url: str,
    secret: str,
    cert_path: Path,
    storage_dir: Path | None = None,
    storage: dict | None = None,
) -> dict:
    """The config; the storage is `storage`'s driver block (settings.REGISTRY_STORAGE,
    lib.storage_url) when given, else the filesystem at `storage_dir`."""
    driver = storage or filesystem(storage_dir)
    # The s3 driver answers a blob GET with a redirect to a presigned URL of the bucket; the
    # registry serves the bytes itself instead, so clients and the API need to reach only it
    # (the bucket's endpoint is often on a private network, which our outbound policy refuses).
    redirect = {"redirect": {"disable": True}} if "s3" in driver else {}
    return {
        "version": 0.1,
        "log": {"level": "warn", "fields": {"service": "registry"}},
        "storage": {
            **driver,
            # The recycle bin deletes manifests by digest (lifecycle.bin).
            "delete": {"enabled": True},
            **redirect,
            # No blob descriptor cache: after garbage collection an in-memory cache still says
            # the swept blobs exist, and a push that skips them stores a tag that cannot be
            # pulled (seen with 2.8.2, on the filesystem and on S3 alike).
        },
        # The registry's own health check: once its storage stops answering, every request
        # (`/` included, which load balancers ask) is answered 503 until it answers again.
        "health": {
            "storagedriver": {"enabled": True, "interval": "10s", "threshold": 3},
        },
        "http": {
            "addr": addr,
            # Shared by every registry instance behind one name, so uploads survive a switch.
            "secret": hashlib.sha256(f"registry-http:{settings.SECRET_KEY}".encode()).hexdigest(),
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
        "auth": {
            "token": {
                "realm": realm,
                "service": settings.REGISTRY_TOKEN_SERVICE,
                "issuer": settings.REGISTRY_TOKEN_ISSUER,
                "rootcertbundle": str(cert_path),
            }
        },
        "notifications": {
            "endpoints": [
                {
                    "name": "tutumweb-api",
                    "url": notify_url,
                    "headers": {"Authorization": [f"Bearer {secret}"]},
                    "timeout": "5s",
                    # A delivery not answered 2xx/3xx is sent again until one is taken (the
                    # API answers 503 for a push it could not read back): at once up to
                    # `threshold` times, then every `backoff`, so a retry comes in seconds.
                    "threshold": 3,
                    "backoff": "1s",
                    "ignoredmediatypes": ["application/octet-stream"],
                }
            ]
        },
    }


def write_registry_config(path: Path, config: dict) -> None:
    """Write the config as JSON, which is valid YAML; it holds secrets, so mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    # Also when it was there before with a wider mode: it may hold the bucket's keys now.
    path.chmod(0o600)
    path.write_text(json.dumps(config, indent=2))


def storage_driver(path: Path | None = None) -> tuple[str, dict]:
    """The storage driver the registry config at `path` (REGISTRY_CONFIG) names, and its
    parameters: ("filesystem", {"rootdirectory": ...}) or ("s3", {...})."""
    path = path or settings.REGISTRY_CONFIG
    stat = path.stat()
    driver, parameters = _storage_driver(str(path), stat.st_mtime_ns, stat.st_size)
    return driver, dict(parameters)


@lru_cache(maxsize=8)
def _storage_driver(path: str, mtime_ns: int, size: int) -> tuple[str, dict]:
    """Parsed once a version of the file (the time and size it was written with are part of
    the key): recording each push reads the storage, and parsing YAML costs 5 ms."""
    storage = yaml.safe_load(Path(path).read_text())["storage"]
    for driver in ("filesystem", "s3"):
        if driver in storage:
            return driver, storage[driver] or {}
    raise KeyError(f"no storage driver we read in {sorted(storage)}")
