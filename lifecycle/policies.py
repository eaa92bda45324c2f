"""Cleanup policies: which tags an image sheds on a schedule, shown before they are saved.

A tag goes when it breaks every removal rule that is set (it is not among the N most recent;
it was pushed more than D days ago) and no keep rule saves it (a pattern such as `latest` or
`v*`; pulled in the last P days). What goes is moved to the recycle bin (lifecycle.bin),
never deleted straight away. The preview and the run choose with the same function, so a
preview is what the run then removes, given the same tags and clock.
"""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit import trail
from lib.errors import DomainError, Invalid
from lifecycle import bin as recycle_bin
from lifecycle import sizes
from records.models import CleanupPolicy, Image, PolicyRun, State, Tag
from registry.hosts import registry_for_host

log = logging.getLogger(__name__)
WHO = "cleanup policy"


@dataclass(frozen=True)
class Rules:
    keep_last: int | None = None
    older_than_days: int | None = None
    keep_patterns: tuple[str, ...] = ()
    keep_pulled_days: int | None = None

    @classmethod
    def of(cls, policy: CleanupPolicy) -> Rules:
        return cls(
            policy.keep_last,
            policy.older_than_days,
            tuple(policy.keep_patterns),
            policy.keep_pulled_days,
        )

    def keeps_by_pattern(self, tag: str) -> bool:
        return any(fnmatch.fnmatchcase(tag, pattern) for pattern in self.keep_patterns)


def _pushed(tag: Tag) -> datetime:
    return tag.pushed_at or tag.last_build_date or tag.created


def choose(image: Image, rules: Rules, now: datetime) -> tuple[list[Tag], int]:
    """(the tags this policy removes from the image, newest first; how many pushed tags the
    image has). Tags being built, and tags never pushed, are never chosen."""
    tags = sorted(image.tags.exclude(digest="").select_related("layer"), key=_pushed, reverse=True)
    going = []
    # The N most recent are counted among the tags no pattern keeps: `latest` and `v1.2`
    # kept by patterns do not use up the N places meant for the rest.
    ranked = [t for t in tags if not rules.keeps_by_pattern(t.name)]
    for rank, tag in enumerate(ranked):
        if tag.state == State.BUILDING:
            continue
        outside = rules.keep_last is None or rank >= rules.keep_last
        old = rules.older_than_days is None or _pushed(tag) < now - timedelta(
            days=rules.older_than_days
        )
        pulled = (
            rules.keep_pulled_days is not None
            and tag.last_pulled is not None
            and tag.last_pulled >= now - timedelta(days=rules.keep_pulled_days)
        )
        if outside and old and not pulled:
            going.append(tag)
    return going, len(tags)


def images_of_namespace(namespace: str) -> QuerySet[Image]:
    """The namespace's images on our registry that have no policy of their own."""
    host = settings.REGISTRY_HOST
    return Image.objects.filter(
        name__startswith=f"{host}/{namespace}/", registry=registry_for_host(host)
    ).filter(Q(cleanup_policy__isnull=True) | Q(cleanup_policy__enabled=False))


@dataclass
class ImagePreview:
    image: Image
    going: list[Tag]
    total: int

    @property
    def empties(self) -> bool:
        return bool(self.going) and len(self.going) == self.total


@dataclass
class Preview:
    images: list[ImagePreview] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(i.going) for i in self.images)

    @property
    def size(self) -> int:
        return sum(t.size or 0 for i in self.images for t in i.going)

    @property
    def emptied(self) -> list[str]:
        return [i.image.name for i in self.images if i.empties]

    def freed(self) -> int:
        """The bytes purging these tags frees: their layers no other tag (here or in the
        recycle bin) uses. For a multi-platform tag only its shown platform's layers are
        known, so this is at least what is freed."""
        going_ids = {t.pk for i in self.images for t in i.going}
        if not going_ids:
            return 0
        blobs = sizes.blobs(Tag.objects.filter(pk__in=going_ids))
        used = (
            sizes.blobs(Tag.objects.exclude(pk__in=going_ids)).keys() | sizes.held_in_bin().keys()
        )
        return sum(size for digest, size in blobs.items() if digest not in used)


def preview(rules: Rules, images, now: datetime | None = None) -> Preview:
    now = now or timezone.now()
    result = Preview()
    for image in images:
        going, total = choose(image, rules, now)
        result.images.append(ImagePreview(image, going, total))
    return result


def images_for(policy: CleanupPolicy):
    return [policy.image] if policy.image_id else list(images_of_namespace(policy.namespace))


def check_rules(rules: Rules) -> None:
    if rules.keep_last is None and rules.older_than_days is None:
        raise Invalid(
            {
                "keep_last": [
                    "Say how many recent tags to keep, or after how many days a tag goes "
                    "(or both): without either, the policy would remove nothing."
                ]
            }
        )


def run(policy: CleanupPolicy, now: datetime | None = None) -> PolicyRun:
    """Move what the policy chooses to the recycle bin, image by image; keep the history."""
    now = now or timezone.now()
    record = PolicyRun(policy=policy, started=now)
    errors = []
    rules = Rules.of(policy)
    scope = policy.image.name if policy.image_id else f"{policy.namespace}/*"
    for image in images_for(policy):
        # Chosen under the image's lock from its tags as they are now, so a tag pushed or
        # restored since the policy listed the images is weighed, never removed unseen.
        with recycle_bin.lock(image.name):
            error = _run_on(image, rules, now, scope, policy.may_empty_images, record)
        if error:
            errors.append(error)
    record.error = "\n".join(errors)
    record.save()
    return record


def _run_on(
    image: Image, rules: Rules, now: datetime, scope: str, may_empty: bool, record: PolicyRun
) -> str:
    """Move the tags the rules choose from one image to the bin; what went wrong, if anything."""
    going, total = choose(image, rules, now)
    if not going:
        return ""
    if len(going) == total and not may_empty:
        return (
            f"{image.name}: kept every tag; the policy would remove all of them and was "
            "not saved to allow that."
        )
    try:
        recycle_bin.delete_tags(
            image, [t.name for t in going], by=WHO, reason=f"cleanup policy of {scope}"
        )
    except DomainError as error:
        return f"{image.name}: {error.message}"
    record.removed += [{"image": image.name, "tag": t.name, "size": t.size} for t in going]
    trail.record(
        "policy.run",
        image.name,
        team=image.team_id,
        details={"tags": [t.name for t in going], "policy": scope},
    )
    record.removed_bytes += sum(t.size or 0 for t in going)
    return ""


# Housekeeping runs hourly; a policy runs once a day (a little less, so the hour it runs at
# does not creep later each day).
RUN_EVERY = timedelta(hours=23)


def run_all(now: datetime | None = None) -> list[PolicyRun]:
    """Housekeeping: every enabled policy that has not run in the last day, image policies
    first (an image's own policy wins over its namespace's)."""
    now = now or timezone.now()
    runs = []
    recent = PolicyRun.objects.filter(started__gt=now - RUN_EVERY).values("policy_id")
    due = CleanupPolicy.objects.filter(enabled=True).exclude(pk__in=recent)
    for policy in due.order_by("namespace", "pk"):
        try:
            runs.append(run(policy, now))
        except Exception:  # one policy's failure must not stop the others
            log.exception("cleanup: %s", policy)
    return runs
