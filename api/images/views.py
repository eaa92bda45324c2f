"""The Tutum Images and Image Tags endpoints (spec/images.md, spec/image-tags.md), layers and
registries: one function per HTTP verb, joined per URL by api.core.dispatch."""

from __future__ import annotations

import operator
import re
from contextlib import suppress
from functools import reduce

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api.bin import recycling
from api.core import listing
from api.core.auditing import note
from api.core.dispatch import dispatch
from api.core.pagination import envelope_serializer, paginate
from api.core.permissions import get_image, is_team_token, require, token_allowed, visible_images
from api.core.rendering import mark
from api.core.schema import ERROR, NAME, PAGE_PARAMS, TAG
from api.images import filters, kept, registration, walks
from api.images.queries import buildable_tags, is_buildable, pull_tag, visible_tag
from api.images.shapes import (
    IMAGE_FIELDS,
    TAG_LIST_FIELDS,
    TAG_URIS,
    ImagePatchSerializer,
    ImageSerializer,
    ImageWriteSerializer,
    LayerSerializer,
    RegistrySerializer,
    TagSerializer,
    image_row,
    images_json,
    layer_json,
    registry_json,
    tag_json,
    with_tag_uris,
)
from lifecycle import bin as recycle_bin
from records.models import Image, Layer, Registry, Tag, TagCount
from registry import public_images
from teams import access
from teams.access import Ability

IMAGE_FILTERS = [
    OpenApiParameter("name", str, description="Exact image name."),
    OpenApiParameter("name__icontains", str, description="Part of the image name."),
    OpenApiParameter("jumpstart", bool),
    OpenApiParameter("is_private_image", bool),
    OpenApiParameter("is_user_image", bool, description="Images you own."),
    OpenApiParameter("registry", str, description="Registry host or resource URI."),
    OpenApiParameter("team", str, description="Extension: images the team owns."),
    OpenApiParameter("categories__name", str),
    OpenApiParameter("categories", str, description="Same as categories__name."),
    OpenApiParameter("state", str, enum=["Empty", "Building", "Success", "Failed"]),
    OpenApiParameter("order_by", str, enum=list(filters.IMAGE_ORDERINGS)),
    OpenApiParameter(
        "after", str, description="Extension: the page after this image, in the list's order."
    ),
    OpenApiParameter(
        "before", str, description="Extension: the page before this image, in the list's order."
    ),
]


TAGS_PARAM = OpenApiParameter(
    "tags", str, enum=list(TAG_URIS), description="Extension: `none` leaves out the tag URIs."
)


def image_response(request, image: Image, *, status: int = 200, one: bool = False) -> Response:
    """The image as its own answer; `one`: with what only one image's answer carries."""
    states = kept.tag_states([image.pk])
    objects, kept_lists = images_json(
        [image_row(image)],
        access.viewer(request.user),
        tags=with_tag_uris(request.query_params),
        states=states,
    )
    data = objects[0]
    if one:
        # Extensions: the storage its tags take, layers they share counted once, and the
        # tag a pull command names.
        state = states.get(image.pk, kept.NO_TAGS)
        data["storage_size"] = kept.storage_size(image, state)
        data["pull_tag"] = pull_tag(image.pk) if state.count else None
    return mark(Response(data, status=status), kept_lists)


@extend_schema(
    operation_id="images_list",
    summary="List images",
    parameters=[*PAGE_PARAMS, *IMAGE_FILTERS, TAGS_PARAM],
    responses={
        401: ERROR,
        200: envelope_serializer("ImageList", ImageSerializer(many=True)),
        400: ERROR,
    },
)
@token_allowed("GET")
@api_view(["GET"])
def image_list_get(request):
    params, viewer = request.query_params, access.viewer(request.user)
    tags = with_tag_uris(params)
    reaches = filters.reaches_to_read(params, viewer.reaches)
    walk = walks.walk(request, viewer, reaches)
    found = None
    if walk is not None and walk.after is not None:
        # The page goes on from where the walk's last page ended, if the list is unchanged.
        with suppress(ValidationError):  # that image is gone (build-date order)
            found = _image_page(request, reaches, walk.after)
        # Read either way: the counters a plain read of the page is remembered with.
        if not walk.unchanged():
            found = None
    elif walk is not None:
        walk.before_reading()
    images, meta = found or _image_page(request, reaches)
    if walk is not None:
        walk.remember(images, meta)
    objects, kept_lists = images_json(images, viewer, tags=tags)
    return mark(Response({"meta": meta, "objects": objects}), kept_lists)


