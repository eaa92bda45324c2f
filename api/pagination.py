"""Tutum's list envelope: {"meta": {limit, offset, next, previous, total_count}, "objects"}."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from rest_framework import serializers

DEFAULT_LIMIT = 25


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
    return value


def paginate(request, queryset: QuerySet, values: tuple[str, ...] = ()) -> tuple[list, dict]:
    """Slice `queryset` by `limit`/`offset`; `next`/`previous` keep every other query parameter.

    `limit=0` asks for the largest page (settings.API_MAX_LIMIT), as in Tastypie. `values`:
    the page as rows of these fields (QuerySet.values), counted before they are asked for, so
    that the count joins none of the tables they come from and can scan an index.
    """
    limit = _non_negative_int(request, "limit", DEFAULT_LIMIT)
    limit = settings.API_MAX_LIMIT if limit == 0 else min(limit, settings.API_MAX_LIMIT)
    offset = _non_negative_int(request, "offset", 0)
    total = queryset.count()
    if values:
        queryset = queryset.values(*values)
    objects = list(queryset[offset : offset + limit]) if offset < total else []

    def link(new_offset: int) -> str:
        params = request.query_params.copy()
        params["limit"] = str(limit)
        params["offset"] = str(new_offset)
        return f"{request.path}?{params.urlencode()}"

    meta = {
        "limit": limit,
        "next": link(offset + limit) if offset + limit < total else None,
        "offset": offset,
        "previous": link(max(offset - limit, 0)) if offset > 0 else None,
        "total_count": total,
    }
    return objects, meta


class ListMetaSerializer(serializers.Serializer):
    limit = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    offset = serializers.IntegerField()
    previous = serializers.CharField(allow_null=True)
    total_count = serializers.IntegerField()


def envelope_serializer(name: str, item: serializers.Serializer) -> type[serializers.Serializer]:
    """A schema-only serializer describing the envelope around `item`, for drf-spectacular."""
    return type(name, (serializers.Serializer,), {"meta": ListMetaSerializer(), "objects": item})
