"""A page of the image list that costs the same at a million images as at ten thousand.

A person sees the images of a few reaches (Image.reach: public, their own, each of their
teams'). Walking the whole list in order and skipping what they may not see costs as much as
the images they may not see; instead, each reach is one range of an index in the list's
order, so the page is the first `offset + limit + 1` images of each range, merged and sorted
(a few hundred rows at most), and `total_count` is the sum of the reaches' counts the
database keeps (records.ImageCount) whenever no other filter is on.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from api.core import pagination
from api.core.pagination import page, window
from records.models import Image, ImageCount

# Stands for the reach in the one compiled SQL of a range; no image has it (ids are > 0).
_ANY_REACH = -(2**62)


def image_page(
    request,
    pieces: list[QuerySet],
    reaches: list[int],
    values: tuple[str, ...],
    *,
    kept_total: bool,
    side: str | None = None,
    whole: QuerySet | None = None,
    resumed: bool = False,
) -> tuple[list, dict]:
    """The page of the list `pieces` make one after the other (each filtered and ordered,
    without the visibility rule; api.images.filters.image_pieces) within `reaches`.
    `kept_total`: no filter but the visibility is on, so ImageCount is the total. `side`,
    `whole`: read after or before a name, and the list it is a page of, which the total
    counts. `resumed`: the pieces start where the page at `offset` starts (as
    pagination.paginate)."""
    limit, offset = window(request)
    if not reaches:
        return page(request, [], limit, offset, lambda: (0, True), side)
    start = 0 if resumed else offset
    wanted = start + limit + 1
    if len(pieces) == 1:
        objects = list(_merged(pieces[0], reaches, wanted).values(*values)[start:wanted])
    else:
        # A piece is read only if those before it do not fill the page. (An offset on top
        # of a cursor is read and dropped here, as the database would read it.)
        objects = []
        for piece in pieces:
            merged = _merged(piece, reaches, wanted - len(objects))
            objects += merged.values(*values)[: wanted - len(objects)]
            if len(objects) == wanted:
                break
        objects = objects[start:]

    def count() -> tuple[int, bool]:
        if kept_total:
            kept = ImageCount.objects.filter(reach__in=reaches).values_list("images", flat=True)
            return sum(kept), True
        listed = pieces[0] if whole is None else whole
        capped_sql, capped_params = _ranges_sql(
            listed, reaches, pagination.COUNT_LIMIT + 1, merged=False
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM (SELECT 1 FROM ({capped_sql}) AS ranges LIMIT %s) AS c",
                [*capped_params, pagination.COUNT_LIMIT + 1],
            )
            return pagination.capped(cursor.fetchone()[0])

    return page(request, objects, limit, offset, count, side)


def _merged(queryset: QuerySet, reaches: list[int], first: int) -> QuerySet:
    """The first `first` images of `queryset` within `reaches`, in its order."""
    sql, params = _ranges_sql(queryset, reaches, first)
    return Image.objects.filter(_id_among(sql, params)).order_by(*_ordering(queryset))


def _id_among(sql: str, params: list) -> RawSQL:
    """A condition: the image's id is one of the ids `sql` selects.

    On PostgreSQL as `= ANY(ARRAY(...))`: the ids become one array, found with the primary
    key, where `IN (...)` lets the planner hash-join them against a scan of every image.
    """
    column = f"{connection.ops.quote_name(Image._meta.db_table)}.{connection.ops.quote_name('id')}"
    if connection.vendor == "postgresql":
        condition = f"{column} = ANY(ARRAY({sql}))"
    else:
        condition = f"{column} IN ({sql})"
    return RawSQL(condition, params, output_field=BooleanField())


def _ranges_sql(
    queryset: QuerySet, reaches: list[int], first: int, *, merged: bool = True
) -> tuple[str, list]:
    """SQL for the ids of the first `first` images of each reach, in the list's order.

    The range is compiled once, with a stand-in for the reach, and repeated per reach: a
    person in 20 teams would otherwise pay Django's compiler 22 times a page. Django cannot
    put a sliced queryset in a UNION on SQLite, hence the sub-selects.
    """
    ordering = _ordering(queryset)
    columns = [field.lstrip("-") for field in ordering]
    one = queryset.filter(reach=_ANY_REACH).values("pk", *columns)[:first]
    sql, params = one.query.sql_with_params()
    parts, all_params = [], []
    for number, reach in enumerate(reaches):
        parts.append(f"SELECT * FROM ({sql}) AS reach{number}")
        all_params += [reach if param == _ANY_REACH else param for param in params]
    union = " UNION ALL ".join(parts)
    if len(parts) == 1 or not merged:
        return f"SELECT pk FROM ({union}) AS ranges", all_params
    # Merged in the list's order and cut at `first` again: PostgreSQL then merges the
    # ranges' index scans (Merge Append) and reads about `first` rows in all, rather than
    # `first` of each of a member's 22 ranges.
    quote = connection.ops.quote_name
    order = ", ".join(
        f"{quote(column)}{' DESC' if field.startswith('-') else ''}"
        for field, column in zip(ordering, columns, strict=True)
    )
    return (
        f"SELECT pk FROM ({union}) AS ranges ORDER BY {order} LIMIT %s",
        [*all_params, first],
    )


def _ordering(queryset: QuerySet) -> tuple[str, ...]:
    return tuple(queryset.query.order_by or Image._meta.ordering)
