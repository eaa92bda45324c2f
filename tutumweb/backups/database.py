"""The database's part of a backup: a consistent snapshot taken while the system writes, and
putting it back.

- SQLite: Python's `sqlite3` online backup API, in one step. That step reads inside one read
  transaction, so the copy is the database as it was at one moment; under WAL (our setting)
  a reader blocks no writer, so pushes and sign-ins go on while it copies. The copy is made a
  plain single file (no WAL beside it) and restored by copying it into place.
- PostgreSQL: `pg_dump --format=custom`, which reads everything in one repeatable-read
  transaction (a consistent snapshot, no lock beyond what a reader takes), is portable across
  machines and minor versions, and needs no superuser or replication set-up; `pg_restore` puts
  it into an empty database, in one transaction, so a restore that fails leaves nothing half
  done. They are Debian's `postgresql-client`, of the server's major version or newer (pg_dump
  refuses a newer server). For a database of many GB, WAL archiving (pg_basebackup) restores
  faster; this is the simple, always-correct baseline.

Connection settings reach pg_dump through its environment (PGPASSWORD and friends), never its
command line, so no password shows in a process list or a message.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from tutumweb.backups.archive import BackupError, private_directory

SQLITE, POSTGRESQL = "sqlite", "postgresql"
FILES = {SQLITE: "database.sqlite3", POSTGRESQL: "database.pgdump"}
# pg_dump and pg_restore of a big database take long; a hung server should not hang for ever.
PG_TIMEOUT = 6 * 3600


def engine(database: dict) -> str:
    """SQLITE or POSTGRESQL for Django's settings of a database."""
    name = database["ENGINE"].rsplit(".", 1)[-1]
    if name == "sqlite3":
        return SQLITE
    if name == "postgresql":
        return POSTGRESQL
    raise BackupError(f"Backups cover SQLite and PostgreSQL, not {database['ENGINE']}.")


def dump(database: dict, target: Path) -> None:
    """Write a snapshot of `database` (Django's settings of it) to `target`."""
    temporary = target.with_name(f".{target.name}.partial")
    temporary.unlink(missing_ok=True)
    if engine(database) == SQLITE:
        _dump_sqlite(Path(database["NAME"]), temporary)
    else:
        _run_pg("pg_dump", ["--format=custom", f"--file={temporary}"], database)
    temporary.chmod(0o600)
    os.replace(temporary, target)


def _dump_sqlite(source: Path, target: Path) -> None:
    try:
        # Read-only, so a wrong path is an error rather than a new empty database.
        origin = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=20)
    except sqlite3.Error as error:
        raise BackupError(f"The database {source} cannot be read: {error}.") from None
    copy = sqlite3.connect(target)
    try:
        # pages=-1: one step, one read transaction, one moment's database.
        origin.backup(copy, pages=-1)
        # A file that stands alone: no WAL to carry beside it (the server turns WAL on again).
        copy.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as error:
        raise BackupError(f"Copying the database {source} failed: {error}.") from None
    finally:
        copy.close()
        origin.close()


def restore(database: dict, source: Path) -> None:
    """Put the snapshot at `source` into `database`: an SQLite file is replaced whole (the
    restore checked it may be), a PostgreSQL database must have no tables."""
    if engine(database) == SQLITE:
        target = Path(database["NAME"])
        private_directory(target.parent)
        temporary = target.with_name(f".{target.name}.restoring")
        shutil.copyfile(source, temporary)
        temporary.chmod(0o600)
        # A WAL left by the database being replaced would be replayed onto the restored one.
        for leftover in ("-wal", "-shm", "-journal"):
            Path(f"{target}{leftover}").unlink(missing_ok=True)
        os.replace(temporary, target)
        return
    _run_pg(
        "pg_restore",
        # Into the database DATABASE_URL names, whoever owned the objects where the dump was
        # taken; comments are left out (only a superuser may comment on an extension).
        [
            "--no-owner",
            "--no-privileges",
            "--no-comments",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={database['NAME']}",
            str(source),
        ],
        database,
    )


def exists(database: dict) -> str:
    """What is already in `database`, in words, or "" if it is empty (or absent, for SQLite)."""
    if engine(database) == SQLITE:
        path = Path(database["NAME"])
        return f"the database file {path} exists" if path.exists() else ""
    tables = _run_pg(
        "psql",
        [
            "--no-psqlrc",
            "--tuples-only",
            "--no-align",
            "--command=SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
        ],
        database,
    ).strip()
    return "" if tables == "0" else f"the database {database['NAME']} holds {tables} tables"


def _run_pg(program: str, arguments: list[str], database: dict) -> str:
    executable = shutil.which(program)
    if executable is None:
        raise BackupError(
            f"{program} is not installed: install Debian's postgresql-client (the server's "
            "major version or newer)."
        )
    try:
        result = subprocess.run(
            [executable, "--no-password", *arguments],
            env=_pg_environment(database),
            capture_output=True,
            text=True,
            timeout=PG_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{program} did not finish within {PG_TIMEOUT // 3600} hours.") from None
    if result.returncode != 0:
        said = " ".join(result.stderr.strip().splitlines()[-3:])
        hint = ""
        if "version mismatch" in said:
            hint = " Install the postgresql-client of the server's major version or newer."
        raise BackupError(f"{program} failed: {said}{hint}")
    return result.stdout


def _pg_environment(database: dict) -> dict:
    """libpq's environment for Django's settings of a PostgreSQL database."""
    environment = {**os.environ, "PGDATABASE": str(database["NAME"]), "PGCONNECT_TIMEOUT": "10"}
    for setting, variable in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
    ):
        if database.get(setting):
            environment[variable] = str(database[setting])
    options = database.get("OPTIONS") or {}
    for option in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if options.get(option):
            environment[f"PG{option.upper()}"] = str(options[option])
    return environment
