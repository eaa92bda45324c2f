"""Cleanup policies of an image or a namespace: the rules, their runs, and a preview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from images.services.http import Credentials, call, parse_date, parse_size
from images.services.images import image_path, short_digest


def _policy_path(*, image: str = "", namespace: str = "") -> str:
    if image:
        return image_path(image, "cleanup-policy/")
    return f"/api/v1/namespace/{quote(namespace, safe='')}/cleanup-policy/"


@dataclass(frozen=True)
class Policy:
    keep_last: int | None
    older_than_days: int | None
    keep_patterns: list[str]
    keep_pulled_days: int | None
    untagged_days: int | None
    enabled: bool
    may_empty_images: bool
    updated: datetime | None
    updated_by: str


def _policy(data: dict | None) -> Policy | None:
    if data is None:
        return None
    return Policy(
        keep_last=data.get("keep_last"),
        older_than_days=data.get("older_than_days"),
        keep_patterns=list(data.get("keep_patterns") or []),
        keep_pulled_days=data.get("keep_pulled_days"),
        untagged_days=data.get("untagged_days"),
        enabled=bool(data.get("enabled")),
        may_empty_images=bool(data.get("may_empty_images")),
        updated=parse_date(data.get("updated")),
        updated_by=data.get("updated_by") or "",
    )


@dataclass(frozen=True)
class PolicyRun:
    started: datetime | None
    removed: list[dict]
    removed_bytes: int
    error: str


def _policy_run(data: dict) -> PolicyRun:
    return PolicyRun(
        started=parse_date(data.get("started")),
        removed=list(data.get("removed") or []),
        removed_bytes=int(data.get("removed_bytes") or 0),
        error=data.get("error") or "",
    )


@dataclass(frozen=True)
class PolicyPage:
    policy: Policy | None
    runs: list[PolicyRun]
    storage_size: int = 0  # of what it governs, layers shared by tags counted once
    untagged_count: int = 0  # manifests no tag names any more
    untagged_size: int = 0  # what their layers add to storage_size


def _policy_page(data: dict) -> PolicyPage:
    return PolicyPage(
        policy=_policy(data.get("policy")),
        runs=[_policy_run(run) for run in data.get("runs") or []],
        storage_size=int(data.get("storage_size") or 0),
        untagged_count=int(data.get("untagged_count") or 0),
        untagged_size=int(data.get("untagged_size") or 0),
    )


@dataclass(frozen=True)
class GoingTag:
    name: str
    size: int | None
    pushed_at: datetime | None
    last_pulled: datetime | None


def _going_tag(data: dict) -> GoingTag:
    return GoingTag(
        name=data["name"],
        size=parse_size(data.get("size")),
        pushed_at=parse_date(data.get("pushed_at")),
        last_pulled=parse_date(data.get("last_pulled")),
    )


@dataclass(frozen=True)
class GoingUntagged:
    """An old version no tag points to any more, that the rules would remove."""

    digest: str
    last_tag: str
    size: int | None
    pushed_at: datetime | None
    untagged_since: datetime | None
    last_pulled: datetime | None

    @property
    def short_digest(self) -> str:
        return short_digest(self.digest)


def _going_untagged(data: dict) -> GoingUntagged:
    return GoingUntagged(
        digest=data.get("digest") or "",
        last_tag=data.get("last_tag") or "",
        size=parse_size(data.get("size")),
        pushed_at=parse_date(data.get("pushed_at")),
        untagged_since=parse_date(data.get("untagged_since")),
        last_pulled=parse_date(data.get("last_pulled")),
    )


@dataclass(frozen=True)
class PreviewImage:
    image: str
    total: int
    tags: list[GoingTag]
    untagged: list[GoingUntagged]


def _preview_image(data: dict) -> PreviewImage:
    return PreviewImage(
        image=data["image"],
        total=int(data.get("total") or 0),
        tags=[_going_tag(t) for t in data.get("tags") or []],
        untagged=[_going_untagged(u) for u in data.get("untagged") or []],
    )


@dataclass(frozen=True)
class PolicyPreview:
    count: int
    size: int
    freed: int
    emptied_images: list[str]
    images: list[PreviewImage]
    untagged_count: int = 0
    untagged_size: int = 0
    untagged_freed: int = 0


def _policy_preview(data: dict) -> PolicyPreview:
    return PolicyPreview(
        count=int(data.get("count") or 0),
        size=int(data.get("size") or 0),
        freed=int(data.get("freed") or 0),
        emptied_images=list(data.get("emptied_images") or []),
        images=[_preview_image(item) for item in data.get("images") or []],
        untagged_count=int(data.get("untagged_count") or 0),
        untagged_size=int(data.get("untagged_size") or 0),
        untagged_freed=int(data.get("untagged_freed") or 0),
    )


def get_policy(creds: Credentials, *, image: str = "", namespace: str = "") -> PolicyPage:
    path = _policy_path(image=image, namespace=namespace)
    return _policy_page(call("GET", path, creds=creds))


def preview_policy(
    creds: Credentials, rules: dict, *, image: str = "", namespace: str = ""
) -> PolicyPreview:
    path = _policy_path(image=image, namespace=namespace) + "preview/"
    return _policy_preview(call("POST", path, creds=creds, json=rules))


def save_policy(creds: Credentials, rules: dict, *, image: str = "", namespace: str = "") -> None:
    call("PUT", _policy_path(image=image, namespace=namespace), creds=creds, json=rules)


def delete_policy(creds: Credentials, *, image: str = "", namespace: str = "") -> None:
    call("DELETE", _policy_path(image=image, namespace=namespace), creds=creds)
