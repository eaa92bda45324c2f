"""Builds: start one, its history, a build and its log; GitHub's push webhook (autobuild).
One function per HTTP verb, joined per URL by api.core.dispatch."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs

from django.db.models.functions import Length
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotAuthenticated, ParseError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from api.builds.shapes import (
    PONG,
    BuildLogSerializer,
    BuildRequestSerializer,
    BuildSerializer,
    GitHubPushSerializer,
    WebhookAcceptedSerializer,
    WebhookPongSerializer,
    WebhookSerializer,
    accepted_json,
    build_json,
    log_json,
    webhook_json,
)
from api.core import formats, negotiation
from api.core.auditing import note
from api.core.dispatch import dispatch
from api.core.pagination import envelope_serializer, paginate
from api.core.permissions import (
    TeamTokensWhereAllowed,
    get_image,
    is_team_token,
    require,
    token_allowed,
    visible_images,
)
from api.core.schema import ERROR, NAME, PAGE_PARAMS, TAG
from api.images.queries import buildable_tags
from api.images.shapes import TagSerializer, tag_json
from builds import leases
from builds import queue as build_rules
from lib.errors import Conflict
from records.models import Build, Image, Tag
from teams import access
from teams.access import Ability


def _history(tag: Tag):
    return (
        Build.objects.filter(tag=tag)
        .select_related("triggered_by")
        .annotate(log_size=Length("log"))
        .defer("log")
    )


@extend_schema(
    operation_id="image_tags_builds_list",
    summary="Build history of an image tag, newest first",
    parameters=[NAME, TAG, *PAGE_PARAMS],
    responses={
        200: envelope_serializer("BuildList", BuildSerializer(many=True)),
        400: ERROR,
        401: ERROR,
        404: ERROR,
    },
)
@token_allowed("GET")
@api_view(["GET"])
def tag_build_get(request, name: str, tag: str):
    image = get_image(request, name)
    tag_obj = Tag.objects.filter(image=image, name=tag).first()
    if tag_obj is None:
        raise Http404(f"{image.name} has no tag {tag}.")
    builds, meta = paginate(request, _history(tag_obj))
    workers = build_rules.workers_online()
    return Response(
        {"meta": meta, "objects": [build_json(b, image.name, tag, workers) for b in builds]}
    )


@extend_schema(
    operation_id="image_tags_build",
    summary="Build an image tag from its build setting",
    description="Queues a build; 409 while this tag already builds. Location names the build.",
    parameters=[NAME, TAG],
    request=BuildRequestSerializer,
    responses={202: TagSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
)
@token_allowed("POST")
@api_view(["POST"])
def tag_build_post(request, name: str, tag: str):
    image = get_image(request, name)
    require(request, image, Ability.WRITE)
    body = BuildRequestSerializer(data=request.data or {})
    body.is_valid(raise_exception=True)
    # A token is no person to record (the build's trigger says the API started it).
    person = None if is_team_token(request) else request.user
    build = build_rules.start_build(image, tag, user=person, trigger=body.validated_data["trigger"])
    note(request, "tag.build", f"{image.name}:{tag}", team=image.team, build=str(build.uuid))
    tag_obj = Tag.objects.select_related("layer").get(pk=build.tag_id)
    response = Response(
        tag_json(tag_obj, image.name, buildable_tags(image), access.abilities(request.user, image)),
        status=status.HTTP_202_ACCEPTED,
    )
    response["Location"] = formats.build_uri(build.uuid)
    return response


tag_build = dispatch(get=tag_build_get, post=tag_build_post)


def _get_build(request, uuid: str) -> Build:
    build = (
        Build.objects.filter(uuid=uuid, tag__image__in=visible_images(request.user))
        .select_related("tag__image", "triggered_by")
        .annotate(log_size=Length("log"))
        .defer("log")
        .first()
    )
    if build is None:
        raise Http404(f"No build {uuid}.")
    return build


def _build_response(build: Build) -> dict:
    return build_json(build, build.tag.image.name, build.tag.name, build_rules.workers_online())


@extend_schema(
    operation_id="builds_retrieve",
    summary="Get a build",
    responses={200: BuildSerializer, 401: ERROR, 404: ERROR},
)
@token_allowed("GET")
@api_view(["GET"])
def build_detail(request, uuid: str):
    build = _get_build(request, uuid)
    if build.is_active:
        leases.reap_stale_builds()
        build = _get_build(request, uuid)
    return Response(_build_response(build))


@extend_schema(
    operation_id="builds_log",
    summary="Read a build's log from an offset (follow it while it runs)",
    description=(
        "Returns the log text from character `offset`; call again with `next_offset` until "
        "`complete` is true."
    ),
    parameters=[OpenApiParameter("offset", int, description="Characters already read.")],
    responses={200: BuildLogSerializer, 400: ERROR, 401: ERROR, 404: ERROR},
)
@token_allowed("GET")
@api_view(["GET"])
def build_log(request, uuid: str):
    build = _get_build(request, uuid)
    raw = request.query_params.get("offset", "0")
    if not raw.isdigit():
        raise serializers.ValidationError({"offset": ["Must be a whole number, 0 or more."]})
    offset = min(int(raw), build.log_size)
    return Response(log_json(build, offset, build_rules.log_slice(build, offset)))


@extend_schema(
    operation_id="builds_cancel",
    summary="Cancel a queued or running build",
    description="The worker stops within a second; nothing is pushed. 409 if it has ended.",
    request=None,
    responses={200: BuildSerializer, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
)
@api_view(["POST"])
def build_cancel(request, uuid: str):
    build = _get_build(request, uuid)
    require(request, build.tag.image, Ability.WRITE)
    build_rules.cancel(build, request.user)
    image = build.tag.image
    note(request, "build.cancel", f"{image.name}:{build.tag.name}", team=image.team)
    build = _get_build(request, uuid)
    return Response(_build_response(build))


def _signature_ok(secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return bool(secret) and hmac.compare_digest(expected.encode(), header.strip().encode())


def _payload(request) -> dict:
    body = request.body
    if request.content_type == "application/x-www-form-urlencoded":
        body = (parse_qs(body.decode(errors="replace")).get("payload") or ["{}"])[0].encode()
    try:
        data = negotiation.loads(body or b"{}")
    except ParseError as error:
        raise serializers.ValidationError({"payload": [str(error.detail)]}) from error
    if not isinstance(data, dict):
        raise serializers.ValidationError({"payload": ["Expected a JSON object."]})
    return data


@extend_schema(
    operation_id="webhook_retrieve",
    summary="The GitHub push webhook of an image: URL and secret (owner only)",
    parameters=[NAME],
    responses={200: WebhookSerializer, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["GET"])
@permission_classes([AllowAny, TeamTokensWhereAllowed])
def github_webhook_get(request, name: str):
    # The URL lets GitHub in unauthenticated (POST); reading the secret takes a person.
    if request.user is None:
        raise NotAuthenticated()
    image = get_image(request, name)
    require(request, image, Ability.WRITE)
    return Response(webhook_json(image))


@extend_schema(
    operation_id="webhook_github",
    summary="GitHub push webhook: builds the autobuild settings of the pushed branch",
    description="Signed with `X-Hub-Signature-256` (HMAC-SHA256 of the body, the image's secret).",
    parameters=[NAME],
    request=GitHubPushSerializer,
    responses={
        200: WebhookPongSerializer,
        202: WebhookAcceptedSerializer,
        400: ERROR,
        401: ERROR,
        404: ERROR,
    },
    auth=[],
)
@api_view(["POST"])
@permission_classes([AllowAny, TeamTokensWhereAllowed])
def github_webhook_post(request, name: str):
    body = request.body
    image = Image.objects.filter(name=name).select_related("build_source").first()
    header = request.META.get("HTTP_X_HUB_SIGNATURE_256", "")
    # An unknown image answers like a wrong signature, so names do not leak.
    if image is None or not _signature_ok(image.webhook_secret, body, header):
        response = Response(
            {"error": "Missing or wrong X-Hub-Signature-256 for this image's webhook secret."},
            status=status.HTTP_401_UNAUTHORIZED,
        )
        response["WWW-Authenticate"] = 'HMAC realm="github-webhook"'
        return response
    event = request.META.get("HTTP_X_GITHUB_EVENT", "push")
    if event == "ping":
        return Response(PONG)
    payload = _payload(request)
    ref = payload.get("ref") if isinstance(payload.get("ref"), str) else ""
    if event != "push" or not ref.startswith("refs/heads/") or payload.get("deleted"):
        message = "Not a push to a branch: nothing to build."
        return Response(accepted_json([], {}, message), status=status.HTTP_202_ACCEPTED)
    branch = ref.removeprefix("refs/heads/")
    source = getattr(image, "build_source", None)
    settings_for_branch = (
        source.build_settings.filter(branch=branch, autobuild=True) if source else []
    )
    built, skipped = [], {}
    for setting in settings_for_branch:
        try:
            build_rules.start_build(
                image, setting.tag, user=image.owner, trigger=Build.Trigger.WEBHOOK
            )
            built.append(formats.tag_uri(image.name, setting.tag))
        except Conflict as conflict:
            skipped[setting.tag] = conflict.message
    message = (
        f"Building {len(built)} tag(s) from branch {branch}."
        if settings_for_branch
        else f"No build setting with autobuild builds branch {branch}: nothing to build."
    )
    return Response(accepted_json(built, skipped, message), status=status.HTTP_202_ACCEPTED)


github_webhook = dispatch(get=github_webhook_get, post=github_webhook_post)