def _image_page(request, reaches: list[int] | None, after: str | None = None):
    """A page of the image list (images, meta); `after`: it starts after that image, where
    the page at the asked offset starts (api.images.walks)."""
    params = request.query_params
    if after is not None:
        params = params.copy()
        params["after"] = after
    cursor = None if after is not None else filters.name_cursor(params, any_order=True)
    side = cursor[0] if cursor else None
    resumed = after is not None
    # The total counts the whole list, wherever a cursor starts the page.
    if reaches is None:
        whole = filters.filter_images(params, visible_images(request.user), request.user)
        # A narrowed list (a name, a search, a team) is read by an index of its own: its
        # pieces join as one condition on it.
        pieces = reduce(operator.or_, filters.image_pieces(params, whole, request.user))
        return paginate(request, pieces, IMAGE_FIELDS, side, whole=whole, resumed=resumed)
    whole = filters.filter_images(params, Image.objects.all(), request.user)
    return listing.image_page(
        request,
        filters.image_pieces(params, whole, request.user),
        reaches,
        IMAGE_FIELDS,
        kept_total=filters.kept_total(params),
        side=side,
        whole=whole,
        resumed=resumed,
    )


@extend_schema(
    operation_id="images_create",
    summary="Register a private image",
    request=ImageWriteSerializer,
    responses={401: ERROR, 201: ImageSerializer, 400: ERROR, 409: ERROR},
)
@api_view(["POST"])
def image_list_post(request):
    serializer = ImageWriteSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    image = registration.create_image(request.user, serializer.validated_data)
    note(request, "image.register", image.name, team=image.team)
    return image_response(request, image, status=status.HTTP_201_CREATED)


image_list = dispatch(get=image_list_get, post=image_list_post)


@extend_schema(
    operation_id="images_retrieve",
    summary="Get an image",
    parameters=[NAME, TAGS_PARAM],
    responses={401: ERROR, 200: ImageSerializer, 404: ERROR, 502: ERROR},
)
@token_allowed("GET")
@api_view(["GET"])
def image_get(request, name: str):
    cli_tag = _cli_tag(request, name)
    if cli_tag is not None:
        return _tag_response(request, *cli_tag)
    return image_response(request, get_image(request, name), one=True)


