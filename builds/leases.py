"""How a build ends: its outcome recorded once, and builds whose worker died failed (reaped)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts import mail, notices
from records.models import Build, Image, State, Tag, Tally
from webhooks import events as webhook_events

WORKER_STOPPED = (
    "The build worker stopped while this build was running (no sign of life for {seconds:.0f} "
    "seconds). Nothing was pushed; start the build again."
)
# The buckets of /metrics' build durations (tutumweb_build_duration_seconds), in seconds: from
# a small image's few seconds to BUILD_TIMEOUT's hour.
DURATION_BUCKETS = (5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600)


def finish(build: Build, state: str, *, error: str = "") -> bool:
    """Record the outcome and the tag's and image's new state; False if already finished."""
    now = timezone.now()
    with transaction.atomic():
        changed = Build.objects.filter(pk=build.pk, state__in=Build.ACTIVE).update(
            state=state, error=error, finished=now, heartbeat=now
        )
        if not changed:
            return False
        _count(build, state, now)
        if state == Build.State.CANCELLED:
            Tag.objects.filter(pk=build.tag_id).update(state=_state_before(build))
        else:
            tag_state = State.SUCCESS if state == Build.State.SUCCESS else State.FAILED
            Tag.objects.filter(pk=build.tag_id).update(state=tag_state, last_build_date=now)
    build.state, build.error, build.finished = state, error, now
    Image.objects.get(tags__pk=build.tag_id).refresh_state()
    # Read once for both messages: the caller's copy predates the clone that found the commit
    # and the push that set the digest.
    recorded = Build.objects.select_related(
        "tag__image__team", "tag__image__owner", "triggered_by"
    ).get(pk=build.pk)
    announce("build.succeeded" if state == Build.State.SUCCESS else "build.failed", recorded)
    _tell_who_started_it(recorded, state)
    return True


def announce(event: str, build: Build) -> None:
    """Tell the webhooks how a build goes (once per build and event); `build` as recorded
    now."""
    webhook_events.emit(
        event,
        build.tag.image,
        key=str(build.uuid),
        tag=build.tag.name,
        digest=build.digest,
        actor=build.triggered_by.get_username() if build.triggered_by else "",
        build=build,
    )


def _tell_who_started_it(build: Build, state: str) -> None:
    """Email the person who started the build when it failed, or when it succeeded after the
    tag's previous finished build failed. A build no person started (a team token's; a push
    to the branch of a team's image) has nobody to tell."""
    if build.triggered_by_id is None or state not in (Build.State.SUCCESS, Build.State.FAILED):
        return
    if state == Build.State.FAILED:
        kind = "build_failed"
    elif _previous_state(build) == Build.State.FAILED:
        kind = "build_fixed"
    else:
        return
    tag = build.tag
    context = {
        "image": tag.image.name,
        "tag": tag.name,
        "error": build.error,
        "commit": build.commit_sha[:12],
        # The tag's page shows its latest build's log.
        "link": mail.admin_link("images:tag", tag.image.name, tag.name) + "#build-log",
    }
    notices.notify(build.triggered_by, kind, kind, context)


def _previous_state(build: Build) -> str | None:
    """How the tag's build before this one ended (cancelled ones skipped), if there was one."""
    return (
        Build.objects.filter(
            tag_id=build.tag_id,
            state__in=[Build.State.SUCCESS, Build.State.FAILED],
            finished__lt=build.finished,
        )
        .exclude(pk=build.pk)
        .order_by("-finished", "-pk")
        .values_list("state", flat=True)
        .first()
    )


def _count(build: Build, state: str, now: dt.datetime) -> None:
    """Count the finished build for /metrics, once (only the update that ended it gets here),
    by its final state and how long it ran (0 if it never started). Its start is read again:
    the caller's copy may be from before a worker started it (a cancel)."""
    started = Build.objects.filter(pk=build.pk).values_list("started", flat=True).get()
    seconds = (now - started).total_seconds() if started else 0.0
    bucket = next((str(b) for b in DURATION_BUCKETS if seconds <= b), "+Inf")
    Tally.add(Tally.Name.BUILDS, label=state, bucket=bucket, amount=seconds)


def _state_before(build: Build) -> str:
    """The tag's state as if this (cancelled) build had never been asked for."""
    previous = (
        Build.objects.filter(
            tag_id=build.tag_id, state__in=[Build.State.SUCCESS, Build.State.FAILED]
        )
        .exclude(pk=build.pk)
        .values_list("state", flat=True)
        .first()
    )
    if previous:
        return State.SUCCESS if previous == Build.State.SUCCESS else State.FAILED
    has_layer = Tag.objects.filter(pk=build.tag_id, layer__isnull=False).exists()
    return State.SUCCESS if has_layer else State.EMPTY


def reap_stale_builds() -> int:
    """Fail builds whose worker stopped (kill -9, power loss); returns how many."""
    lease = settings.BUILD_LEASE
    cutoff = timezone.now() - dt.timedelta(seconds=lease)
    stale = Build.objects.filter(
        Q(state=Build.State.BUILDING, heartbeat__lt=cutoff)
        # Claimed by a worker that died before it could mark the build Building.
        | Q(state=Build.State.QUEUED, task_id__in=_abandoned_task_ids(cutoff))
    )
    reaped = 0
    for build in stale:
        reaped += finish(build, Build.State.FAILED, error=WORKER_STOPPED.format(seconds=lease))
    return reaped


def _abandoned_task_ids(cutoff):
    started_long_ago = Q(status="RUNNING", started_at__lt=cutoff)
    ended = Q(status__in=["FAILED", "SUCCESSFUL"])
    return DBTaskResult.objects.filter(started_long_ago | ended).values_list("id", flat=True)
