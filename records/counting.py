"""How many images each reach has (records.ImageCount), kept by the database itself.

Triggers on `api_image` add and subtract on every insert, delete and change of visibility or
namespace, so no way of writing images (save, bulk_create, update, cascades, raw SQL) leaves
the counts behind, and the image list's total_count reads a few rows (api/listing.py).
"""

from __future__ import annotations

from django.db import connections

from records.triggers import sqlite_triggers_missing

_OPS = ("insert", "delete", "update")
_SQLITE_TRIGGERS = {
    "image_count_insert": """
        CREATE TRIGGER IF NOT EXISTS image_count_insert AFTER INSERT ON api_image
        WHEN new.reach IS NOT NULL BEGIN
            INSERT INTO api_imagecount (reach, images) VALUES (new.reach, 1)
            ON CONFLICT (reach) DO UPDATE SET images = images + 1;
        END""",
    "image_count_delete": """
        CREATE TRIGGER IF NOT EXISTS image_count_delete AFTER DELETE ON api_image
        WHEN old.reach IS NOT NULL BEGIN
            UPDATE api_imagecount SET images = images - 1 WHERE reach = old.reach;
        END""",
    "image_count_update": """
        CREATE TRIGGER IF NOT EXISTS image_count_update
        AFTER UPDATE OF is_private_image, owner_id, team_id ON api_image
        WHEN old.reach IS NOT new.reach BEGIN
            UPDATE api_imagecount SET images = images - 1 WHERE reach = old.reach;
            INSERT INTO api_imagecount (reach, images) SELECT new.reach, 1
            WHERE new.reach IS NOT NULL
            ON CONFLICT (reach) DO UPDATE SET images = images + 1;
        END""",
}
# On PostgreSQL once per statement, from its transition tables: a row-level trigger updating
# the same count row for each of 20,000 images loaded in one transaction took 3.4 s where the
# load alone took 0.9 s (every update of that row makes a version the next one walks past).
_POSTGRESQL = [
    """CREATE FUNCTION api_image_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO api_imagecount (reach, images)
        SELECT reach, COUNT(*) FROM new_rows WHERE reach IS NOT NULL GROUP BY reach
        ON CONFLICT (reach) DO UPDATE SET images = api_imagecount.images + EXCLUDED.images;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION api_image_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE api_imagecount SET images = api_imagecount.images - gone.n
        FROM (SELECT reach, COUNT(*) AS n FROM old_rows WHERE reach IS NOT NULL
              GROUP BY reach) AS gone
        WHERE api_imagecount.reach = gone.reach;
        RETURN NULL;
    END $$""",
    # Only the rows whose reach changed: most updates are of states and build dates.
    """CREATE FUNCTION api_image_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE api_imagecount SET images = api_imagecount.images - moved.n
        FROM (SELECT o.reach, COUNT(*) AS n FROM old_rows o JOIN new_rows n ON n.id = o.id
              WHERE o.reach IS DISTINCT FROM n.reach AND o.reach IS NOT NULL
              GROUP BY o.reach) AS moved
        WHERE api_imagecount.reach = moved.reach;
        INSERT INTO api_imagecount (reach, images)
        SELECT n.reach, COUNT(*) FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE o.reach IS DISTINCT FROM n.reach AND n.reach IS NOT NULL GROUP BY n.reach
        ON CONFLICT (reach) DO UPDATE SET images = api_imagecount.images + EXCLUDED.images;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER image_count_insert AFTER INSERT ON api_image
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION api_image_count_insert()""",
    """CREATE TRIGGER image_count_delete AFTER DELETE ON api_image
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION api_image_count_delete()""",
    """CREATE TRIGGER image_count_update AFTER UPDATE ON api_image
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION api_image_count_update()""",
]
_POSTGRESQL_DROP = [
    *(f"DROP TRIGGER IF EXISTS image_count_{op} ON api_image" for op in _OPS),
    *(f"DROP FUNCTION IF EXISTS api_image_count_{op}()" for op in _OPS),
]
_RECOUNT = [
    "DELETE FROM api_imagecount",
    """INSERT INTO api_imagecount (reach, images)
    SELECT reach, COUNT(*) FROM api_image WHERE reach IS NOT NULL GROUP BY reach""",
]


def create(apps, schema_editor) -> None:
    """Migration step: the triggers, and the counts of the images already there."""
    if schema_editor.connection.vendor == "postgresql":
        statements = _POSTGRESQL
    else:
        statements = list(_SQLITE_TRIGGERS.values())
    for statement in [*statements, *_RECOUNT]:
        schema_editor.execute(statement)


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        statements = _POSTGRESQL_DROP
    else:
        statements = [f"DROP TRIGGER IF EXISTS {name}" for name in _SQLITE_TRIGGERS]
    for statement in statements:
        schema_editor.execute(statement)


def repair(using: str = "default", **kwargs) -> None:
    """After every `migrate`: put back the SQLite triggers a migration took away, and count
    again (Django's SQLite schema editor alters a table by copying it into a new one, and
    the old one's triggers go with it; see records.name_search.repair)."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        if sqlite_triggers_missing(cursor, "api_imagecount", _SQLITE_TRIGGERS):
            for statement in [*_SQLITE_TRIGGERS.values(), *_RECOUNT]:
                cursor.execute(statement)
