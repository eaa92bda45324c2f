"""Copying every row of the installation's database (DATABASE_URL, normally SQLite) into an
empty PostgreSQL database (`manage.py move_database TARGET_DATABASE_URL`).

How, and why so:

- The target is migrated by this code first, so its schema is PostgreSQL's own: the counting
  triggers (records.counting), the trigram index of the name search (records.name_search) and
  the generated `reach` column come from the migrations, never from the source.
- Rows are copied table by table, parents before the rows naming them (PostgreSQL checks
  Django's foreign keys at commit anyway), keeping their primary keys. They are read in
  batches through the ORM's converters (SQLite's 0/1, text timestamps and JSON text become
  booleans, timestamps and JSON) and written with COPY. Nothing is saved through a model: no
  `auto_now` date is touched, no signal sent, and generated columns are left to the target.
- Content types and permissions: migrating the target made its own, numbered in the order it
  made them, while the rows copied (permissions, the admin's log) name the source's numbers;
  so the target's are replaced by the source's.
- Counters: the triggers count every image and tag the copy inserts, so the counter tables
  are copied last, over what the triggers made. Their `changes` counters thus go on from the
  source's (they only ever grow), and the counts are checked against a fresh count.
- Not copied: the database caches' tables and api_listwalk (caches), SQLite's name search
  table (PostgreSQL's index is built from api_image as rows arrive), django_migrations (the
  target's own).
- The sequences are set past the highest id copied (Django's sqlsequencereset), so new rows
  get fresh ids.
- All of it is one transaction on the target: a copy that fails or checks wrong leaves the
  target migrated and empty, ready for another try. The source is read in one read
  transaction (one moment's database; SQLite's WAL lets it block no writer) and counted again
  afterwards: rows that came or went meanwhile mean a process still writes, and the move is
  refused. The source is never written to.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import dj_database_url
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Model
from django.db.utils import load_backend

from records import counting, name_search
from records.models import ListWalk
from tutumweb.moves import MoveError

SOURCE, TARGET = "move_source", "move_target"
# Rows read from the source at a time.
BATCH = 2000
# What migrating the target fills in with numbers of its own, replaced by the source's rows
# (permissions first: they name content types).
MADE_BY_MIGRATE = ("auth_permission", "django_content_type")
COUNTED = (counting.IMAGES, counting.TAGS)
NOT_COPIED = {
    "django_migrations": "the target's own, written by its migrations",
    # Made by createcachetable (migrations 0007 and 0022) for Django's database cache.
    "tutumweb_rate_limits": "a cache of the rate limits' counts",
    "tutumweb_shared": "a cache shared by the API processes",
    ListWalk._meta.db_table: "a cache of where offset walks ended",
}
_SQLITE_SEARCH = "SQLite's name search index; PostgreSQL's trigram index is built from the images"
SQLITE, POSTGRESQL = "django.db.backends.sqlite3", "django.db.backends.postgresql"


@dataclass
class CopiedTable:
    table: str
    rows: int
    seconds: float


@dataclass
class DatabaseMoved:
    """What a move did, for the command to tell."""

    source: str  # in words, without a password
    target: str
    migrations: int = 0  # applied to the target
    migrate_seconds: float = 0.0
    tables: list[CopiedTable] = field(default_factory=list)
    not_copied: dict[str, str] = field(default_factory=dict)  # table: why
    counted: dict[str, int] = field(default_factory=dict)  # counter table: keys checked
    sequences: int = 0
    copy_seconds: float = 0.0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)


def move_database(
    target_url: str,
    *,
    on_migrated: Callable[[DatabaseMoved], None] = lambda moved: None,
    progress: Callable[[CopiedTable], None] = lambda copied: None,
) -> DatabaseMoved:
    """Copy the installation's database into the empty PostgreSQL database at `target_url`
    (see the module's docstring); `progress` hears of each table once it is copied."""
    started = time.monotonic()
    target = target_settings(target_url)
    source = source_settings(connections[DEFAULT_DB_ALIAS].settings_dict)
    if _where(source) == _where(target):
        raise MoveError(
            "TARGET_DATABASE_URL names the database DATABASE_URL names: give the empty "
            "PostgreSQL database to copy into."
        )
    if source["ENGINE"] == SQLITE and not Path(source["NAME"]).is_file():
        # Checked before connecting, which would make an empty database there.
        raise MoveError(
            f"There is no database at {source['NAME']} (DATABASE_URL): nothing to move."
        )
    moved = DatabaseMoved(describe(source), describe(target))
    moved.warnings = _still_open(source)
    with _connected(SOURCE, source, moved.source), _connected(TARGET, target, moved.target):
        _check_source(source)
        models = copied_models()
        _check_target_is_empty(models, moved.target)
        step = time.monotonic()
        moved.migrations = _migrate_target()
        moved.migrate_seconds = time.monotonic() - step
        on_migrated(moved)
        moved.not_copied = _not_copied(models)
        step = time.monotonic()
        try:
            with transaction.atomic(using=TARGET):
                _copy(models, moved, progress)
        except DatabaseError as error:
            raise MoveError(
                f"The copy failed and was rolled back: {error}. The target is migrated and "
                "empty; the move can run again."
            ) from error
        finally:
            # Filled from the target's numbering by its migrate, then replaced.
            ContentType.objects.clear_cache()
        moved.copy_seconds = time.monotonic() - step
    moved.seconds = time.monotonic() - started
    return moved


def target_settings(url: str) -> dict:
    """Django's settings of the PostgreSQL database at `url` (MoveError for anything else)."""
    rule = "postgres://user@host:5432/name, the password in PGPASSWORD or in the URL"
    try:
        parsed = dj_database_url.parse(url)
    except ValueError:
        # The error repeats the URL's scheme only, but the URL may hold a password: said here.
        raise MoveError(f"TARGET_DATABASE_URL must be a PostgreSQL URL: {rule}.") from None
    if parsed["ENGINE"] != POSTGRESQL:
        raise MoveError(
            f"TARGET_DATABASE_URL must name a PostgreSQL database, not "
            f"{parsed['ENGINE'].rsplit('.', 1)[-1]} (the several-machine layout runs on "
            f"PostgreSQL): {rule}."
        )
    if not parsed.get("NAME"):
        raise MoveError(f"TARGET_DATABASE_URL names no database: {rule}.")
    return parsed


def source_settings(settings_dict: dict) -> dict:
    """The installation's database settings for reading it: on SQLite, a deferred transaction
    (a snapshot that blocks no writer) rather than our IMMEDIATE one, which takes the write
    lock."""
    source = copy.deepcopy(settings_dict)
    if source["ENGINE"] == SQLITE:
        source["OPTIONS"] = {**source.get("OPTIONS", {}), "transaction_mode": "DEFERRED"}
    return source


def describe(database: dict) -> str:
    """A database in words, never with its password."""
    if database["ENGINE"] == SQLITE:
        return f"SQLite {database['NAME']}"
    if database["ENGINE"] == POSTGRESQL:
        host = database.get("HOST") or "the local socket"
        port = f":{database['PORT']}" if database.get("PORT") else ""
        return f"PostgreSQL database {database['NAME']} on {host}{port}"
    return f"{database['ENGINE'].rsplit('.', 1)[-1]} database {database.get('NAME')}"


def _where(database: dict) -> tuple:
    return (database["ENGINE"], database.get("HOST"), str(database.get("PORT")), database["NAME"])


@contextmanager
def _connected(alias: str, database: dict, described: str) -> Iterator[None]:
    """`database` as the connection `alias` of this thread for the length of the block. Not
    added to the settings: nothing else (closing old connections, a test's checks) is to
    take it for one of the installation's."""
    configured = {DEFAULT_DB_ALIAS: {"ENGINE": "django.db.backends.dummy"}, alias: database}
    database = connections.configure_settings(configured)[alias]
    connections[alias] = load_backend(database["ENGINE"]).DatabaseWrapper(database, alias)
    try:
        connections[alias].ensure_connection()
    except DatabaseError as error:
        _forget(alias)
        said = " ".join(str(error).split())
        raise MoveError(f"The {described} cannot be reached: {said}") from error
    try:
        yield
    finally:
        _forget(alias)


def _forget(alias: str) -> None:
    connections[alias].close()
    del connections[alias]


def copied_models() -> list[type[Model]]:
    """The models whose rows are copied, each after the ones it names, the counters last."""
    counters = {counted.counts for counted in COUNTED}
    models = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and model._meta.db_table not in NOT_COPIED
    ]
    rows = [model for model in models if model._meta.db_table not in counters]
    return _parents_first(rows) + [model for model in models if model not in rows]


