"""Tutum's list envelope: {"meta": {limit, offset, next, previous, total_count}, "objects"}."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db.models import QuerySet
from rest_framework import serializers

DEFAULT_LIMIT = 25
# Past any list there is, and inside what the databases take in LIMIT and OFFSET.
LARGEST = 10**9


def _non_negative_int(request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise serializers.ValidationError({name: [f"'{raw}' is not a whole number of 0 or more."]})
    if value > LARGEST:
        raise serializers.ValidationError({name: [f"'{raw}' is more than {LARGEST:,}."]})
    return value


# total_count is exact up to this many objects; past it, counting would cost as much as the
# list is long, so it says this many and `total_count_exact` is false (README: "Lists").
COUNT_LIMIT = 10_000


def window(request) -> tuple[int, int]:
    """The page asked for: (limit, offset). `limit=0` asks for the largest page
    (settings.API_MAX_LIMIT), as in Tastypie."""
    limit = _non_negative_int(request, "limit", DEFAULT_LIMIT)
    limit = settings.API_MAX_LIMIT if limit == 0 else min(limit, settings.API_MAX_LIMIT)
    return limit, _non_negative_int(request, "offset", 0)


def paginate(
    request,
    queryset: QuerySet,
    values: tuple[str, ...] = (),
    side: str | None = None,
    *,
    whole: QuerySet | None = None,
    total: Callable[[], tuple[int, bool]] | None = None,
    resumed: bool = False,
) -> tuple[list, dict]:
    """Slice `queryset` by `limit`/`offset`; `next`/`previous` keep every other query parameter.

    `values`: the page as rows of these fields (QuerySet.values). The page is read with one
    row more than asked for, which says whether there is a next page; the count
    (capped_count) is only needed when there is one or the page is past the end.
    `side`, `whole`: a page read after or before a name (api.images.filters.from_cursor), and
    the whole list it is a page of, which total_count counts. `total`: (total, exact) without
    counting, when the database keeps the list's count (records.counting). `resumed`:
    `queryset` starts where the page at `offset` starts (api.images.walks), which is read
    from its first row and answered as the page at `offset`.
    """
    limit, offset = window(request)
    rows = queryset.values(*values) if values else queryset
    start = 0 if resumed else offset
    objects = list(rows[start : start + limit + 1])

    def count() -> tuple[int, bool]:
        return capped_count(queryset if whole is None else whole)

    return page(request, objects, limit, offset, total or count, side)


def capped_count(queryset: QuerySet) -> tuple[int, bool]:
    """(how many, exact): counting stops past COUNT_LIMIT."""
    return capped(queryset.order_by()[: COUNT_LIMIT + 1].count())


def capped(found: int) -> tuple[int, bool]:
    """(total, exact) of a count that read at most COUNT_LIMIT + 1 rows."""
    return min(found, COUNT_LIMIT), found <= COUNT_LIMIT


def page(
    request, objects: list, limit: int, offset: int, count, side: str | None = None
) -> tuple[list, dict]:
    """The envelope of `objects` (up to limit + 1 of them, read at `offset`). `count()`:
    (total, exact), called only when the page itself does not tell the total. `side`: the
    page was read `after` or `before` a name (api.images.filters.name_cursor)."""
    if side is not None:
        return _cursor_page(request, objects, limit, offset, count, side)
    has_next = len(objects) > limit
    objects = objects[:limit]
    if objects and not has_next:
        total, exact = offset + len(objects), True
    elif not objects and offset == 0:
        total, exact = 0, True
    else:
        total, exact = count()
        if not exact:
            # Past COUNT_LIMIT the count is a floor: never less than the pages seen so far.
            total = max(total, offset + len(objects) + int(has_next))

    def link(new_offset: int) -> str:
        params = request.query_params.copy()
        params["limit"] = str(limit)
        params["offset"] = str(new_offset)
        return f"{request.path}?{params.urlencode()}"

    meta = {
        "limit": limit,
        "next": link(offset + limit) if has_next else None,
        "offset": offset,
        "previous": link(max(offset - limit, 0)) if offset > 0 else None,
        "total_count": total,
    }
    if not exact:
        meta["total_count_exact"] = False
    return objects, meta


def _cursor_page(request, objects, limit, offset, count, side) -> tuple[list, dict]:
    """A page read from a name on: `next` and `previous` go on from its last and first
    names. Coming from one side, there is always something on that side."""
    more = len(objects) > limit
    objects = objects[:limit]
    if side == "before":
        objects.reverse()
    total, exact = count()

    def link(key: str, row) -> str:
        params = request.query_params.copy()
        for name in ("after", "before", "offset"):
            params.pop(name, None)
        params["limit"] = str(limit)
        # Images are read as rows, tags as models.
        params[key] = row["name"] if isinstance(row, dict) else row.name
        return f"{request.path}?{params.urlencode()}"

    later = more if side == "after" else True
    earlier = True if side == "after" else more
    meta = {
        "limit": limit,
        "next": link("after", objects[-1]) if objects and later else None,
        "offset": offset,
        "previous": link("before", objects[0]) if objects and earlier else None,
        "total_count": total,
    }
    if not exact:
        meta["total_count_exact"] = False
    return objects, meta


class ListMetaSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    offset = serializers.IntegerField()
    previous = serializers.CharField(allow_null=True)
    total_count = serializers.IntegerField()
    total_count_exact = serializers.BooleanField(
        required=False,
        help_text="Extension: false when total_count is a floor (more than COUNT_LIMIT).",
    )


def envelope_serializer(name: str, item: serializers.Serializer) -> type[serializers.Serializer]:
    """A schema-only serializer describing the envelope around `item`, for drf-spectacular."""
    return type(name, (serializers.Serializer,), {"meta": ListMetaSerializer(), "objects": item})
