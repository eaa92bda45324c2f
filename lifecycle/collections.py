"""Garbage collections as staff see and ask for them (the API's /api/v1/collection/): their
history, the one under way, and asking for one now.

Asking makes the run's record at once, Queued, and queues its task (lifecycle.tasks, queue
"storage"); a worker that takes it runs the collection on that record (lifecycle.collect).

A record says "running" from its run's start to its end; a run whose process died leaves it so
until the next run starts (lifecycle.collect ends it then). Only a run holding the collection
lock (registry.locks.collecting) is really running, so that is what is asked before a record
"running" is believed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Q, QuerySet

from lib.errors import Conflict
from lifecycle import collect
from lifecycle.tasks import collect_storage
from records.models import Collection
from registry.locks import CollectionRunning, collecting

STOPPED = (
    "It stopped before its end: the process running it ended. Nothing a tag uses was "
    "deleted; the next run finishes its work."
)


@dataclass(frozen=True)
class UnderWay:
    """What is going on now: the run in progress, and a collection waiting for a worker."""

    running: Collection | None
    queued: Collection | None

    @property
    def busy(self) -> bool:
        return self.running is not None or self.queued is not None


def under_way() -> UnderWay:
    queued = Collection.objects.filter(state=Collection.State.QUEUED).order_by("started").first()
    return UnderWay(_running(), queued)


def _running() -> Collection | None:
    run = collect.running()
    return run if run is not None and _lock_held() else None


def _lock_held() -> bool:
    """Whether a run holds the collection lock. Asked only when a record says one runs: taking
    the lock for this moment could make a run starting at the same instant give up."""
    try:
        with collecting():
            return False
    except CollectionRunning:
        return True


def history(now: UnderWay, state: str = "") -> QuerySet[Collection]:
    """The runs, newest first; `state` (a Collection.State value) keeps one kind. A record left
    "running" by a run whose process died counts as failed (see as_known)."""
    runs = Collection.objects.all()
    live = Q(pk=now.running.pk) if now.running else Q(pk__in=[])
    stopped = Q(state=Collection.State.RUNNING) & ~live
    if state == Collection.State.RUNNING:
        return runs.filter(live)
    if state == Collection.State.FAILED:
        return runs.filter(Q(state=Collection.State.FAILED) | stopped)
    if state:
        return runs.filter(state=state)
    return runs


def as_known(runs: list[Collection], now: UnderWay) -> list[Collection]:
    """`runs` as they are: a record still "running" whose run is not the one going on is shown
    failed, as the next run will record it (the records themselves are left alone)."""
    for run in runs:
        if run.state == Collection.State.RUNNING and (now.running is None or run != now.running):
            run.state, run.error = Collection.State.FAILED, STOPPED
    return runs


def ask(username: str) -> Collection:
    """Queue a collection for `username`: its record, Queued. Conflict while one runs or waits.

    Two staff asking at the same instant may both be queued: the second run then finds the
    first under way and leaves it the work (lifecycle.tasks), or runs right after it."""
    now = under_way()
    if now.running is not None:
        run = now.running
        raise Conflict(
            f"A garbage collection is already running (since {_clock(run.started)}, "
            f"{_started_by(run.trigger)}). Pushes go on as usual; what it frees is listed "
            "when it ends."
        )
    if now.queued is not None:
        raise Conflict(
            f"A garbage collection asked for by {now.queued.trigger or 'someone'} at "
            f"{_clock(now.queued.started)} is waiting for a worker to start it; it will do the "
            "same work, so there is no need for another."
        )
    run = Collection.objects.create(trigger=username, state=Collection.State.QUEUED)
    collect_storage.enqueue(run.pk)
    return run


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M:%S UTC")


def _started_by(trigger: str) -> str:
    if trigger == "schedule":
        return "started by housekeeping on its schedule"
    if trigger == "after a purge":
        return "started by housekeeping after purging the recycle bin"
    return f"started by {trigger}"
