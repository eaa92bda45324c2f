"""Our registry's maintenance window: while garbage collection runs, nothing may write to the
registry (a blob pushed during the collection's mark and sweep could be swept from under the
manifest that needs it), so pushes and the API's own registry changes are refused with a
plain "try again in a minute".

Who can write is who holds a push token, so the window is kept at the token server:

- every token granting push or delete records its expiry in the one Maintenance row, in the
  same UPDATE that checks no window is on (`note_write_token`); a token is therefore either
  issued before the window began, and counted, or refused;
- `window()` sets `started`, then waits until every write token counted has expired (plus the
  leeway the registry allows past `exp`) and no upload has been touched for a few seconds,
  runs the work and always ends;
- a window whose process died ends by itself after STALE.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from lib.errors import TryLater
from records.models import Maintenance
from registry.storage import RegistryStorage

MESSAGE = (
    "Our registry is tidying up its storage, which takes a minute or so: "
    "try again in a minute. Nothing was changed."
)
RETRY_AFTER = 60
# A window older than this was left by a process that died: the next look ends it.
STALE = timedelta(minutes=30)
# CNCF Distribution 2.8 accepts a token up to 60 s past its `exp` (clock skew leeway; checked
# against Debian's 2.8.2: a token expired 55 s ago still opened an upload, 65 s ago not).
REGISTRY_LEEWAY = timedelta(seconds=60)
# An upload whose files changed this recently is still being written.
UPLOAD_QUIET = timedelta(seconds=10)
# How often the window looks again while it waits.
POLL_SECONDS = 0.5
_ROW = 1


class Paused(TryLater):
    """A change to our registry refused while a window is on."""

    def __init__(self):
        super().__init__(MESSAGE, retry_after=RETRY_AFTER)


class Busy(Exception):
    """Another window is on, or the registry could not be made quiet: no collection now."""


def _live(now: datetime) -> Q:
    return Q(started__isnull=False, started__gte=now - STALE)


def is_on() -> bool:
    """Whether a window is on; a stale one is ended on the way.

    A read unless there is a stale window to end: the token server asks this for every push
    token (buildah asks two or three a push), and on SQLite each write waits for the one
    writer, behind the push notifications' (bench/push.py)."""
    now = timezone.now()
    started = Maintenance.objects.filter(pk=_ROW).values_list("started", flat=True).first()
    if started is None:
        return False
    if started >= now - STALE:
        return True
    # The condition again: a window begun since it was read is not ended.
    Maintenance.objects.filter(pk=_ROW, started__lt=now - STALE).update(started=None)
    return False


def note_write_token(expires: datetime) -> bool:
    """Count a token granting push or delete that expires at `expires`; False (nothing
    counted) if a window is on, and then the token must not grant them.

    One conditional UPDATE, so it cannot interleave with `begin()` setting `started`."""
    now = timezone.now()
    for _ in range(2):
        counted = (
            Maintenance.objects.filter(pk=_ROW)
            .exclude(_live(now))
            .update(
                push_tokens_until=Greatest(
                    Coalesce(F("push_tokens_until"), Value(expires)), Value(expires)
                )
            )
        )
        if counted:
            return True
        # No row yet (a fresh database), or a window is on: only the second UPDATE tells,
        # as a concurrent request may have just created the row.
        Maintenance.objects.get_or_create(pk=_ROW)
    return False


def begin() -> datetime:
    """Start a window, or raise Busy if another (not stale) one is on; when it started."""
    now = timezone.now()
    Maintenance.objects.get_or_create(pk=_ROW)
    started = Maintenance.objects.filter(pk=_ROW).exclude(_live(now)).update(started=now)
    if not started:
        raise Busy("Another maintenance window is on.")
    return now


def end() -> None:
    Maintenance.objects.filter(pk=_ROW).update(started=None)


def wait_until_quiet(storage: RegistryStorage, started: datetime) -> None:
    """Wait until no write token counted before `started` is valid and no upload is being
    written; raise Busy if uploads still run when every token has surely expired."""
    # Tokens are counted only until `started`, so none is valid after this, whatever the row
    # says (a TTL lowered since, a clock moved).
    latest = started + timedelta(seconds=settings.REGISTRY_TOKEN_TTL) + REGISTRY_LEEWAY
    while True:
        now = timezone.now()
        counted = (
            Maintenance.objects.filter(pk=_ROW).values_list("push_tokens_until", flat=True).first()
        )
        tokens_done = counted is None or now >= min(counted + REGISTRY_LEEWAY, latest)
        quiet_since = time.time() - UPLOAD_QUIET.total_seconds()
        if tokens_done and not storage.upload_written_since(quiet_since):
            return
        if now >= latest + UPLOAD_QUIET:
            raise Busy("An upload is still being written to the registry.")
        time.sleep(POLL_SECONDS)


@contextmanager
def window(storage: RegistryStorage) -> Iterator[datetime]:
    """Refuse writes, wait until the registry at `storage` is quiet, run the block, end."""
    started = begin()
    try:
        wait_until_quiet(storage, started)
        yield started
    finally:
        end()
