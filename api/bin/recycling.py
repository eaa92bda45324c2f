"""Deleting tags from the API, to the recycle bin, each one written to the audit trail."""

from __future__ import annotations

from api.core.auditing import note
from lifecycle import bin as recycle_bin
from records.models import BinEntry, Image


def delete_tags(request, image: Image, names: list[str]) -> list[BinEntry]:
    entries = recycle_bin.delete_tags(image, names, by=request.user.get_username())
    for entry in entries:
        note(
            request,
            "tag.delete",
            f"{image.name}:{entry.tag_name}",
            team=image.team,
            digest=entry.digest,
        )
    return entries
