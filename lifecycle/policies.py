"""Cleanup policies: which tags an image sheds on a schedule, shown before they are saved.

A tag goes when it breaks every removal rule that is set (it is not among the N most recent;
it was pushed more than D days ago) and no keep rule saves it (a pattern such as `latest` or
`v*`; pulled in the last P days). A manifest no tag names any more (left behind when a tag is
pushed again, registry.untagged) goes once it has been untagged for `untagged_days`, unless it
was pulled in the last P days too (the same "still in use" window as tags: one idea, one
number to set) or an index that stays lists it. What goes is moved to the recycle bin
(lifecycle.bin), never deleted straight away. The preview and the run choose with the same
functions, so a preview is what the run then removes, given the same tags and clock.
"""

from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit import trail
from lib.errors import DomainError, Invalid
from lifecycle import bin as recycle_bin
from lifecycle import sizes
from records.models import BinEntry, CleanupPolicy, Image, PolicyRun, State, Tag, UntaggedManifest
from registry.hosts import registry_for_host
from webhooks import events as webhook_events

log = logging.getLogger(__name__)
WHO = "cleanup policy"


@dataclass(frozen=True)
class Rules:
    keep_last: int | None = None
    older_than_days: int | None = None
    keep_patterns: tuple[str, ...] = ()
    keep_pulled_days: int | None = None
    untagged_days: int | None = None

    @classmethod
    def of(cls, policy: CleanupPolicy) -> Rules:
        return cls(
            policy.keep_last,
            policy.older_than_days,
            tuple(policy.keep_patterns),
            policy.keep_pulled_days,
            policy.untagged_days,
        )

    @property
    def removes_tags(self) -> bool:
        """Whether a tag rule is set (a policy may set only the untagged one)."""
        return self.keep_last is not None or self.older_than_days is not None

    def keeps_by_pattern(self, tag: str) -> bool:
        return any(fnmatch.fnmatchcase(tag, pattern) for pattern in self.keep_patterns)

    def pulled_recently(self, last_pulled: datetime | None, now: datetime) -> bool:
        return (
            self.keep_pulled_days is not None
            and last_pulled is not None
            and last_pulled >= now - timedelta(days=self.keep_pulled_days)
        )


def _pushed(tag: Tag) -> datetime:
    return tag.pushed_at or tag.last_build_date or tag.created


def choose(image: Image, rules: Rules, now: datetime) -> tuple[list[Tag], int]:
    """(the tags this policy removes from the image, newest first; how many pushed tags the
    image has). Tags being built, and tags never pushed, are never chosen."""
    tags = sorted(image.tags.exclude(digest="").select_related("layer"), key=_pushed, reverse=True)
    if not rules.removes_tags:
        return [], len(tags)
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
        if outside and old and not rules.pulled_recently(tag.last_pulled, now):
            going.append(tag)
    return going, len(tags)


def _listed(platforms_lists) -> set[str]:
    """The manifests the indexes with these `platforms` list."""
    return {
        platform["digest"]
        for platforms in platforms_lists
        for platform in platforms or []
        if isinstance(platform, dict) and platform.get("digest")
    }


