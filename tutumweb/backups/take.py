"""Taking a backup while the system runs (`manage.py backup DIR`)."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from registry import locks
from tutumweb.backups import archive, database, storage
from tutumweb.backups.archive import BackupError

# How long a backup waits for garbage collection or a recycle bin move to end before it
# copies: a collection takes minutes on a large registry (bench/gc.py).
WAIT_FOR_DELETIONS = 30 * 60


@dataclass
class Secret:
    """A secret or key of the installation and where a backup keeps it."""

    name: str  # in the manifest
    in_backup: str  # path inside the backup
    path: Path  # where the installation keeps it
    setting: str = ""  # the environment variable that can hold it instead of the file


def secrets_of(data_dir: Path, token_key: Path, registry_config: Path) -> list[Secret]:
    """The installation's secrets and keys, at the paths its settings give."""
    return [
        Secret("secret_key", "secrets/secret_key", data_dir / "secret_key", "SECRET_KEY"),
        Secret(
            "notification_secret",
            "secrets/notification_secret",
            data_dir / "registry" / "notification_secret",
            "REGISTRY_NOTIFICATION_SECRET",
        ),
        Secret("token_key", "secrets/token.key", token_key),
        Secret("token_certificate", "secrets/token.crt", token_key.with_suffix(".crt")),
        Secret("registry_config", "registry/config.yml", registry_config),
    ]


@dataclass
class Taken:
    """What a backup holds, and what it took, for the command to tell."""

    directory: Path
    engine: str
    database_bytes: int = 0
    database_seconds: float = 0.0
    driver: str | None = None
    copied: storage.Copied | None = None
    storage_seconds: float = 0.0
    storage_command_seconds: float | None = None
    # How long the recycle bin's moves and garbage collection were held off.
    held_seconds: float = 0.0
    secrets: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0


def take(
    directory: Path,
    *,
    storage_command: str = "",
    on_wait: Callable[[], None] = lambda: None,
    progress: Callable[[storage.Copied], None] | None = None,
) -> Taken:
    """Back the installation up into `directory` (see the package's docstring for why it is
    consistent); `storage_command` copies object storage, run where the copy would be."""
    started = time.monotonic()
    taken_at = timezone.now()
    db = connection.settings_dict
    taken = Taken(directory, database.engine(db))
    config = settings.REGISTRY_CONFIG
    taken.driver = storage.driver(config)
    copies_storage = taken.driver == storage.FILESYSTEM
    if storage_command and copies_storage:
        raise BackupError(
            "The registry keeps its storage on the filesystem, which the backup copies itself: "
            "leave out --storage-command."
        )
    if copies_storage and directory.resolve().is_relative_to(storage.root(config)):
        raise BackupError(
            f"{directory} is inside the registry's storage, which the backup copies: name a "
            "directory outside it."
        )
    archive.prepare(directory)
    files: dict[str, dict] = {}
    migrations = sorted(f"{app}.{name}" for app, name in _applied_migrations())
    # Held from before the database's snapshot until the storage is copied, so nothing the
    # snapshot refers to is deleted before the copy has it; pushes go on meanwhile.
    with locks.storage_kept(wait=WAIT_FOR_DELETIONS, on_wait=on_wait):
        held = time.monotonic()
        database_file = database.FILES[taken.engine]
        database.dump(db, directory / database_file)
        taken.database_seconds = time.monotonic() - held
        files[database_file] = archive.checksum(directory / database_file)
        taken.database_bytes = files[database_file]["bytes"]
        copy_started = time.monotonic()
        if copies_storage:
            taken.copied = storage.copy(
                storage.root(config), directory, archive.STORAGE_SUMS, progress
            )
            files[archive.STORAGE_SUMS] = archive.checksum(directory / archive.STORAGE_SUMS)
        elif storage_command:
            _run_storage_command(storage_command)
            taken.storage_command_seconds = time.monotonic() - copy_started
        taken.storage_seconds = time.monotonic() - copy_started
        taken.held_seconds = time.monotonic() - held
    for secret in secrets_of(settings.DATA_DIR, settings.REGISTRY_TOKEN_KEY, config):
        taken.secrets[secret.name] = _keep(secret, directory, files, taken.warnings)
    taken.secrets["encryption_key"] = _encryption_key(taken.warnings)
    if taken.copied is None:
        taken.warnings.append(_storage_not_copied(taken.driver, config, storage_command))
    elif taken.copied.damaged:
        taken.warnings.append(
            f"Blobs in the registry's storage that do not match their digest (damaged on disk "
            f"before this backup, copied as they are): {len(taken.copied.damaged)}, e.g. "
            f"{taken.copied.damaged[0]}."
        )
    taken.bytes = sum(f["bytes"] for f in files.values()) + (
        taken.copied.bytes + taken.copied.kept_bytes if taken.copied else 0
    )
    # Everything listed is on disk before the manifest says the backup is whole.
    archive.flush()
    taken.seconds = time.monotonic() - started
    archive.finish(directory, _manifest(taken, taken_at, migrations, files))
    return taken