def _parents_first(models: list[type[Model]]) -> list[type[Model]]:
    waiting = {
        model: {
            f.related_model
            for f in model._meta.concrete_fields
            if f.is_relation and f.related_model is not model and f.related_model in models
        }
        for model in models
    }
    ordered: list[type[Model]] = []
    while waiting:
        ready = [model for model, parents in waiting.items() if parents <= set(ordered)]
        # A cycle of foreign keys: PostgreSQL checks Django's at commit, so any order does.
        for model in sorted(ready or waiting, key=lambda m: m._meta.label):
            ordered.append(model)
            del waiting[model]
    return ordered


def _still_open(source: dict) -> list[str]:
    """SQLite deletes a database's WAL file when the last connection to it closes: one there
    means a process has it open, or one ended without closing it. Checked before this
    process opens it; the census after the copy is what refuses a database being written."""
    wal = Path(f"{source['NAME']}-wal")
    if source["ENGINE"] != SQLITE or connections[DEFAULT_DB_ALIAS].connection or not wal.exists():
        return []
    return [
        f"{wal} exists: a process still has the database open (or one ended without closing "
        "it). Stop every process of the installation; the copy is refused if the database "
        "changes while it runs."
    ]


def _check_source(source: dict) -> None:
    executor = MigrationExecutor(connections[SOURCE])
    applied = set(executor.recorder.applied_migrations())
    if not applied:
        raise MoveError(f"The {describe(source)} holds no tutumweb database: nothing to move.")
    unknown = sorted(applied - set(executor.loader.disk_migrations))
    if unknown:
        names = ", ".join(f"{app}.{name}" for app, name in unknown[:3])
        raise MoveError(
            f"The database was migrated by a newer tutumweb ({names}): move it with that version."
        )
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise MoveError(
            f"The database lacks {len(pending)} of this code's migrations: run `manage.py "
            "migrate` on it first (`make run` does), then move it."
        )


