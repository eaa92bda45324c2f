"""Restoring a backup onto a stopped installation (`manage.py restore DIR`): everything is
checked first (the manifest, the code's migrations, an empty target, every checksum), so a
damaged or truncated backup is refused with nothing written; then the database, the secrets
and the storage are put in place. The command runs the migrations afterwards, for a backup
older than the code."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from tutumweb.backups import archive, database, storage
from tutumweb.backups.archive import BackupError
from tutumweb.backups.take import secrets_of


@dataclass
class Target:
    """Where a backup is restored to: an installation's data directory and database."""

    data_dir: Path
    database: dict  # Django's settings of the database
    token_key: Path
    registry_config: Path

    @classmethod
    def from_settings(cls) -> Target:
        return cls(
            settings.DATA_DIR,
            connection.settings_dict,
            settings.REGISTRY_TOKEN_KEY,
            settings.REGISTRY_CONFIG,
        )

    @property
    def storage_dir(self) -> Path:
        # Where `make run` (setup_instance) points the registry's filesystem storage.
        return self.data_dir / "registry" / "storage"


@dataclass
class Restored:
    manifest: dict
    verified_bytes: int = 0
    verify_seconds: float = 0.0
    database_seconds: float = 0.0
    storage_bytes: int = 0
    storage_seconds: float = 0.0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def restore(directory: Path, target: Target, *, force: bool = False) -> Restored:
    started = time.monotonic()
    manifest = archive.read_manifest(directory)
    _check_code_knows(manifest)
    _check_engine(manifest, target)
    _check_empty(manifest, target, force)
    restored = Restored(manifest)
    restored.verified_bytes = archive.verify(directory, manifest)
    restored.verify_seconds = time.monotonic() - started

    step = time.monotonic()
    archive.private_directory(target.data_dir)
    database.restore(target.database, directory / manifest["database"]["file"])
    restored.database_seconds = time.monotonic() - step

    _put_secrets_back(directory, manifest, target)

    step = time.monotonic()
    if manifest["storage"]["copied"]:
        restored.storage_bytes = storage.put_back(
            archive.storage_sums(directory), directory, target.storage_dir
        )
    archive.flush()
    restored.storage_seconds = time.monotonic() - step
    restored.warnings = _warnings(manifest)
    restored.seconds = time.monotonic() - started
    return restored


def _check_code_knows(manifest: dict) -> None:
    known = {f"{app}.{name}" for app, name in MigrationLoader(None).disk_migrations}
    unknown = sorted(set(manifest.get("migrations", [])) - known)
    if unknown:
        raise BackupError(
            f"This backup was taken by a newer tutumweb: its database has migrations this code "
            f"does not know ({', '.join(unknown[:3])}{', ...' if len(unknown) > 3 else ''}). "
            "Restore it with that version or a newer one."
        )


def _check_engine(manifest: dict, target: Target) -> None:
    held, wanted = manifest["database"]["engine"], database.engine(target.database)
    if held != wanted:
        names = {database.SQLITE: "SQLite", database.POSTGRESQL: "PostgreSQL"}
        raise BackupError(
            f"This backup holds a {names[held]} database and DATABASE_URL names a "
            f"{names[wanted]} one: set DATABASE_URL to a {names[held]} database to restore it."
        )


def _check_empty(manifest: dict, target: Target, force: bool) -> None:
    """Refuse to write over an installation: a restore replaces its database, secrets and
    storage whole, and what it replaced would be lost (unless --force says so)."""
    if database.engine(target.database) == database.POSTGRESQL:
        # Never dropped here: emptying a database is its administrator's call (dropdb, createdb).
        found = database.exists(target.database)
        if found:
            raise BackupError(
                f"Restore into an empty database: {found}. Make a new one (createdb) or drop "
                "and create this one, then restore again."
            )
    if force:
        return
    occupied = []
    if target.data_dir.is_dir() and any(target.data_dir.iterdir()):
        occupied.append(f"the data directory {target.data_dir} is not empty")
    for secret in secrets_of(target.data_dir, target.token_key, target.registry_config):
        if secret.path.exists() and not secret.path.is_relative_to(target.data_dir):
            occupied.append(f"{secret.path} exists")
    found = database.exists(target.database)
    if found and not Path(target.database["NAME"]).is_relative_to(target.data_dir):
        occupied.append(found)
    if occupied:
        raise BackupError(
            f"Restore onto an empty installation: {'; '.join(occupied)}. A restore replaces "
            "the database, the secrets and the registry's storage whole, so what is there would "
            "be lost: restore into a new DATA_DIR, or pass --force to replace it."
        )


def _put_secrets_back(directory: Path, manifest: dict, target: Target) -> None:
    for secret in secrets_of(target.data_dir, target.token_key, target.registry_config):
        if manifest["secrets"].get(secret.name) != "included":
            continue
        content = (directory / secret.in_backup).read_bytes()
        if secret.name == "registry_config":
            content = _config_for(content, manifest, target)
        archive.write_private(secret.path, content)


def _config_for(content: bytes, manifest: dict, target: Target) -> bytes:
    """The registry config with the paths of this installation: its storage where the restore
    put it, its token certificate where the restore put it."""
    config = yaml.safe_load(content)
    if manifest["storage"]["copied"]:
        config["storage"][storage.FILESYSTEM]["rootdirectory"] = str(target.storage_dir)
    token = (config.get("auth") or {}).get("token")
    if token and manifest["secrets"].get("token_certificate") == "included":
        token["rootcertbundle"] = str(target.token_key.with_suffix(".crt"))
    # JSON is YAML, and what setup_instance writes (registry.config).
    return json.dumps(config, indent=2).encode()


def _warnings(manifest: dict) -> list[str]:
    warnings = []
    kept = manifest["secrets"]
    for name, setting in (
        ("secret_key", "SECRET_KEY"),
        ("encryption_key", "ENCRYPTION_KEY"),
        ("notification_secret", "REGISTRY_NOTIFICATION_SECRET"),
    ):
        if kept.get(name) == "environment":
            warnings.append(
                f"{setting} came from the environment when the backup was taken and is not in "
                "it: start the restored installation with the same value."
            )
    if not manifest["storage"]["copied"]:
        warnings.append(
            f"The registry's storage ({manifest['storage']['driver'] or 'unknown'} driver) is "
            "not in this backup: restore it with the tools that copied it (docs/operations.md)."
        )
    return warnings
