"""Garbage collections as staff see and ask for them (the API's /api/v1/collection/): their
history, the one under way, and asking for one now.

A collection asked for runs in a worker (lifecycle.tasks, queue "storage"); its record
(records.Collection) is made by lifecycle.collect when the run starts. Until a worker takes it
the request is only a task in the queue: *queued*, with no record yet.

A record says "running" from its run's start to its end; a run whose process died leaves it so
until the next run starts (lifecycle.collect ends it then). Only a run holding the collection
lock (registry.locks.collecting) is really running, so that is what is asked before a record
"running" is believed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from lib.errors import Conflict
from lifecycle import collect
from lifecycle.tasks import collect_storage
from records.models import Collection
from registry.locks import CollectionRunning, collecting

# A worker that took the task makes the run's record at once (it opens the storage and takes
# two locks); a task taken longer ago than this without a record lost its worker.
TAKEN_GRACE = timedelta(minutes=1)
STOPPED = (
    "It stopped before its end: the process running it ended. Nothing a tag uses was "
    "deleted; the next run finishes its work."
)


@dataclass(frozen=True)
class Queued:
    """A collection asked for that no worker has started yet."""

    trigger: str
    asked: datetime


@dataclass(frozen=True)
class UnderWay:
    """What is going on now: the run in progress, and a collection waiting for a worker."""

    running: Collection | None
    queued: Queued | None

    @property
    def busy(self) -> bool:
        return self.running is not None or self.queued is not None


def under_way() -> UnderWay:
    return UnderWay(_running(), _queued())


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


def _queued() -> Queued | None:
    now = timezone.now()
    asked = DBTaskResult.objects.filter(
        queue_name="storage",
        task_path=collect_storage.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
    ).order_by("enqueued_at")
    for task in asked:
        waiting = task.status == TaskResultStatus.READY or (
            task.started_at is not None
            and task.started_at > now - TAKEN_GRACE
            and not Collection.objects.filter(started__gte=task.started_at).exists()
        )
        if waiting:
            trigger = task.args_kwargs.get("kwargs", {}).get("trigger", "")
            return Queued(trigger=trigger, asked=task.enqueued_at)
    return None


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


def ask(username: str) -> Queued:
    """Queue a collection for `username`. Conflict while one runs or waits for a worker.

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
            f"{_clock(now.queued.asked)} is waiting for a worker to start it; it will do the "
            "same work, so there is no need for another."
        )
    result = collect_storage.enqueue(trigger=username)
    return Queued(trigger=username, asked=result.enqueued_at or timezone.now())


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M:%S UTC")


def _started_by(trigger: str) -> str:
    if trigger == "schedule":
        return "started by housekeeping on its schedule"
    if trigger == "after a purge":
        return "started by housekeeping after purging the recycle bin"
    return f"started by {trigger}"
