"""The recycle bin: deleting tags into it, what is in it, restoring and purging."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from images.services.http import PAGE_SIZE, Credentials, Page, call, page, parse_date, parse_size
from images.services.images import image_path, short_digest


@dataclass(frozen=True)
class DeletedTag:
    name: str
    digest: str
    size: int | None


def _deleted_tag(data: dict) -> DeletedTag:
    return DeletedTag(
        name=data.get("name") or "",
        digest=data.get("digest") or "",
        size=parse_size(data.get("size")),
    )


@dataclass(frozen=True)
class BinEntry:
    """A deleted tag or image, or an untagged manifest a cleanup policy removed (an old
    version no tag points to any more), restorable until `purge_after`."""

    id: int
    kind: str  # "tag", "image" or "untagged"
    image: str
    tag: str | None
    tags: list[DeletedTag]
    digest: str
    size: int | None
    deleted_at: datetime | None
    deleted_by: str
    reason: str
    purge_after: datetime | None
    image_exists: bool
    pushed_at: datetime | None = None
    last_tag: str = ""  # an untagged one's: the tag that named it before it moved

    @property
    def short_digest(self) -> str:
        return short_digest(self.digest)

    @property
    def label(self) -> str:
        """What it is in a few words: `web/app`, `web/app:v1`, or `web/app@sha256:ab12…`."""
        if self.kind == "image":
            return self.image
        if self.kind == "untagged":
            return f"{self.image}@{self.short_digest}…"
        return f"{self.image}:{self.tag}"


def _bin_entry(data: dict) -> BinEntry:
    return BinEntry(
        id=int(data["id"]),
        kind=data.get("kind") or "tag",
        image=data.get("image") or "",
        tag=data.get("tag"),
        tags=[_deleted_tag(t) for t in data.get("tags") or []],
        digest=data.get("digest") or "",
        size=parse_size(data.get("size")),
        deleted_at=parse_date(data.get("deleted_at")),
        deleted_by=data.get("deleted_by") or "",
        reason=data.get("reason") or "",
        purge_after=parse_date(data.get("purge_after")),
        image_exists=bool(data.get("image_exists")),
        pushed_at=parse_date(data.get("pushed_at")),
        last_tag=data.get("last_tag") or "",
    )


@dataclass(frozen=True)
class Restored:
    image: str
    tags: list[str]


def _restored(data: dict) -> Restored:
    return Restored(image=data["image"], tags=list(data.get("tags") or []))


def delete_tags(creds: Credentials, name: str, tags: list[str]) -> list[BinEntry]:
    """Move tags to the recycle bin, all or none."""
    body = call("POST", image_path(name, "deleted/"), creds=creds, json={"tags": tags})
    return [_bin_entry(entry) for entry in body or []]


def image_bin(creds: Credentials, name: str, *, offset: int = 0) -> Page[BinEntry]:
    params = {"limit": PAGE_SIZE, "offset": offset}
    return page(call("GET", image_path(name, "deleted/"), creds=creds, params=params), _bin_entry)


def list_bin(creds: Credentials, *, namespace: str = "", offset: int = 0) -> Page[BinEntry]:
    params: dict = {"limit": PAGE_SIZE, "offset": offset}
    if namespace:
        params["namespace"] = namespace
    return page(call("GET", "/api/v1/deleted/", creds=creds, params=params), _bin_entry)


def get_bin_entry(creds: Credentials, entry_id: int) -> BinEntry:
    return _bin_entry(call("GET", f"/api/v1/deleted/{entry_id}/", creds=creds))


def restore(creds: Credentials, entry_id: int) -> Restored:
    return _restored(call("POST", f"/api/v1/deleted/{entry_id}/restore/", creds=creds))


def purge(creds: Credentials, entry_id: int) -> None:
    call("DELETE", f"/api/v1/deleted/{entry_id}/", creds=creds)
