"""Who may be writing to our registry right now, as far as its token server knows.

Garbage collection (lifecycle.collect) runs while pushes go on, and must not delete a blob a
push is about to reference. Distribution 2.8 tells nobody when a client asks whether a blob
exists (a `HEAD` emits no notification), so a client can be told "it is there", and put a
manifest naming it a moment later; the registry then checks that the blob still exists. What
we do see is every token that may write: the registry only lets a client put a manifest, mount
or upload into a repository while it holds an unexpired token granting push there (plus the
registry's leeway). So a repository is *being written* from the moment we issue such a token
until it has expired, and a blob that repository links may be about to be used.

Each token granting push or delete records, per repository, when it expires (one row per
repository, only ever moved later). A long upload can outlive its token (the registry checks
the token when a request starts), so the collection also counts a repository with an upload
written to lately as being written (registry.storage `repositories_uploading`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from records.models import WriteToken

# CNCF Distribution 2.8 accepts a token up to 60 s past its `exp` (clock skew leeway; checked
# against Debian's 2.8.2: a token expired 55 s ago still opened an upload, 65 s ago not).
REGISTRY_LEEWAY = timedelta(seconds=60)
# Our machines' clocks may disagree a little with each other and with the registry's.
CLOCK_SKEW = timedelta(seconds=5)
# Rows are kept this long after their token expired, then housekeeping deletes them.
KEPT = timedelta(days=1)


def note(repositories: list[str], expires: datetime) -> None:
    """Record a token granting push or delete in `repositories` that expires at `expires`.

    Called before the token is handed out, and committed with it: a client can only write with
    a token the collection can already see."""
    for repository in dict.fromkeys(repositories):
        if WriteToken.objects.filter(repository=repository, until__lt=expires).update(
            until=expires
        ):
            continue
        try:
            with transaction.atomic():
                WriteToken.objects.get_or_create(repository=repository, defaults={"until": expires})
        except IntegrityError:
            # Created meanwhile by another token's request: move it later if need be.
            WriteToken.objects.filter(repository=repository, until__lt=expires).update(
                until=expires
            )


def being_written(now: datetime | None = None) -> set[str]:
    """The repositories for which a write token the registry would still accept exists."""
    now = now or timezone.now()
    since = now - REGISTRY_LEEWAY - CLOCK_SKEW
    return set(WriteToken.objects.filter(until__gte=since).values_list("repository", flat=True))


def prune(now: datetime | None = None) -> int:
    """Forget tokens long expired; how many."""
    now = now or timezone.now()
    return WriteToken.objects.filter(until__lt=now - KEPT).delete()[0]
