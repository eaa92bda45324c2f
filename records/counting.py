"""Counts the database keeps itself: images per reach (records.ImageCount) and tags per
image (records.TagCount), each with a counter of changes.

Triggers add and subtract on every insert, delete and change of the counted key (an image's
visibility or namespace, a tag's image), so no way of writing rows (save, bulk_create,
update, cascades, raw SQL) leaves the counts behind, and a list's total_count reads a row or
a few (api/core/listing.py, api.images.views tag_list).

The same triggers add one to the key's `changes` whenever one of its rows is added, deleted
or changes a column a list is filtered or ordered by: a counter that only grows, so that
what is worked out from a reach's images or an image's tags can be kept and trusted while
its counter reads the same (api.images.walks, api.images.kept). Migration 0021 added it;
0016 and 0019 made the counts alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.db import connections

from records.triggers import sqlite_triggers_missing

_OPS = ("insert", "delete", "update")


@dataclass(frozen=True)
class Counted:
    """Rows of `source` counted per value of its column `key`, in `counts` (`key`, `column`);
    `watched`: the columns whose change can change `key`. `changes`: the column of `counts`
    that counts changes (None: counts only, as migrations 0016 and 0019 made them), and
    `changing`: the columns whose change to a row is a change of its key's rows."""

    name: str
    source: str
    key: str
    counts: str
    column: str
    watched: str
    changes: str | None = None
    changing: tuple[str, ...] = ()

    def _names(self) -> tuple[str, str, str, str, str]:
        return self.name, self.source, self.key, self.counts, self.column

    def _changed(self, old: str, new: str, differs: str = "IS DISTINCT FROM") -> str:
        """SQL: one of the `changing` columns differs between rows `old` and `new`
        (`differs`: SQLite's own spelling is IS NOT)."""
        return " OR ".join(f"{old}.{c} {differs} {new}.{c}" for c in self.changing)

    def sqlite_triggers(self) -> dict[str, str]:
        name, source, key, counts, column = self._names()
        changes = self.changes
        if changes is None:
            add = (
                f"INSERT INTO {counts} ({key}, {column}) SELECT new.{key}, 1 "
                f"WHERE new.{key} IS NOT NULL "
                f"ON CONFLICT ({key}) DO UPDATE SET {column} = {column} + 1;"
            )
            subtract = f"UPDATE {counts} SET {column} = {column} - 1 WHERE {key} = old.{key};"
        else:
            add = (
                f"INSERT INTO {counts} ({key}, {column}, {changes}) SELECT new.{key}, 1, 1 "
                f"WHERE new.{key} IS NOT NULL ON CONFLICT ({key}) "
                f"DO UPDATE SET {column} = {column} + 1, {changes} = {changes} + 1;"
            )
            subtract = (
                f"UPDATE {counts} SET {column} = {column} - 1, {changes} = {changes} + 1 "
                f"WHERE {key} = old.{key};"
            )
        triggers = {
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
        if changes is not None:
            # A row that keeps its key: its key's rows changed (a moved row is counted above).
            changed = self._changed("old", "new", differs="IS NOT")
            triggers[f"{name}_change"] = f"""
                CREATE TRIGGER IF NOT EXISTS {name}_change
                AFTER UPDATE OF {", ".join(self.changing)} ON {source}
                WHEN old.{key} IS new.{key} AND new.{key} IS NOT NULL AND ({changed})
                BEGIN UPDATE {counts} SET {changes} = {changes} + 1 WHERE {key} = new.{key}; END"""
        return triggers

    def postgresql(self) -> list[str]:
        """Once per statement, from its transition tables: a row-level trigger updating the
        same count row for each of 20,000 images loaded in one transaction took 3.4 s where
        the load alone took 0.9 s (every update of that row makes a version the next one
        walks past)."""
        name, source, key, counts, column = self._names()
        changes = self.changes
        # Each statement that touches a key's rows counts one change of them.
        bump = f", {changes} = {counts}.{changes} + 1" if changes else ""

        def add(rows: str, changed: str = "") -> str:
            columns, values = (f", {changes}", ", 1") if changes else ("", "")
            return (
                f"INSERT INTO {counts} ({key}, {column}{columns}) "
                f"SELECT n.{key}, COUNT(*){values} FROM {rows} "
                f"WHERE {changed}n.{key} IS NOT NULL GROUP BY n.{key} ON CONFLICT ({key}) "
                f"DO UPDATE SET {column} = {counts}.{column} + EXCLUDED.{column}{bump};"
            )

        def subtract(rows: str, changed: str = "") -> str:
            return (
                f"UPDATE {counts} SET {column} = {counts}.{column} - gone.n{bump} "
                f"FROM (SELECT o.{key}, COUNT(*) AS n FROM {rows} "
                f"WHERE {changed}o.{key} IS NOT NULL GROUP BY o.{key}) AS gone "
                f"WHERE {counts}.{key} = gone.{key};"
            )

        # Only the rows whose key changed: most updates are of states and dates.
        both = "old_rows o JOIN new_rows n ON n.id = o.id"
        moved = f"o.{key} IS DISTINCT FROM n.{key} AND "
        update = subtract(both, moved) + " " + add(both, moved)
        if changes:
            update += (
                f" UPDATE {counts} SET {changes} = {counts}.{changes} + 1 "
                f"FROM (SELECT DISTINCT n.{key} FROM {both} WHERE o.{key} = n.{key} "
                f"AND ({self._changed('o', 'n')})) AS kept WHERE {counts}.{key} = kept.{key};"
            )
        bodies = {"insert": add("new_rows n"), "delete": subtract("old_rows o"), "update": update}
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
        if self.changes is None:
            return [
                f"DELETE FROM {self.counts}",
                f"INSERT INTO {self.counts} ({self.key}, {self.column}) "
                f"SELECT {self.key}, COUNT(*) FROM {self.source} WHERE {self.key} IS NOT NULL "
                f"GROUP BY {self.key}",
            ]
        # Counted again, every key changed: the changes counters never go back, or something
        # kept from before a recount could pass for what is there after it.
        return [
            f"UPDATE {self.counts} SET {self.column} = 0, {self.changes} = {self.changes} + 1",
            f"INSERT INTO {self.counts} ({self.key}, {self.column}, {self.changes}) "
            f"SELECT {self.key}, COUNT(*), 1 FROM {self.source} WHERE {self.key} IS NOT NULL "
            f"GROUP BY {self.key} ON CONFLICT ({self.key}) "
            f"DO UPDATE SET {self.column} = EXCLUDED.{self.column}",
        ]

    def compare_with_recount(self, cursor) -> tuple[int, int]:
        """(keys that have rows, keys whose kept count is not the count of their rows): what
        a recount would change, without changing it. A kept count whose rows are all gone
        must read 0 (the full join finds it)."""
        key, counts, column = self.key, self.counts, self.column
        cursor.execute(
            f"SELECT COUNT(counted.{key}), "
            f"COUNT(*) FILTER (WHERE COALESCE(kept.{column}, 0) <> COALESCE(counted.n, 0)) "
            f"FROM (SELECT {key}, COUNT(*) AS n FROM {self.source} WHERE {key} IS NOT NULL "
            f"GROUP BY {key}) AS counted FULL JOIN {counts} AS kept ON kept.{key} = counted.{key}"
        )
        keys, differing = cursor.fetchone()
        return keys, differing

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


# What migrations 0016 and 0019 made: the counts alone.
IMAGES_COUNTED = Counted(
    "image_count",
    "api_image",
    "reach",
    "api_imagecount",
    "images",
    watched="is_private_image, owner_id, team_id",
)
TAGS_COUNTED = Counted(
    "tag_count", "api_tag", "image_id", "api_tagcount", "tags", watched="image_id"
)
# Since 0021, with their changes: what the image list is filtered and ordered by
# (api/images/filters.py), and what an image's tag URIs and storage are made of.
IMAGES = replace(
    IMAGES_COUNTED,
    changes="changes",
    changing=(
        "name",
        "state",
        "jumpstart",
        "is_private_image",
        "owner_id",
        "team_id",
        "registry_id",
        "last_build_date",
    ),
)
TAGS = replace(TAGS_COUNTED, changes="changes", changing=("name", "layer_id"))


def _has_column(cursor, table: str, column: str) -> bool:
    cursor.execute(f"SELECT 1 FROM pragma_table_info('{table}') WHERE name = %s", [column])
    return cursor.fetchone() is not None


def repair(using: str = "default", **kwargs) -> None:
    """After every `migrate`: put back the SQLite triggers a migration took away, and count
    again (Django's SQLite schema editor alters a table by copying it into a new one, and
    the old one's triggers go with it; see records.name_search.repair). The triggers of the
    migration the database is at: the changes counters came with 0021."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        if _has_column(cursor, "api_imagecount", "changes"):
            counted = (IMAGES, TAGS)
        else:
            counted = (IMAGES_COUNTED, TAGS_COUNTED)
        for each in counted:
            each.repair(cursor)
