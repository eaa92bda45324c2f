"""`manage.py backup DIR`: the database, the secrets and the registry's storage, while
everything runs (tutumweb.backups)."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tutumweb.backups import archive
from tutumweb.backups.archive import BackupError, in_words
from tutumweb.backups.take import Taken, take


class Command(BaseCommand):
    help = (
        "Back up the database, the secrets and keys, and the registry's storage (filesystem "
        "driver) into DIR while the system runs. DIR is made mode 0700: it holds the token "
        "signing key and the secrets. Backing up into the same DIR again copies only new blobs."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, metavar="DIR")
        parser.add_argument(
            "--storage-command",
            default="",
            metavar="COMMAND",
            help=(
                "For object storage (s3 and other drivers): a command that copies the bucket, "
                "run right after the database's snapshot while nothing deletes from the "
                'storage, e.g. "aws s3 sync s3://registry s3://registry-backup/today".'
            ),
        )

    def handle(self, *args, directory: Path, storage_command: str, **options):
        # Everything the backup writes is for the owner only (pg_dump's file too).
        previous = os.umask(0o077)
        try:
            self._back_up(directory.absolute(), storage_command)
        finally:
            os.umask(previous)

    def _back_up(self, directory: Path, storage_command: str) -> None:
        self.stdout.write(
            f"Backing up to {directory} (mode 0700: it holds the token-signing key and the "
            "secrets)."
        )

        def waiting() -> None:
            self.stdout.write(
                "Waiting for garbage collection or a recycle bin move to finish before copying "
                "(pushes go on meanwhile)..."
            )

        try:
            taken = take(
                directory,
                storage_command=storage_command,
                on_wait=waiting,
                progress=archive.progress_lines(self.stdout.write, lambda _: "storage"),
            )
        except (BackupError, TimeoutError) as error:
            raise CommandError(str(error)) from error
        for line in _report(taken):
            self.stdout.write(line)
        for warning in taken.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))


def _report(taken: Taken) -> list[str]:
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    lines = [
        f"database ({names[taken.engine]}): {in_words(taken.database_bytes)} in "
        f"{taken.database_seconds:.1f} s"
    ]
    copied = taken.copied
    if copied is not None:
        line = (
            f"registry storage ({taken.driver}): {copied.files:,} files, "
            f"{in_words(copied.bytes)} copied in {taken.storage_seconds:.1f} s"
        )
        if copied.kept_files:
            line += (
                f"; {copied.kept_files:,} files, {in_words(copied.kept_bytes)} already in the "
                "backup"
            )
        if copied.removed:
            line += f"; {copied.removed:,} files the registry no longer holds removed"
        if copied.symlinks:
            line += f"; {copied.symlinks:,} symbolic links not followed"
        lines.append(line)
    elif taken.storage_command_seconds is not None:
        lines.append(
            f"registry storage ({taken.driver}): --storage-command copied it in "
            f"{taken.storage_command_seconds:.1f} s"
        )
    else:
        lines.append(f"registry storage ({taken.driver or 'unknown'} driver): NOT copied")
    lines.append(
        f"recycle bin moves and garbage collection were held off for {taken.held_seconds:.1f} s; "
        "pushes went on"
    )
    included = [name for name, kept in taken.secrets.items() if kept == "included"]
    elsewhere = [f"{name} ({kept})" for name, kept in taken.secrets.items() if kept != "included"]
    lines.append(
        f"secrets and keys: {', '.join(included) or 'none'} included"
        + (f"; not in the backup: {', '.join(elsewhere)}" if elsewhere else "")
    )
    check = (
        f" Check it any time: cd {taken.directory} && sha256sum -c {archive.STORAGE_SUMS}."
        if copied is not None
        else ""
    )
    lines.append(
        f"Done in {taken.seconds:.1f} s: {in_words(taken.bytes)} in {taken.directory}.{check}"
    )
    return lines