def _applied_migrations() -> set[tuple[str, str]]:
    return set(MigrationRecorder(connection).applied_migrations())


def _keep(secret: Secret, directory: Path, files: dict, warnings: list[str]) -> str:
    """Copy a secret into the backup if the installation keeps it in a file; how it is kept."""
    from_environment = os.environ.get(secret.setting, "") if secret.setting else ""
    try:
        content = secret.path.read_bytes()
    except FileNotFoundError:
        content = None
    if content is not None:
        archive.write_private(directory / secret.in_backup, content)
        files[secret.in_backup] = archive.checksum(directory / secret.in_backup)
    kept = None if content is None else content.decode(errors="replace").strip()
    if from_environment and kept != from_environment:
        where = "there is no" if content is None else "it is not the one in"
        warnings.append(
            f"{secret.setting} is set in the environment ({where} {secret.path}), so this "
            "backup cannot hold it: keep it with the backup yourself; the restored installation "
            "needs the same value."
        )
        return "environment"
    if content is None:
        if secret.setting:
            return "absent"
        warnings.append(f"There is no {secret.path}: the backup goes without it.")
        return "absent"
    return "included"


def _encryption_key(warnings: list[str]) -> str:
    if not settings.ENCRYPTION_KEY:
        return "derived from SECRET_KEY"
    warnings.append(
        "ENCRYPTION_KEY is set in the environment: this backup cannot hold it. Keep it with the "
        "backup yourself; without it the registry passwords and git tokens stored in the "
        "database cannot be read."
    )
    return "environment"


def _storage_not_copied(driver: str | None, config: Path, storage_command: str) -> str:
    if driver is None:
        return (
            f"The registry's storage was NOT copied: there is no registry config at {config} "
            "(REGISTRY_CONFIG) to find it in. Back it up with the registry's own tools, after "
            "this backup."
        )
    if storage_command:
        return (
            f"The registry's storage ({driver} driver) was copied by --storage-command, not "
            "into this directory: keep that copy with this backup."
        )
    return (
        f"The registry's storage was NOT copied: the {driver} driver keeps it in object "
        'storage. Copy the bucket now, after this backup (docs/operations.md, "Backing up '
        'object storage"), or pass --storage-command to run the copy inside the backup.'
    )


def _run_storage_command(command: str) -> None:
    try:
        # Its output goes to the operator's terminal as it runs.
        result = subprocess.run(shlex.split(command), check=False)
    except (OSError, ValueError) as error:
        raise BackupError(f"--storage-command could not start: {error}.") from None
    if result.returncode != 0:
        raise BackupError(
            f"--storage-command exited with {result.returncode}: the backup is not complete."
        )


def _manifest(taken: Taken, taken_at, migrations: list[str], files: dict) -> dict:
    copied = taken.copied
    return {
        "taken_at": taken_at.isoformat(),
        "seconds": round(taken.seconds, 3),
        "migrations": migrations,
        "database": {
            "engine": taken.engine,
            "file": database.FILES[taken.engine],
            "bytes": taken.database_bytes,
        },
        "storage": {
            "driver": taken.driver,
            "copied": copied is not None,
            **(
                {
                    "files": copied.files + copied.kept_files,
                    "bytes": copied.bytes + copied.kept_bytes,
                }
                if copied
                else {}
            ),
            **({"copied_by_command": True} if taken.storage_command_seconds is not None else {}),
        },
        "secrets": taken.secrets,
        "files": files,
    }
