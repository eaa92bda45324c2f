"""`manage.py move_database TARGET_DATABASE_URL`: copy this installation's database into an
empty PostgreSQL database (tutumweb.moves.database)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tutumweb.moves import MoveError
from tutumweb.moves.database import CopiedTable, DatabaseMoved, move_database


class Command(BaseCommand):
    help = (
        "Copy every row of this installation's database (DATABASE_URL, normally SQLite) into "
        "an empty PostgreSQL database: migrates it, copies table by table keeping the ids, "
        "resets its sequences and checks every table's rows and the counters. Stop every "
        "process of the installation first. The source is never changed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "target",
            metavar="TARGET_DATABASE_URL",
            help=(
                "postgres://user@host:5432/name of an empty database; leave the password out "
                "and set PGPASSWORD (or use ~/.pgpass) to keep it out of the process list."
            ),
        )

    def handle(self, *args, target: str, **options):
        try:
            moved = move_database(target, on_migrated=self._migrated, progress=self._copied)
        except MoveError as error:
            raise CommandError(str(error)) from error
        for line in _report(moved):
            self.stdout.write(line)

    def _migrated(self, moved: DatabaseMoved) -> None:
        self.stdout.write(
            f"Moving the database: {moved.source} -> {moved.target}.\n"
            "Every process of the installation must be stopped: the copy is refused if the "
            "database changes while it runs.\n"
            f"target: {moved.migrations} migrations applied in {moved.migrate_seconds:.1f} s"
        )
        for warning in moved.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))

    def _copied(self, copied: CopiedTable) -> None:
        if copied.rows:
            rows = "1 row" if copied.rows == 1 else f"{copied.rows:,} rows"
            self.stdout.write(f"  {copied.table}: {rows} ({copied.seconds:.1f} s)")


def _report(moved: DatabaseMoved) -> list[str]:
    empty = sum(1 for table in moved.tables if not table.rows)
    lines = [
        f"copied {moved.rows:,} rows of {len(moved.tables)} tables in {moved.copy_seconds:.1f} s"
        f" ({empty} of them empty), keeping every id",
    ]
    if moved.not_copied:
        lines.append("not copied:")
        lines += [f"  {table}: {why}" for table, why in moved.not_copied.items()]
    counted = ", ".join(f"{table} {keys:,}" for table, keys in moved.counted.items())
    lines += [
        f"checked: every table holds as many rows as the source; the counters ({counted}) "
        "equal a fresh count of the rows",
        f"sequences: {moved.sequences} set past the highest id copied, so new rows get new ids",
        f"Done in {moved.seconds:.1f} s; the source was not changed. Next: DATABASE_URL set to "
        "the target on every machine, `manage.py setup_instance` (docs/operations.md, "
        '"Moving to several machines").',
    ]
    return lines
