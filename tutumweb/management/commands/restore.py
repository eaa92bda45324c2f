"""`manage.py restore DIR`: put a backup back onto a stopped installation (tutumweb.backups)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor

from tutumweb.backups.archive import BackupError, in_words
from tutumweb.backups.restore import Target, restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup` into this installation's DATA_DIR and "
        "database, which must be empty. Stop every process first; start them afterwards."
    )
    # The checks would open the database, which for SQLite makes the very file the restore
    # must find absent.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, metavar="DIR")
        parser.add_argument(
            "--force",
            action="store_true",
            help=(
                "Replace what the data directory holds (database file, secrets, registry "
                "storage). A PostgreSQL database must still be empty."
            ),
        )

    def handle(self, *args, directory: Path, force: bool, **options):
        # What the restore writes holds secrets: for the owner only.
        previous = os.umask(0o077)
        try:
            self._restore(directory, force)
        finally:
            os.umask(previous)

    def _restore(self, directory: Path, force: bool) -> None:
        target = Target.from_settings()
        try:
            restored = restore(directory.absolute(), target, force=force)
        except BackupError as error:
            raise CommandError(str(error)) from error
        manifest = restored.manifest
        self.stdout.write(
            f"Checked the backup taken {manifest['taken_at']}: {in_words(restored.verified_bytes)}"
            f", every checksum matches ({restored.verify_seconds:.1f} s)."
        )
        step = time.monotonic()
        connections.close_all()
        pending = _pending_migrations()
        call_command("migrate", interactive=False, verbosity=0)
        kind = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[manifest["database"]["engine"]]
        self.stdout.write(
            f"database ({kind}): restored in "
            f"{restored.database_seconds:.1f} s; {pending} migrations applied since the backup "
            f"({time.monotonic() - step:.1f} s)"
        )
        included = [name for name, kept in manifest["secrets"].items() if kept == "included"]
        self.stdout.write(f"secrets and keys: {', '.join(included) or 'none'} restored")
        if manifest["storage"]["copied"]:
            self.stdout.write(
                f"registry storage: {manifest['storage']['files']:,} files, "
                f"{in_words(restored.storage_bytes)} restored into {target.storage_dir} in "
                f"{restored.storage_seconds:.1f} s"
            )
        for warning in restored.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
        self.stdout.write(
            f"Done in {restored.seconds + time.monotonic() - step:.1f} s. Start the "
            "installation (make run): its registry sync records the tags pushed while the "
            "backup was taken."
        )


def _pending_migrations() -> int:
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