def _check_target_is_empty(models: list[type[Model]], described: str) -> None:
    """Refuse a target holding rows: the move would mix them with the copy, or collide."""
    target = connections[TARGET]
    with target.cursor() as cursor:
        tables = set(target.introspection.table_names(cursor))
        held = []
        for model in models:
            table = model._meta.db_table
            if table in tables and table not in MADE_BY_MIGRATE:
                cursor.execute(f"SELECT COUNT(*) FROM {target.ops.quote_name(table)}")
                rows = cursor.fetchone()[0]
                if rows:
                    held.append(f"{table} holds {rows:,} {'row' if rows == 1 else 'rows'}")
    if held:
        shown = "; ".join(held[:4]) + (f"; and {len(held) - 4} more" if len(held) > 4 else "")
        raise MoveError(
            f"The {described} is not empty: {shown}. The move copies into an empty database "
            "so that nothing there is overwritten or mixed in: make a new one (createdb) or "
            "drop and create this one, then move again."
        )


def _migrate_target() -> int:
    executor = MigrationExecutor(connections[TARGET])
    pending = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    try:
        call_command("migrate", database=TARGET, interactive=False, verbosity=0)
    except DatabaseError as error:
        said = " ".join(str(error).split())
        raise MoveError(
            f"Migrating the target failed: {said}. Nothing was copied; once the cause is "
            "fixed, the move can run again."
        ) from error
    return pending


def _not_copied(models: list[type[Model]]) -> dict[str, str]:
    """The source's tables that are not copied, and why."""
    source = connections[SOURCE]
    copied = {model._meta.db_table for model in models}
    with source.cursor() as cursor:
        tables = source.introspection.table_names(cursor)
    found = {}
    for table in sorted(set(tables) - copied):
        if table.startswith(name_search.TABLE):
            found[name_search.TABLE] = _SQLITE_SEARCH
        else:
            found[table] = NOT_COPIED.get(table, "not a table of tutumweb's models")
    return found


