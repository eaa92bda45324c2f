"""Deleting tags and the recycle bin (extensions): "Recently deleted", restore, delete for good.

Tutum deleted nothing but whole images; here a tag's or an image's deletion is undoable for
RECYCLE_DAYS (lifecycle.bin). Writers delete and restore tags; Owners delete and restore
images and empty the bin early. One function per HTTP verb, joined by api.core.dispatch.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from api.bin import recycling
from api.bin.shapes import (
    BinEntryList,
    BinEntrySerializer,
    DeleteTagsSerializer,
    RestoredSerializer,
    entry_json,
    restored_json,
)
from api.core.auditing import note
from api.core.dispatch import dispatch
from api.core.pagination import paginate
from api.core.permissions import get_image, require
from api.core.schema import ERROR, NAME, PAGE_PARAMS
from lifecycle import bin as recycle_bin
from records.models import BinEntry
from teams import access
from teams.access import Ability

ENTRY_ID = OpenApiParameter("entry_id", int, OpenApiParameter.PATH)


def _entries_page(request, queryset):
    entries, meta = paginate(request, queryset.prefetch_related("tag_entries"))
    return Response({"meta": meta, "objects": [entry_json(e) for e in entries]})


@extend_schema(
    operation_id="image_deleted_list",
    summary="An image's recently deleted tags (and untagged manifests)",
    parameters=[NAME, *PAGE_PARAMS],
    responses={200: BinEntryList, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["GET"])
def image_deleted_get(request, name: str):
    image = get_image(request, name)
    require(request, image, Ability.WRITE)
    return _entries_page(request, recycle_bin.entries_of_image(image))


@extend_schema(
    operation_id="image_tags_delete_several",
    summary="Delete several tags at once (to the recycle bin)",
    parameters=[NAME],
    request=DeleteTagsSerializer,
    responses={
        201: BinEntrySerializer(many=True),
        400: ERROR,
        401: ERROR,
        403: ERROR,
        404: ERROR,
        409: ERROR,
        502: ERROR,
        503: ERROR,
    },
)
@api_view(["POST"])
def image_deleted_post(request, name: str):
    image = get_image(request, name)
    require(request, image, Ability.WRITE)
    serializer = DeleteTagsSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    entries = recycling.delete_tags(request, image, serializer.validated_data["tags"])
    return Response([entry_json(e) for e in entries], status=status.HTTP_201_CREATED)


image_deleted = dispatch(get=image_deleted_get, post=image_deleted_post)


@extend_schema(
    operation_id="deleted_list",
    summary="Recently deleted tags, images and untagged manifests you may restore",
    parameters=[
        *PAGE_PARAMS,
        OpenApiParameter("namespace", str, description="Only this namespace (a person, a team)."),
        OpenApiParameter("kind", str, enum=BinEntry.Kind.values),
    ],
    responses={200: BinEntryList, 400: ERROR, 401: ERROR},
)
@api_view(["GET"])
def deleted_list(request):
    entries = recycle_bin.entries_for(request.user)
    namespace = request.query_params.get("namespace")
    if namespace:
        entries = entries.filter(namespace=namespace)
    kind = request.query_params.get("kind")
    if kind:
        if kind not in BinEntry.Kind.values:
            raise serializers.ValidationError({"kind": ["Choose tag, image or untagged."]})
        entries = entries.filter(kind=kind)
    return _entries_page(request, entries)


def _entry(request, entry_id: int) -> BinEntry:
    """An entry the person may restore; anyone else's is a 404, like a private image."""
    return get_object_or_404(recycle_bin.entries_for(request.user), pk=entry_id)


def _require_for_entry(request, entry: BinEntry) -> None:
    """Restoring a tag (or an untagged manifest) takes a Writer; an image, or deleting for
    good, an Owner."""
    needed = Ability.MANAGE if entry.kind == BinEntry.Kind.IMAGE else Ability.WRITE
    access.require(request.user, entry.image or recycle_bin.as_image(entry), needed)


@extend_schema(
    operation_id="deleted_retrieve",
    summary="A recently deleted tag, image or untagged manifest",
    parameters=[ENTRY_ID],
    responses={200: BinEntrySerializer, 401: ERROR, 404: ERROR},
)
@api_view(["GET"])
def deleted_get(request, entry_id: int):
    return Response(entry_json(_entry(request, entry_id)))


@extend_schema(
    operation_id="deleted_destroy",
    summary="Delete for good now (Owners)",
    parameters=[ENTRY_ID],
    responses={204: None, 401: ERROR, 403: ERROR, 404: ERROR, 502: ERROR, 503: ERROR},
)
@api_view(["DELETE"])
def deleted_delete(request, entry_id: int):
    entry = _entry(request, entry_id)
    access.require(request.user, entry.image or recycle_bin.as_image(entry), Ability.MANAGE)
    recycle_bin.purge(entry)
    note(request, "bin.purge", str(entry), team=entry.team_id, digest=entry.digest)
    return Response(status=status.HTTP_204_NO_CONTENT)


deleted_detail = dispatch(get=deleted_get, delete=deleted_delete)


@extend_schema(
    operation_id="deleted_restore",
    summary="Restore a deleted tag, image or untagged manifest (by digest, with no tag)",
    parameters=[ENTRY_ID],
    request=None,
    responses={
        200: RestoredSerializer,
        401: ERROR,
        403: ERROR,
        404: ERROR,
        409: ERROR,
        502: ERROR,
        503: ERROR,
    },
)
@api_view(["POST"])
def deleted_restore(request, entry_id: int):
    entry = _entry(request, entry_id)
    _require_for_entry(request, entry)
    label = str(entry)
    restored = recycle_bin.restore(entry, by=request.user.get_username())
    action = {
        BinEntry.Kind.IMAGE: "image.restore",
        BinEntry.Kind.UNTAGGED: "untagged.restore",
    }.get(entry.kind, "tag.restore")
    note(request, action, label, team=restored.image.team_id, digest=entry.digest)
    return Response(restored_json(restored))
