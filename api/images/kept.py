"""What an image's tags make, kept per image while they do not change: the JSON array of
their URIs (the spec's `tags`) and the storage they take.

python-tutum and the tutum CLI read every tag URI of an image, so an image with 100,000 tags
answers with all of them (6 MB). Reading the names, making the URIs and encoding them cost
about 0.2 s, and summing the storage of 100,000 layers more; for an image of KEEP_FROM tags
or more both are kept, keyed by the image and its tag changes counter (records.TagCount,
which grows with every tag added, deleted, renamed or moved to another layer). A changed
image is a new key, so nothing kept is ever out of date. Each process keeps the URIs in its
own memory (caches["kept"]: nothing needs sharing to be right, and 6 MB is best not moved);
the storage, which takes seconds to work out for 100,000 tags with a layer each, is shared
(caches["shared"]), so only one process works it out after a change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.core.cache import caches
from django.db import connection

from api.core import formats
from api.core.rendering import Kept
from lifecycle import sizes
from records.models import Tag, TagCount

# Below this many tags, making the list costs less than keeping it would.
KEEP_FROM = 1_000
KEEP_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class TagState:
    count: int
    changes: int

    @property
    def worth_keeping(self) -> bool:
        return self.count >= KEEP_FROM


NO_TAGS = TagState(0, 0)


def tag_states(ids: list[int]) -> dict[int, TagState]:
    """Each image's tag count and changes counter (an image never tagged has no row)."""
    rows = TagCount.objects.filter(image_id__in=ids).values_list("image_id", "tags", "changes")
    return {image_id: TagState(tags, changes) for image_id, tags, changes in rows}


def tag_uris(image_id: int, name: str, state: TagState) -> Kept:
    """The JSON array of the image's tag URIs, in name order, as `Kept` text."""
    key = f"tag-uris:{image_id}:{state.changes}"
    text = caches["kept"].get(key)
    if text is None:
        text = _uris_text(image_id, name)
        caches["kept"].set(key, text)
    return Kept(text)


def _uris_text(image_id: int, name: str) -> bytes:
    # Plain SQL: the ORM's row iteration cost as much as the rest for 100,000 names.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT name FROM {Tag._meta.db_table} WHERE image_id = %s ORDER BY name",
            [image_id],
        )
        names = [row[0] for row in cursor.fetchall()]
    # Tag names are letters, digits, '.', '_' and '-' (registry.names): one prefix for all.
    prefix = f"{formats.image_uri(name)}tag/"
    uris = [f"{prefix}{tag}/" for tag in names]
    # As DRF writes the rest of the answer (COMPACT_JSON, UNICODE_JSON).
    return json.dumps(uris, ensure_ascii=False, separators=(",", ":")).encode()


def storage_size(image, state: TagState) -> int:
    """Bytes the image's tags take, layers they share counted once (lifecycle.sizes)."""
    if not state.worth_keeping:
        return sizes.of_image(image)
    key = f"storage:{image.pk}:{state.changes}"
    size = caches["shared"].get(key)
    if size is None:
        size = sizes.of_image(image)
        # Right until the image's tags change (then it is a new key); a week, so that
        # the keys of changes gone by leave the table.
        caches["shared"].set(key, size, KEEP_SECONDS)
    return size