def _copy(
    models: list[type[Model]], moved: DatabaseMoved, progress: Callable[[CopiedTable], None]
) -> None:
    target = connections[TARGET]
    counters = {counted.counts for counted in COUNTED}
    with target.cursor() as cursor:
        for table in MADE_BY_MIGRATE:
            cursor.execute(f"DELETE FROM {target.ops.quote_name(table)}")
    with _snapshot():
        before = _census(SOURCE, models)
        for model in models:
            table = model._meta.db_table
            if table in counters:
                # What the triggers counted while the images and tags were copied.
                with target.cursor() as cursor:
                    cursor.execute(f"DELETE FROM {target.ops.quote_name(table)}")
            step = time.monotonic()
            copied = CopiedTable(table, _copy_rows(model), 0.0)
            copied.seconds = time.monotonic() - step
            moved.tables.append(copied)
            progress(copied)
    _check_unchanged(before, _census(SOURCE, models))
    _check_copied(before, _census(TARGET, models))
    with target.cursor() as cursor:
        for counted in COUNTED:
            keys, differing = counted.compare_with_recount(cursor)
            if differing:
                raise MoveError(
                    f"{differing:,} of the {counted.counts} counts differ from a count of "
                    f"{counted.source}'s rows after the copy."
                )
            moved.counted[counted.counts] = keys
        statements = target.ops.sequence_reset_sql(no_style(), models)
        for statement in statements:
            cursor.execute(statement)
    moved.sequences = len(statements)


@contextmanager
def _snapshot() -> Iterator[None]:
    """Every read of the source in the block sees the same moment's database."""
    with transaction.atomic(using=SOURCE):
        if connections[SOURCE].vendor == "postgresql":
            with connections[SOURCE].cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _copy_rows(model: type[Model]) -> int:
    """Copy `model`'s rows from the source into the target; how many."""
    target = connections[TARGET]
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    # What Django's own INSERT would send for each value, without a model's pre_save.
    prepare = [partial(f.get_db_prep_save, connection=target) for f in fields]
    columns = ", ".join(target.ops.quote_name(f.column) for f in fields)
    rows = (
        model._base_manager.using(SOURCE)
        .order_by(model._meta.pk.attname)
        .values_list(*(f.attname for f in fields))
        .iterator(chunk_size=BATCH)
    )
    copied = 0
    with target.cursor() as cursor:
        table = target.ops.quote_name(model._meta.db_table)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as stream:
            for row in rows:
                stream.write_row([each(value) for each, value in zip(prepare, row, strict=True)])
                copied += 1
    return copied


def _census(alias: str, models: list[type[Model]]) -> dict[str, int]:
    """The rows of each table at `alias`, and the sum of each counter table's changes: what
    a writer would move."""
    connection = connections[alias]
    found = {}
    with connection.cursor() as cursor:
        for model in models:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            found[model._meta.db_table] = cursor.fetchone()[0]
        for counted in COUNTED:
            cursor.execute(f"SELECT COALESCE(SUM(changes), 0) FROM {counted.counts}")
            found[f"{counted.counts} changes"] = cursor.fetchone()[0]
    return found


def _check_unchanged(before: dict[str, int], after: dict[str, int]) -> None:
    changed = _differing(before, after, "when the copy began", "now")
    if changed:
        raise MoveError(
            f"The database changed while it was copied ({changed}): a process of the "
            "installation still writes to it. Stop every process (registry, API, admin, "
            "workers, sync, housekeeping) and move again; the target was left empty."
        )


def _check_copied(source: dict[str, int], target: dict[str, int]) -> None:
    # The counters' changes too: what the triggers added while copying must be gone.
    wrong = _differing(source, target, "in the source", "in the target")
    if wrong:
        raise MoveError(f"The copy does not hold what the source does: {wrong}.")


def _differing(first: dict[str, int], second: dict[str, int], one: str, other: str) -> str:
    """The first three entries that differ between two censuses, in words ("" if none)."""
    differing = [table for table in first if second[table] != first[table]]
    return "; ".join(
        f"{table}: {first[table]:,} {one}, {second[table]:,} {other}" for table in differing[:3]
    )