def choose_untagged(image: Image, rules: Rules, now: datetime) -> list[UntaggedManifest]:
    """The untagged manifests the policy removes from the image, longest untagged first:
    untagged for more than `untagged_days`, not pulled in the last `keep_pulled_days`, and
    listed by no index that stays (tagged, in the recycle bin, or untagged and staying): an
    index's manifests go with it or stay with it, never leave it broken."""
    if rules.untagged_days is None:
        return []
    rows = list(image.untagged_manifests.select_related("layer"))
    if not rows:
        return []
    tags = list(image.tags.exclude(digest="").values_list("digest", "platforms"))
    tagged = {digest for digest, _ in tags}
    binned = BinEntry.objects.filter(image=image).values_list("platforms", flat=True)
    listed = _listed([platforms for _, platforms in tags]) | _listed(binned)
    cutoff = now - timedelta(days=rules.untagged_days)
    going = {
        row.digest
        for row in rows
        if row.untagged_since < cutoff
        and not rules.pulled_recently(row.last_pulled, now)
        and row.digest not in tagged
    }
    # An untagged index that stays keeps what it lists, which may keep an index in turn.
    while True:
        staying = _listed(row.platforms for row in rows if row.digest not in going)
        kept = going & (listed | staying)
        if not kept:
            return [row for row in rows if row.digest in going]
        going -= kept


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
    untagged: list[UntaggedManifest] = field(default_factory=list)

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

    @property
    def untagged_count(self) -> int:
        return sum(len(i.untagged) for i in self.images)

    @property
    def untagged_size(self) -> int:
        return sum(u.size or 0 for i in self.images for u in i.untagged)

    def freed(self) -> int:
        """The bytes purging what goes frees: the layers of these tags and untagged manifests
        that nothing else keeps (another tag, the recycle bin, another untagged manifest, of
        any image). For a multi-platform one only its shown platform's layers are known, so
        this is at least what is freed."""
        return sum(self._freed_blobs.values())

    def untagged_freed(self) -> int:
        """The part of `freed` that the untagged manifests held."""
        going = {u.pk for i in self.images for u in i.untagged}
        held = sizes.untagged_blobs(UntaggedManifest.objects.filter(pk__in=going))
        return sum(size for digest, size in self._freed_blobs.items() if digest in held)

    @cached_property
    def _freed_blobs(self) -> dict[str, int]:
        tag_ids = {t.pk for i in self.images for t in i.going}
        untagged_ids = {u.pk for i in self.images for u in i.untagged}
        if not tag_ids and not untagged_ids:
            return {}
        blobs = sizes.blobs(Tag.objects.filter(pk__in=tag_ids))
        blobs |= sizes.untagged_blobs(UntaggedManifest.objects.filter(pk__in=untagged_ids))
        used = (
            sizes.blobs(Tag.objects.exclude(pk__in=tag_ids)).keys()
            | sizes.held_in_bin().keys()
            | sizes.untagged_blobs(UntaggedManifest.objects.exclude(pk__in=untagged_ids)).keys()
        )
        return {digest: size for digest, size in blobs.items() if digest not in used}


def preview(rules: Rules, images, now: datetime | None = None) -> Preview:
    now = now or timezone.now()
    result = Preview()
    for image in images:
        going, total = choose(image, rules, now)
        result.images.append(ImagePreview(image, going, total, choose_untagged(image, rules, now)))
    return result


def images_for(policy: CleanupPolicy):
    return [policy.image] if policy.image_id else list(images_of_namespace(policy.namespace))


def check_rules(rules: Rules) -> None:
    if not rules.removes_tags and rules.untagged_days is None:
        raise Invalid(
            {
                "keep_last": [
                    "Say how many recent tags to keep, or after how many days a tag goes, or "
                    "after how many days old untagged versions go (any of them): without one, "
                    "the policy would remove nothing."
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
    """Move what the rules choose from one image to the bin (its tags, then its untagged
    manifests, both chosen first, as the preview chose them); what went wrong, if anything."""
    going, total = choose(image, rules, now)
    untagged = choose_untagged(image, rules, now)
    problems, moved, entries = [], [], []
    reason = f"cleanup policy of {scope}"
    if going and len(going) == total and not may_empty:
        problems.append(
            f"{image.name}: kept every tag; the policy would remove all of them and was "
            "not saved to allow that."
        )
    elif going:
        try:
            recycle_bin.delete_tags(
                image, [t.name for t in going], by=WHO, reason=reason, announce=False
            )
            moved = going
        except DomainError as error:
            problems.append(f"{image.name}: {error.message}")
    if untagged:
        try:
            entries = recycle_bin.delete_untagged(
                image, [u.digest for u in untagged], by=WHO, reason=reason
            )
        except DomainError as error:
            problems.append(f"{image.name}: {error.message}")
    if not moved and not entries:
        return "\n".join(problems)
    record.removed += [
        {"image": image.name, "tag": t.name, "digest": t.digest, "size": t.size} for t in moved
    ]
    record.removed += [
        {"image": image.name, "tag": None, "digest": e.digest, "size": e.size} for e in entries
    ]
    record.removed_bytes += sum(t.size or 0 for t in moved) + sum(e.size or 0 for e in entries)
    webhook_events.emit(
        "cleanup.ran",
        image,
        actor=WHO,
        details={
            "policy": scope,
            "tags": [{"name": t.name, "digest": t.digest} for t in moved],
            "untagged": [e.digest for e in entries],
            "bytes": sum(t.size or 0 for t in moved) + sum(e.size or 0 for e in entries),
        },
    )
    trail.record(
        "policy.run",
        image.name,
        team=image.team_id,
        details={
            "tags": [t.name for t in moved],
            "untagged": [e.digest for e in entries],
            "policy": scope,
        },
    )
    return "\n".join(problems)


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
