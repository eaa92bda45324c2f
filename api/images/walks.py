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
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Sum
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


def _counters(reaches: list[int] | None) -> list:
    """The changes counters of `reaches` (None: of every reach), as one value that compares
    equal to itself stored as JSON."""
    if reaches is None:
        totals = ImageCount.objects.aggregate(rows=Count("reach"), changes=Sum("changes"))
        return [totals["rows"], totals["changes"] or 0]
    rows = ImageCount.objects.filter(reach__in=reaches).values_list("reach", "changes")
    return [list(row) for row in sorted(rows)]


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
        ends = dict(list(ends.items())[-_ENDS:])
        until = timezone.now() + timedelta(seconds=IDLE_SECONDS)
        ListWalk.objects.bulk_create(
            [ListWalk(key=self.key, ends=ends, until=until)],
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=["ends", "until"],
        )


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
    remembered = ListWalk.objects.filter(key=key, until__gt=timezone.now())
    ends = next(iter(remembered.values_list("ends", flat=True)), None) or {}
    found = Walk(key, offset, guarded, ends=ends)
    if str(offset) in ends:
        found.after, found.remembered = ends[str(offset)]
    return found
