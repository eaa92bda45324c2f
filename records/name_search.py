"""Substring search by image name that reads an index instead of every image.

`name__icontains` is `LIKE '%text%'`, which no B-tree index can serve: at a million images
each search read the whole table. Both databases get a trigram index instead:

- PostgreSQL: pg_trgm's GIN index on `UPPER(name::text)`, the very expression Django's
  `icontains` compares, so the plain filter uses it as it is.
- SQLite: an FTS5 table with the trigram tokenizer holding every image's name under the
  image's id (an external-content table: the names stay in `api_image` only), kept in step
  by triggers on `api_image`. `name_contains` asks it for the candidate ids.

Either way the result is exactly `name__icontains`: on SQLite the index only narrows the
rows that the plain `LIKE` then checks (FTS5 folds case beyond ASCII, SQLite's LIKE does not).
"""

from __future__ import annotations

from django.db import connections
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from records.triggers import sqlite_triggers_missing

TABLE = "api_image_name_search"
# The trigram tokenizer finds nothing in a phrase shorter than one trigram. A search of one
# or two characters matches a large part of any big catalogue anyway, so scanning is no loss.
SHORTEST_INDEXED = 3

_SQLITE_TRIGGERS = {
    f"{TABLE}_insert": f"""
        CREATE TRIGGER IF NOT EXISTS {TABLE}_insert AFTER INSERT ON api_image BEGIN
            INSERT INTO {TABLE}(rowid, name) VALUES (new.id, new.name);
        END""",
    # Not on every UPDATE: states and build dates change far more often than names.
    f"{TABLE}_update": f"""
        CREATE TRIGGER IF NOT EXISTS {TABLE}_update AFTER UPDATE OF name ON api_image
        WHEN old.name IS NOT new.name BEGIN
            INSERT INTO {TABLE}({TABLE}, rowid, name) VALUES ('delete', old.id, old.name);
            INSERT INTO {TABLE}(rowid, name) VALUES (new.id, new.name);
        END""",
    f"{TABLE}_delete": f"""
        CREATE TRIGGER IF NOT EXISTS {TABLE}_delete AFTER DELETE ON api_image BEGIN
            INSERT INTO {TABLE}({TABLE}, rowid, name) VALUES ('delete', old.id, old.name);
        END""",
}
# columnsize=0: no per-row token counts, which only ranking (bm25) reads.
_SQLITE_TABLE = (
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5(name, content='api_image', content_rowid='id', "
    "tokenize='trigram', columnsize=0)"
)
_SQLITE_REBUILD = f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')"
_POSTGRES_INDEX = "image_name_trigram"


def name_contains(queryset: QuerySet, text: str) -> QuerySet:
    """`queryset.filter(name__icontains=text)`, served by the trigram index."""
    matching = queryset.filter(name__icontains=text)
    if connections[queryset.db].vendor != "sqlite" or len(text) < SHORTEST_INDEXED:
        return matching
    # A quoted FTS5 string is one phrase whose characters are all literal, `"` doubled.
    phrase = '"' + text.replace('"', '""') + '"'
    candidates = RawSQL(f"SELECT rowid FROM {TABLE} WHERE name MATCH %s", [phrase])
    return matching.filter(pk__in=candidates)


def create(apps, schema_editor) -> None:
    """Migration step: build the index over the images already there."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(_SQLITE_TABLE)
        for sql in _SQLITE_TRIGGERS.values():
            schema_editor.execute(sql)
        schema_editor.execute(_SQLITE_REBUILD)
    elif vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            f"CREATE INDEX {_POSTGRES_INDEX} ON api_image USING gin "
            "((UPPER(name::text)) gin_trgm_ops)"
        )


def drop(apps, schema_editor) -> None:
    """Migration step back. The pg_trgm extension stays: something else may use it."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for trigger in _SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")
    elif vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {_POSTGRES_INDEX}")


def repair(using: str = "default", **kwargs) -> None:
    """After every `migrate`: put back the SQLite triggers a migration took away.

    Django's SQLite schema editor alters most columns by copying `api_image` into a new table
    and dropping the old one, and its triggers go with it; the index would then silently miss
    every image named from then on. Rebuilding catches up on what changed without them.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        if sqlite_triggers_missing(cursor, TABLE, _SQLITE_TRIGGERS):
            for sql in _SQLITE_TRIGGERS.values():
                cursor.execute(sql)
            cursor.execute(_SQLITE_REBUILD)
