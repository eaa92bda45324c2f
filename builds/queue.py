"""Queueing builds: the rules behind `POST .../build/`, cancelling, and where a build stands."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from builds.leases import finish, reap_stale_builds
from builds.tasks import run_build
from lib.errors import Conflict, Invalid
from records.models import Build, BuildSetting, Image, State, Tag, Worker


class NoBuildSetting(Invalid):
    """The image has no build setting for the tag asked for."""


def build_setting_for(image: Image, tag: str) -> BuildSetting | None:
    return (
        BuildSetting.objects.filter(build_source__image=image, tag=tag)
        .select_related("build_source")
        .first()
    )


def start_build(image: Image, tag_name: str, *, user=None, trigger=Build.Trigger.API) -> Build:
    """Queue a build of `tag_name`; 400 without a build setting, 409 while one is active."""
    setting = build_setting_for(image, tag_name)
    if setting is None:
        raise NoBuildSetting(
            {
                "tag": [
                    f"{image.name} has no build setting for tag `{tag_name}`. Add one (tag, "
                    "branch, Dockerfile path) to the image's build source first."
                ]
            }
        )
    reap_stale_builds()
    tag, _ = Tag.objects.get_or_create(image=image, name=tag_name)

    try:
        with transaction.atomic():
            build = Build.objects.create(
                tag=tag,
                trigger=trigger,
                triggered_by=user,
                clone_url=setting.build_source.clone_url,
                branch=setting.branch,
                dockerfile=setting.dockerfile,
            )
            # Enqueued in the same transaction: the worker never sees a half-made build.
            result = run_build.enqueue(build.pk)
            build.task_id = result.id
            build.save(update_fields=["task_id"])
            Tag.objects.filter(pk=tag.pk).update(state=State.BUILDING)
    except IntegrityError as error:
        active = Build.objects.filter(tag=tag, state__in=Build.ACTIVE).first()
        since = f" ({active.state.lower()} since {_clock(active)})" if active else ""
        raise Conflict(
            f"{tag.full_name} is already building{since}. Only one build per tag runs at a "
            "time; wait for it to finish and build again."
        ) from error
    image.refresh_state()
    return build


def _clock(build: Build) -> str:
    moment = build.started or build.created
    return moment.strftime("%H:%M:%S UTC")


def cancel(build: Build, user) -> None:
    """Stop a queued or running build; its worker notices within a second and stops too."""
    if not finish(build, Build.State.CANCELLED, error=f"Cancelled by {user.get_username()}."):
        raise Conflict(
            f"This build has already finished ({build.state}); there is nothing to stop."
        )


def queue_position(build: Build) -> int | None:
    """How many queued builds are ahead of this one (None once it has started)."""
    if build.state != Build.State.QUEUED:
        return None
    return Build.objects.filter(state=Build.State.QUEUED, created__lt=build.created).count()


def workers_online() -> int:
    cutoff = timezone.now() - dt.timedelta(seconds=max(settings.BUILD_HEARTBEAT * 3, 15))
    return Worker.objects.filter(seen__gte=cutoff).count()


def log_slice(build: Build, offset: int, limit: int = 256 * 1024) -> str:
    """The log from character `offset`, read in the database, so long logs stay cheap."""
    from django.db.models.functions import Substr

    row = (
        Build.objects.filter(pk=build.pk)
        .annotate(part=Substr("log", offset + 1, limit))
        .values_list("part", flat=True)
        .first()
    )
    return row or ""
