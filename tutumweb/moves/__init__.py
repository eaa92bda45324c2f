"""Moving a one-machine installation (`make run`: SQLite, the registry's storage in DATA_DIR)
onto the several-machine layout (PostgreSQL, S3-compatible storage), in two commands that
copy and never delete: `manage.py move_database TARGET_DATABASE_URL` (`database`) and
`manage.py move_storage [TARGET_STORAGE_URL]` (`storage`).

Both leave the source as it was, so going back is starting the old installation again; both
check what they copied before they say it is done. The procedure around them (backup, stop,
environment, setup_instance, start) is in docs/operations.md, "Moving to several machines".
"""

from __future__ import annotations


class MoveError(Exception):
    """The move cannot be made, or was refused; the message says why and what to do."""
