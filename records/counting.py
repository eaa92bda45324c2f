"""How many images each reach has (records.ImageCount), kept by the database itself.

Triggers on `api_image` add and subtract on every insert, delete and change of visibility or
namespace, so no way of writing images (save, bulk_create, update, cascades, raw SQL) leaves
the counts behind, and the image list's total_count reads a few rows (api/listing.py).
"""

from __future__ import annotations

from django.db import connections

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
_POSTGRESQL = [
    """CREATE FUNCTION api_image_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.reach IS NOT NULL THEN
            UPDATE api_imagecount SET images = images - 1 WHERE reach = OLD.reach;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.reach IS NOT NULL THEN
            INSERT INTO api_imagecount (reach, images) VALUES (NEW.reach, 1)
            ON CONFLICT (reach) DO UPDATE SET images = api_imagecount.images + 1;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER image_count AFTER INSERT OR DELETE ON api_image
    FOR EACH ROW EXECUTE FUNCTION api_image_count()""",
    """CREATE TRIGGER image_count_update AFTER UPDATE OF is_private_image, owner_id, team_id
    ON api_image FOR EACH ROW WHEN (OLD.reach IS DISTINCT FROM NEW.reach)
    EXECUTE FUNCTION api_image_count()""",
]
_POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS image_count ON api_image",
    "DROP TRIGGER IF EXISTS image_count_update ON api_image",
    "DROP FUNCTION IF EXISTS api_image_count()",
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
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'api_imagecount'"
        )
        if cursor.fetchone() is None:
            return  # migrated back before the counts, or not yet
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'api_image'"
        )
        present = {name for (name,) in cursor.fetchall()}
        if present >= _SQLITE_TRIGGERS.keys():
            return
        for statement in [*_SQLITE_TRIGGERS.values(), *_RECOUNT]:
            cursor.execute(statement)
