"""The CNCF Distribution configuration of our registry: token auth and push notifications."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import yaml
from django.conf import settings


def registry_config(
    *, addr: str, storage_dir: Path, realm: str, notify_url: str, secret: str, cert_path: Path
) -> dict:
    return {
        "version": 0.1,
        "log": {"level": "warn", "fields": {"service": "registry"}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage_dir)},
            # The recycle bin deletes manifests by digest (lifecycle.bin).
            "delete": {"enabled": True},
            # No blob descriptor cache: after garbage collection an in-memory cache still says
            # the swept blobs exist, and a push that skips them stores a tag that cannot be
            # pulled (seen with 2.8.2). The filesystem answers as fast here.
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
    """Write the config as JSON, which is valid YAML; it holds a secret, so mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(config, indent=2))


def storage_directory(path: Path | None = None) -> Path:
    """The filesystem storage root the registry config at `path` (REGISTRY_CONFIG) names."""
    path = path or settings.REGISTRY_CONFIG
    stat = path.stat()
    return _storage_directory(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _storage_directory(path: str, mtime_ns: int, size: int) -> Path:
    """Parsed once a version of the file (the time and size it was written with are part of
    the key): recording each push reads the storage, and parsing YAML costs 5 ms."""
    config = yaml.safe_load(Path(path).read_text())
    return Path(config["storage"]["filesystem"]["rootdirectory"])
