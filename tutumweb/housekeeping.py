"""Deleting what has expired, so the database and the registry's storage stay the size of
what is in use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts import invitations
from accounts import sessions as admin_sessions
from audit import trail
from lifecycle import bin as recycle_bin
from lifecycle.collect import CollectFailed, collect
from records.models import Collection, ListWalk, Maintenance
from registry import writers
from registry.locks import CollectionRunning, StorageHeld
from teams import invitations as team_invitations
from webhooks import delivery as webhook_delivery

# Builds keep their own record (api.models.Build); the queue's copy of a finished build task
# is only kept a while, to look into a problem.
TASK_RESULT_DAYS = 7


@dataclass
class Swept:
    sessions: int
    sign_in_failures: int
    task_results: int
    admin_sign_ins: int = 0
    invitations: int = 0
    audit_events: int = 0
    list_walks: int = 0
    write_tokens: int = 0
    webhook_deliveries: int = 0
    webhook_deliveries_resumed: int = 0


def sweep() -> Swept:
    """Delete expired sessions (both session engines keep them in the database), sign-in
        failures older than the lockout (they no longer count), old finished build tasks, the
        web admin's expired sign-in credentials, invitations used or expired a month ago,
    audit events older than AUDIT_DAYS, idle walks of offset pages, and the registry's write
    tokens expired a day ago; webhook deliveries older than WEBHOOK_LOG_DAYS go, and those a
    stopped worker left due are queued again."""
    now = timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    failures, _ = AccessAttempt.objects.filter(
        attempt_time__lt=now - settings.AXES_COOLOFF_TIME
    ).delete()
    tasks, _ = (
        DBTaskResult.objects.finished()
        .filter(finished_at__lt=now - timedelta(days=TASK_RESULT_DAYS))
        .delete()
    )
    return Swept(
        sessions,
        failures,
        tasks,
        admin_sessions.delete_expired(),
        invitations.delete_stale() + team_invitations.delete_stale(),
        trail.prune(),
        # Walks of offset pages idle past their time (api.images.walks): started again.
        ListWalk.objects.filter(until__lt=now).delete()[0],
        writers.prune(now),
        webhook_delivery.prune(now),
        webhook_delivery.resume_lost(now),
    )


@dataclass
class Reclaimed:
    purged: recycle_bin.Purged
    collected: Collection | None = None
    skipped: str = ""  # why no garbage collection ran


def _collection_due(purged: recycle_bin.Purged) -> bool:
    if purged.entries or purged.orphans:
        return True
    if not settings.GC_EVERY_HOURS:
        return False
    last = Maintenance.objects.filter(pk=1).values_list("last_collected", flat=True).first()
    return last is None or timezone.now() - last >= timedelta(hours=settings.GC_EVERY_HOURS)


def reclaim(now: datetime | None = None) -> Reclaimed:
    """Purge what has been in the recycle bin longer than RECYCLE_DAYS (`now`: a test's
    clock), then collect the registry's garbage if that purged anything or GC_EVERY_HOURS
    have passed: a purge alone frees no byte."""
    reclaimed = Reclaimed(recycle_bin.purge_expired(now))
    if not _collection_due(reclaimed.purged):
        reclaimed.skipped = "not due"
    elif not settings.REGISTRY_CONFIG.exists():
        reclaimed.skipped = f"no registry config at {settings.REGISTRY_CONFIG}"
    else:
        try:
            trigger = "after a purge" if reclaimed.purged.entries else "schedule"
            reclaimed.collected = collect(trigger)
        except (CollectionRunning, StorageHeld, CollectFailed, OSError) as error:
            # The next round tries again; a purged blob only waits longer to be freed.
            reclaimed.skipped = str(error)
    return reclaimed
