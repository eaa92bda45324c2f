"""SQLite triggers (on `api_image`, `api_tag`) that a later migration may have taken away.

Django's SQLite schema editor alters most columns by copying a table into a new one and
dropping the old one, and the old one's triggers go with it. records.counting and
records.name_search keep things in step with triggers, and put them back after `migrate`.
"""

from __future__ import annotations

from collections.abc import Iterable


def sqlite_triggers_missing(
    cursor, table: str, triggers: Iterable[str], *, on: str = "api_image"
) -> bool:
    """Whether `table` (what the triggers write to) exists and one of `triggers` on the
    table `on` is gone. False before the migration that makes them, or after going back."""
    cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = %s", [table])
    if cursor.fetchone() is None:
        return False
    cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [on])
    present = {name for (name,) in cursor.fetchall()}
    return not present >= set(triggers)
