"""Counts the database keeps itself: images per reach (records.ImageCount) and tags per
image (records.TagCount).

Triggers add and subtract on every insert, delete and change of the counted key (an image's
visibility or namespace, a tag's image), so no way of writing rows (save, bulk_create,
update, cascades, raw SQL) leaves the counts behind, and a list's total_count reads a row or
a few (api/core/listing.py, api.images.views tag_list).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections

from records.triggers import sqlite_triggers_missing

_OPS = ("insert", "delete", "update")


@dataclass(frozen=True)
class Counted:
    """Rows of `source` counted per value of its column `key`, in `counts` (`key`, `column`);
    `watched`: the columns whose change can change `key`."""

    name: str
    source: str
    key: str
    counts: str
    column: str
    watched: str

    def _names(self) -> tuple[str, str, str, str, str]:
        return self.name, self.source, self.key, self.counts, self.column

    def sqlite_triggers(self) -> dict[str, str]:
        name, source, key, counts, column = self._names()
        add = (
            f"INSERT INTO {counts} ({key}, {column}) SELECT new.{key}, 1 "
            f"WHERE new.{key} IS NOT NULL "
            f"ON CONFLICT ({key}) DO UPDATE SET {column} = {column} + 1;"
        )
        subtract = f"UPDATE {counts} SET {column} = {column} - 1 WHERE {key} = old.{key};"
        return {
            f"{name}_insert": f"""
                CREATE TRIGGER IF NOT EXISTS {name}_insert AFTER INSERT ON {source}
                WHEN new.{key} IS NOT NULL BEGIN {add} END""",
            f"{name}_delete": f"""
                CREATE TRIGGER IF NOT EXISTS {name}_delete AFTER DELETE ON {source}
                WHEN old.{key} IS NOT NULL BEGIN {subtract} END""",
            f"{name}_update": f"""
                CREATE TRIGGER IF NOT EXISTS {name}_update
                AFTER UPDATE OF {self.watched} ON {source}
                WHEN old.{key} IS NOT new.{key} BEGIN {subtract} {add} END""",
        }

    def postgresql(self) -> list[str]:
        """Once per statement, from its transition tables: a row-level trigger updating the
        same count row for each of 20,000 images loaded in one transaction took 3.4 s where
        the load alone took 0.9 s (every update of that row makes a version the next one
        walks past)."""
        name, source, key, counts, column = self._names()

        def add(rows: str, changed: str = "") -> str:
            return (
                f"INSERT INTO {counts} ({key}, {column}) SELECT n.{key}, COUNT(*) FROM {rows} "
                f"WHERE {changed}n.{key} IS NOT NULL GROUP BY n.{key} ON CONFLICT ({key}) "
                f"DO UPDATE SET {column} = {counts}.{column} + EXCLUDED.{column};"
            )

        def subtract(rows: str, changed: str = "") -> str:
            return (
                f"UPDATE {counts} SET {column} = {counts}.{column} - gone.n "
                f"FROM (SELECT o.{key}, COUNT(*) AS n FROM {rows} "
                f"WHERE {changed}o.{key} IS NOT NULL GROUP BY o.{key}) AS gone "
                f"WHERE {counts}.{key} = gone.{key};"
            )

        # Only the rows whose key changed: most updates are of states and dates.
        both = "old_rows o JOIN new_rows n ON n.id = o.id"
        changed = f"o.{key} IS DISTINCT FROM n.{key} AND "
        bodies = {
            "insert": add("new_rows n"),
            "delete": subtract("old_rows o"),
            "update": subtract(both, changed) + " " + add(both, changed),
        }
        tables = {
            "insert": "NEW TABLE AS new_rows",
            "delete": "OLD TABLE AS old_rows",
            "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        }
        statements = []
        for op in _OPS:
            statements.append(
                f"CREATE FUNCTION api_{name}_{op}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {bodies[op]} RETURN NULL; END $$"
            )
        for op in _OPS:
            statements.append(
                f"CREATE TRIGGER {name}_{op} AFTER {op.upper()} ON {source} "
                f"REFERENCING {tables[op]} FOR EACH STATEMENT EXECUTE FUNCTION api_{name}_{op}()"
            )
        return statements

    def recount(self) -> list[str]:
        return [
            f"DELETE FROM {self.counts}",
            f"INSERT INTO {self.counts} ({self.key}, {self.column}) "
            f"SELECT {self.key}, COUNT(*) FROM {self.source} WHERE {self.key} IS NOT NULL "
            f"GROUP BY {self.key}",
        ]

    def create(self, apps, schema_editor) -> None:
        """Migration step: the triggers, and the counts of the rows already there."""
        if schema_editor.connection.vendor == "postgresql":
            statements = self.postgresql()
        else:
            statements = list(self.sqlite_triggers().values())
        for statement in [*statements, *self.recount()]:
            schema_editor.execute(statement)

    def drop(self, apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            statements = [
                *(f"DROP TRIGGER IF EXISTS {self.name}_{op} ON {self.source}" for op in _OPS),
                *(f"DROP FUNCTION IF EXISTS api_{self.name}_{op}()" for op in _OPS),
            ]
        else:
            statements = [f"DROP TRIGGER IF EXISTS {name}" for name in self.sqlite_triggers()]
        for statement in statements:
            schema_editor.execute(statement)

    def repair(self, cursor) -> None:
        triggers = self.sqlite_triggers()
        if sqlite_triggers_missing(cursor, self.counts, triggers, on=self.source):
            for statement in [*triggers.values(), *self.recount()]:
                cursor.execute(statement)


IMAGES = Counted(
    "image_count",
    "api_image",
    "reach",
    "api_imagecount",
    "images",
    watched="is_private_image, owner_id, team_id",
)
TAGS = Counted("tag_count", "api_tag", "image_id", "api_tagcount", "tags", watched="image_id")

# Migration 0016's steps (0019 uses TAGS.create and TAGS.drop).
create, drop = IMAGES.create, IMAGES.drop


def repair(using: str = "default", **kwargs) -> None:
    """After every `migrate`: put back the SQLite triggers a migration took away, and count
    again (Django's SQLite schema editor alters a table by copying it into a new one, and
    the old one's triggers go with it; see records.name_search.repair)."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for counted in (IMAGES, TAGS):
            counted.repair(cursor)