@extend_schema(
    operation_id="images_partial_update",
    summary="Update an image",
    parameters=[NAME],
    request=ImagePatchSerializer,
    responses={401: ERROR, 200: ImageSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["PATCH"])
def image_patch(request, name: str):
    image = get_image(request, name)
    require(request, image, Ability.WRITE)
    serializer = ImagePatchSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    was_private = image.is_private_image
    visibility = serializer.validated_data.get("is_private_image", was_private)
    if visibility != was_private:
        require(request, image, Ability.MANAGE)
    registration.update_image(image, serializer.validated_data, user=request.user)
    changed = sorted(set(serializer.validated_data) - {"is_private_image"})
    if changed:
        note(request, "image.edit", image.name, team=image.team, fields=changed)
    if visibility != was_private:
        note(request, "image.visibility", image.name, team=image.team, private=visibility)
    return image_response(request, image)


@extend_schema(
    operation_id="images_destroy",
    summary="Delete an image (extension: to the recycle bin, restorable for RECYCLE_DAYS)",
    parameters=[NAME],
    responses={401: ERROR, 204: None, 403: ERROR, 404: ERROR, 409: ERROR, 502: ERROR, 503: ERROR},
)
@api_view(["DELETE"])
def image_delete(request, name: str):
    image = get_image(request, name)
    require(request, image, Ability.MANAGE)
    recycle_bin.delete_image(image, by=request.user.get_username())
    note(request, "image.delete", image.name, team=image.team)
    return Response(status=status.HTTP_204_NO_CONTENT)


image_detail = dispatch(get=image_get, patch=image_patch, delete=image_delete)


@extend_schema(
    operation_id="image_tags_list",
    summary="List an image's tags",
    parameters=[
        NAME,
        *PAGE_PARAMS,
        OpenApiParameter("name", str, description="Part of the tag name."),
        OpenApiParameter("state", str, enum=["Empty", "Building", "Success", "Failed"]),
        OpenApiParameter("order_by", str, enum=list(filters.TAG_ORDERINGS)),
        OpenApiParameter(
            "after", str, description="Extension: the page after this tag name (name order)."
        ),
        OpenApiParameter(
            "before", str, description="Extension: the page before this tag name (name order)."
        ),
    ],
    responses={
        401: ERROR,
        200: envelope_serializer("TagList", TagSerializer(many=True)),
        400: ERROR,
        404: ERROR,
        502: ERROR,
    },
)
@token_allowed("GET")
@api_view(["GET"])
def tag_list(request, name: str):
    image = get_image(request, name)
    params = request.query_params
    cursor = filters.name_cursor(params)
    whole = filters.filter_tags(
        params,
        Tag.objects.filter(image=image)
        .select_related("layer")
        .only(*TAG_LIST_FIELDS)
        .annotate(buildable=is_buildable(image))
        .order_by("name"),
    )
    tags, meta = paginate(
        request,
        filters.from_cursor(params, whole),
        side=cursor[0] if cursor else None,
        whole=whole,
        total=_kept_tag_count(image, params),
    )
    buildable = {tag.name for tag in tags if tag.buildable}
    abilities = access.abilities(request.user, image)
    objects = [tag_json(t, image.name, buildable, abilities, steps=False) for t in tags]
    return Response({"meta": meta, "objects": objects})


def _kept_tag_count(image: Image, params):
    """The image's tag count as the database keeps it (records.TagCount): the total of an
    unfiltered tag list, exact at any size; None when a filter is on (then it is counted)."""
    if filters.tags_filtered(params):
        return None

    def total() -> tuple[int, bool]:
        kept = TagCount.objects.filter(image_id=image.pk).values_list("tags", flat=True)
        return next(iter(kept), 0), True

    return total


@extend_schema(
    operation_id="image_tags_retrieve",
    summary="Get an image tag",
    parameters=[NAME, TAG],
    responses={401: ERROR, 200: TagSerializer, 404: ERROR, 502: ERROR},
)
@token_allowed("GET")
@api_view(["GET"])
def tag_get(request, name: str, tag: str):
    return _tag_response(request, name, tag)


@extend_schema(
    operation_id="image_tags_destroy",
    summary="Delete a tag (extension: to the recycle bin, restorable for RECYCLE_DAYS)",
    parameters=[NAME, TAG],
    responses={
        204: None,
        400: ERROR,
        401: ERROR,
        403: ERROR,
        404: ERROR,
        409: ERROR,
        502: ERROR,
        503: ERROR,
    },
)
@api_view(["DELETE"])
def tag_delete(request, name: str, tag: str):
    image = get_image(request, name)
    require(request, image, Ability.WRITE)
    recycling.delete_tags(request, image, [tag])
    return Response(status=status.HTTP_204_NO_CONTENT)


tag_detail = dispatch(get=tag_get, delete=tag_delete)


# The tutum CLI splits `image tag inspect|build host:port/ns/app:tag` at the first ':' into
# image and tag (Tutum's own names had no port), so it asks for
# /api/v1/image/<host>/tag/<port>/<ns>/<app>[:<tag>]/, which routes here as an image name.
CLI_TAG_URL = re.compile(
    r"(?P<host>localhost|[^/:]*\.[^/:]*)/tag/(?P<port>[0-9]{1,5})/(?P<path>[^:]+?)(?::(?P<tag>[^/:]+))?"
)


def _cli_tag(request, name: str) -> tuple[str, str] | None:
    """(image, tag) the CLI meant by `name` in a GET, unless an image has that literal name."""
    match = CLI_TAG_URL.fullmatch(name)
    if match is None:
        return None
    if match["tag"] is None and visible_images(request.user).filter(name=name).exists():
        return None
    return f"{match['host']}:{match['port']}/{match['path']}", match["tag"] or "latest"


def _tag_response(request, name: str, tag: str) -> Response:
    # The common case in one query: a known tag of a visible image, with its layer. A team
    # access token's scope is not in that query: it takes the way below.
    tag_obj = None if is_team_token(request) else visible_tag(request.user.pk, name, tag)
    if tag_obj is None:
        image = get_image(request, name)  # a 404 naming the image, or a public lookup
        tag_obj = Tag.objects.filter(image=image, name=tag).select_related("layer").first()
        if tag_obj is None:
            raise Http404(f"{image.name} has no tag {tag}.")
        tag_obj.image = image
        tag_obj.buildable = tag in buildable_tags(image)
    public_images.fill_public_layer(tag_obj)
    buildable = {tag_obj.name} if tag_obj.buildable else set()
    abilities = access.abilities(request.user, tag_obj.image)
    return Response(tag_json(tag_obj, tag_obj.image.name, buildable, abilities))


@extend_schema(
    operation_id="layers_retrieve",
    summary="Get a layer",
    responses={401: ERROR, 200: LayerSerializer, 404: ERROR},
)
@token_allowed("GET")
@api_view(["GET"])
def layer_detail(request, docker_id: str):
    layer = Layer.objects.filter(
        docker_id=docker_id, tags__image__in=visible_images(request.user)
    ).first()
    if layer is None:
        raise Http404(f"No layer {docker_id}.")
    return Response(layer_json(layer))


@extend_schema(
    operation_id="registries_list",
    summary="List registries",
    parameters=PAGE_PARAMS,
    responses={
        401: ERROR,
        200: envelope_serializer("RegistryList", RegistrySerializer(many=True)),
        400: ERROR,
    },
)
@api_view(["GET"])
def registry_list(request):
    registries, meta = paginate(request, Registry.objects.order_by("host"))
    return Response({"meta": meta, "objects": [registry_json(r) for r in registries]})


@extend_schema(
    operation_id="registries_retrieve",
    summary="Get a registry",
    responses={401: ERROR, 200: RegistrySerializer, 404: ERROR},
)
@api_view(["GET"])
def registry_detail(request, host: str):
    registry = Registry.objects.filter(host=host).first()
    if registry is None:
        raise Http404(f"No registry {host}.")
    return Response(registry_json(registry))
