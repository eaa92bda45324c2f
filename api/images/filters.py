"""Query-string filters of the image and tag lists; bad values are 400s naming the parameter."""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import QuerySet, Subquery
from rest_framework import serializers

from records import name_search
from records.models import State, Team
from teams.access import PUBLIC, visible_images

_TRUE = {"true", "True", "1"}
_FALSE = {"false", "False", "0"}

IMAGE_ORDERINGS = {
    "name": ("name",),
    "-name": ("-name",),
    "last_build_date": ("last_build_date", "name"),
    "-last_build_date": ("-last_build_date", "name"),
}
TAG_ORDERINGS = {
    "name": ("name",),
    "-name": ("-name",),
    "creation": ("creation", "name"),
    "-creation": ("-creation", "name"),
}


def _boolean(params, name: str) -> bool | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise serializers.ValidationError({name: [f"'{raw}' is not a boolean: use true or false."]})


def _ordering(params, choices: dict[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    raw = params.get("order_by")
    if not raw:
        return None
    if raw not in choices:
        allowed = ", ".join(choices)
        raise serializers.ValidationError({"order_by": [f"'{raw}' is not one of: {allowed}."]})
    return choices[raw]


def filter_images(params, queryset: QuerySet, user) -> QuerySet:
    if name := params.get("name"):
        queryset = queryset.filter(name=name)
    if contains := params.get("name__icontains"):
        queryset = name_search.name_contains(queryset, contains)
    for field in ("jumpstart", "is_private_image"):
        value = _boolean(params, field)
        if value is not None:
            queryset = queryset.filter(**{field: value})
    is_user_image = _boolean(params, "is_user_image")
    if is_user_image is not None and user.pk is None:
        # A team access token is no person: it owns none of the images it sees.
        queryset = queryset.none() if is_user_image else queryset
    elif is_user_image is True:
        queryset = queryset.filter(owner=user)
    elif is_user_image is False:
        queryset = queryset.exclude(owner=user)
    if team := params.get("team"):
        # The team's id first, so that its images are one range of the image_team index.
        queryset = queryset.filter(team_id=Subquery(Team.objects.filter(name=team).values("pk")))
    if registry := params.get("registry"):
        # A host, or the registry's resource URI as the API returns it.
        match = re.fullmatch(r"/api/v1/registry/(.+)/", registry)
        queryset = queryset.filter(registry__host=match.group(1) if match else registry)
    categories = params.getlist("categories__name") + params.getlist("categories")
    for category in filter(None, categories):
        queryset = queryset.filter(categories__name=category)
    if state := params.get("state"):
        if state not in State.values:
            allowed = ", ".join(State.values)
            raise serializers.ValidationError({"state": [f"'{state}' is not one of: {allowed}."]})
        queryset = queryset.filter(state=state)
    if ordering := _ordering(params, IMAGE_ORDERINGS):
        queryset = queryset.order_by(*ordering)
    return queryset


def from_cursor(params, queryset: QuerySet) -> QuerySet:
    """The images (or an image's tags) after or before the name_cursor, nearest first (a
    page `before` it is turned round by api.core.pagination). Name order only (image_pieces
    reads the other orders)."""
    cursor = name_cursor(params)
    if cursor is None:
        return queryset
    side, name = cursor
    descending = params.get("order_by") == "-name"
    later = (side == "after") != descending
    queryset = queryset.filter(**{"name__gt" if later else "name__lt": name})
    if side == "before":
        queryset = queryset.order_by("name" if descending else "-name")
    return queryset


def name_cursor(params, *, any_order: bool = False) -> tuple[str, str] | None:
    """Extension: `after=<name>` (the page after that image, or tag) or `before=<name>`: a
    page found in an index wherever it is, where a deep `offset` reads every row before it.
    Tags: in name order only; images (`any_order`): in each of their orders. ("after" |
    "before", name), or None."""
    after, before = params.get("after"), params.get("before")
    if not after and not before:
        return None
    if after and before:
        raise serializers.ValidationError({"before": ["Give either after or before, not both."]})
    if not any_order and (params.get("order_by") or "name") not in ("name", "-name"):
        side = "after" if after else "before"
        raise serializers.ValidationError({side: ["Works with order_by=name or -name only."]})
    return ("after", after) if after else ("before", before)


def image_pieces(params, queryset: QuerySet, user) -> list[QuerySet]:
    """The images after or before the name_cursor, nearest first, in consecutive pieces that
    each read one range of an index (api.core.listing reads them in turn until the page is full).

    In name order, one piece (from_cursor). In build-date order the named image (one `user`
    sees) gives its build date, and the images past it are three ranges of the
    (reach, last_build_date, name) index: built at that moment with a later name, built
    before (or after) it, and never built, where the database sorts never-built images
    after the others (PostgreSQL sorts NULL as the largest date, SQLite as the smallest).
    One condition joining them with OR would read no range at all on SQLite.
    """
    cursor = name_cursor(params, any_order=True)
    if cursor is None:
        return [queryset]
    if (params.get("order_by") or "name") in ("name", "-name"):
        return [from_cursor(params, queryset)]
    side, name = cursor
    named = visible_images(user).filter(name=name)
    found = list(named.values_list("last_build_date", flat=True)[:1])
    if not found:
        message = f"No image named {name} in this list: start again from the first page."
        raise serializers.ValidationError({side: [message]})
    built, later = found[0], side == "after"
    # The direction the pieces are read in: a page before the cursor is read backwards.
    descending = (params.get("order_by") == "-last_build_date") == later
    never_last = connection.features.nulls_order_largest != descending
    read = queryset.order_by(
        "-last_build_date" if descending else "last_build_date", "name" if later else "-name"
    )
    past_name = {"name__gt" if later else "name__lt": name}
    if built is None:
        pieces = [read.filter(last_build_date__isnull=True, **past_name)]
        return pieces if never_last else [*pieces, read.filter(last_build_date__isnull=False)]
    pieces = [
        read.filter(last_build_date=built, **past_name),
        read.filter(**{"last_build_date__lt" if descending else "last_build_date__gt": built}),
    ]
    return [*pieces, read.filter(last_build_date__isnull=True)] if never_last else pieces


# Filters served by an index of their own (the name, the trigram search, the owner's or the
# team's images) rather than by the reaches' ranges (api.core.listing).
_NARROWING = ("name", "name__icontains", "team")
_FILTERS = (
    *_NARROWING,
    "jumpstart",
    "is_user_image",
    "registry",
    "categories__name",
    "categories",
    "state",
)


def reaches_to_read(params, reaches: list[int] | None) -> list[int] | None:
    """Which of the viewer's reaches (teams.access.Viewer.reaches) the list reads, or None
    when a narrowing filter (or a team token's scope) picks the images instead."""
    if reaches is None or any(params.get(name) for name in _NARROWING):
        return None
    if _boolean(params, "is_user_image") is True:
        return None
    private = _boolean(params, "is_private_image")
    if private is True:
        return [reach for reach in reaches if reach != PUBLIC]
    if private is False:
        return [PUBLIC]
    return reaches


def kept_total(params) -> bool:
    """Whether the list's total is the sum of its reaches' counts the database keeps: no
    filter but is_private_image (which only picks reaches) is on."""
    return not any(params.get(name) for name in _FILTERS)


def tags_filtered(params) -> bool:
    """Whether filter_tags picks some of an image's tags (ordering picks them all)."""
    return bool(params.get("name") or params.get("state"))


def filter_tags(params, queryset: QuerySet) -> QuerySet:
    if name := params.get("name"):
        queryset = queryset.filter(name__icontains=name)
    if state := params.get("state"):
        queryset = queryset.filter(state=state)
    if ordering := _ordering(params, TAG_ORDERINGS):
        queryset = queryset.order_by(*ordering)
    return queryset
