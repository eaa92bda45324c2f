"""Offset pages of the image list that cost what keyed pages cost when a client walks them.

python-tutum's `Image.list()` and the tutum CLI walk a list with `offset` and `limit`, never
`next`, and a page at offset k reads the k images before it. So each offset page served is
remembered in the database (records.ListWalk, so a walk goes on whichever API process
answers its next page) by where it ended: who asked, what they see, the list's filters and
order, the offset after its last image, and that image's name (not for a list filtered by
category, below). A request for that offset reads on after that image, as a keyed page
(`after=`) does, and answers as the offset page.

What is guaranteed: the answer is always exactly the offset page's at the time of the
request. The walk goes on from a remembered page only while the changes counters of every
reach the list reads (records.ImageCount.changes: they grow with every image added, deleted
or changed in what a list filters or orders by) read what they read just before that page
was read; otherwise the page is read by its offset, as without a walk, and remembered anew.
A walk during changes costs one plain offset page after each change, not a wrong page.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from api.core.pagination import window
from records.models import ImageCount, ListWalk, Team
from teams.access import TokenViewer, Viewer

# An image's categories are a table of their own, whose changes no counter follows (a
# trigger there naming the image table would break every SQLite migration that rebuilds it):
# a list filtered by category is read by its offset (such lists are short).
CATEGORIES = ("categories__name", "categories")
# Parameters that do not change which images a page holds.
_NOT_THE_LIST = {"limit", "offset", "tags"}
# Ends of pages remembered per list: a client reading a page again, or two walking one list.
_ENDS = 4
# A walk idle this long starts again from a plain offset page (housekeeping deletes it).
IDLE_SECONDS = 600


# The three statements a walk adds to a page are plain SQL, as api.images.queries' are: the
# ORM's compiling of them cost more than running them (1.5 ms a page on SQLite, 0.5x the
# baseline). The table names are the models' own.
_COUNTS, _WALKS = ImageCount._meta.db_table, ListWalk._meta.db_table
_KEY = connection.ops.quote_name("key")


def _counters(reaches: list[int] | None) -> list:
    """The changes counters of `reaches` (None: of every reach), as one value that compares
    equal to itself stored as JSON."""
    with connection.cursor() as cursor:
        if reaches is None:
            cursor.execute(f"SELECT COUNT(*), COALESCE(SUM(changes), 0) FROM {_COUNTS}")
            return [int(value) for value in cursor.fetchone()]
        marks = ", ".join(["%s"] * len(reaches))
        cursor.execute(
            f"SELECT reach, changes FROM {_COUNTS} WHERE reach IN ({marks}) ORDER BY reach",
            reaches,
        )
        return [[reach, changes] for reach, changes in cursor.fetchall()]


def _remembered_ends(key: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ends FROM {_WALKS} WHERE {_KEY} = %s AND until > %s",
            [key, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        row = cursor.fetchone()
    if row is None:
        return {}
    # PostgreSQL's driver reads jsonb as Python values; SQLite keeps the text.
    return json.loads(row[0]) if isinstance(row[0], str) else row[0]


def _remember_ends(key: str, ends: dict) -> None:
    until = timezone.now() + timedelta(seconds=IDLE_SECONDS)
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_WALKS} ({_KEY}, ends, until) VALUES (%s, %s{cast}, %s) "
            f"ON CONFLICT ({_KEY}) DO UPDATE SET ends = excluded.ends, until = excluded.until",
            [key, json.dumps(ends), connection.ops.adapt_datetimefield_value(until)],
        )


def _who(viewer: Viewer | TokenViewer) -> str:
    if isinstance(viewer, TokenViewer):
        return f"token:{viewer.team_id}"
    return f"person:{viewer.user_id}:{int(viewer.is_staff)}"


@dataclass
class Walk:
    """An offset page of a walk: `after` is the name the page goes on from (None: read it
    by its offset), `counters` what the reaches' counters read before its rows were read."""

    key: str
    offset: int
    guarded: list[int] | None
    after: str | None = None
    remembered: list | None = None
    counters: list | None = None
    ends: dict = field(default_factory=dict)

    def unchanged(self) -> bool:
        """Read after the page read on from `after`: whether the list is the one its page
        before ended in. (Read after the rows: a change that commits between the two reads
        shows here, so the rows are never trusted past one.)"""
        self.counters = _counters(self.guarded)
        return self.counters == self.remembered

    def before_reading(self) -> None:
        """Read the counters before the page is read by its offset: a change that commits
        between the two makes the remembered end older than the rows, never newer."""
        self.counters = _counters(self.guarded)

    def remember(self, images: list[dict], meta: dict) -> None:
        """Remember where this page ended, if a page follows it: one upsert."""
        if not images or not meta.get("next") or self.counters is None:
            return
        end = str(self.offset + len(images))
        ends = {k: v for k, v in self.ends.items() if k != end}
        ends[end] = [images[-1]["name"], self.counters]
        # The most recent _ENDS, newest last.
        _remember_ends(self.key, dict(list(ends.items())[-_ENDS:]))


def walk(request, viewer: Viewer | TokenViewer, reaches: list[int] | None) -> Walk | None:
    """The walk a request for an offset page is part of; None when it asks for a page
    from a name (after/before) or at offset 0 (the admin's pages, and python-tutum's first,
    which has no offset: the second page is read by its offset and remembered)."""
    params = request.query_params
    _, offset = window(request)
    if offset == 0 or params.get("after") or params.get("before"):
        return None
    if any(params.getlist(name) for name in CATEGORIES):
        return None
    guarded = reaches if reaches is not None else viewer.reaches
    listing = sorted(
        (name, value)
        for name, values in params.lists()
        if name not in _NOT_THE_LIST
        for value in values
    )
    team = params.get("team")
    # The team's name stands for its id: a team renamed and another given its name is
    # another list.
    team_id = list(Team.objects.filter(name=team).values_list("pk", flat=True)) if team else None
    identity = repr((_who(viewer), guarded, listing, team_id))
    key = hashlib.sha256(identity.encode()).hexdigest()
    ends = _remembered_ends(key)
    found = Walk(key, offset, guarded, ends=ends)
    if str(offset) in ends:
        found.after, found.remembered = ends[str(offset)]
    return found
