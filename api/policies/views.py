"""Cleanup policies (extensions), per image and per namespace, with a preview before saving.

Owners set them (an image's Owners; a namespace's: the person it is named after, or the
team's Owners); anyone who may push can read them and preview changes. A policy that would
remove every tag of an image is saved only when `confirm_empty` says so (asked twice).
One function per HTTP verb, joined by api.core.dispatch.
"""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from api.core.auditing import note
from api.core.dispatch import dispatch
from api.core.permissions import get_image, require
from api.core.schema import ERROR, NAME
from api.policies.shapes import (
    CleanupPolicyStateSerializer,
    CleanupPreviewSerializer,
    PolicySerializer,
    RulesSerializer,
    policy_json,
    preview_json,
)
from lifecycle import policies, sizes
from records.models import CleanupPolicy, Image, Role
from teams import access
from teams.access import Ability

NAMESPACE = OpenApiParameter("namespace", str, OpenApiParameter.PATH)


def _storage(images, namespace: str) -> dict:
    """The storage of what a policy governs: its tags', and what untagged manifests add."""
    if namespace:
        size, untagged = sizes.of_namespace(namespace), sizes.untagged_of_namespace(namespace)
    else:
        size, untagged = sizes.of_image(images[0]), sizes.untagged_of_image(images[0])
    return {"storage_size": size, "untagged_count": untagged[0], "untagged_size": untagged[1]}


def _save(request, policy: CleanupPolicy, images) -> Response:
    serializer = PolicySerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    result = policies.preview(serializer.rules(data), images)
    if result.emptied and not data["confirm_empty"]:
        names = ", ".join(result.emptied[:5])
        raise serializers.ValidationError(
            {
                "confirm_empty": [
                    f"This policy would remove every tag of {names}: confirm that this is "
                    "what you want (they go to Recently deleted first)."
                ]
            }
        )
    for key in (
        "keep_last",
        "older_than_days",
        "keep_patterns",
        "keep_pulled_days",
        "untagged_days",
        "enabled",
    ):
        setattr(policy, key, data[key])
    policy.may_empty_images = bool(result.emptied) and data["confirm_empty"]
    policy.updated, policy.updated_by = timezone.now(), request.user.get_username()
    policy.save()
    return Response(policy_json(policy, _storage(images, policy.namespace)))


def _preview(request, images) -> Response:
    serializer = RulesSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return Response(
        preview_json(policies.preview(serializer.rules(serializer.validated_data), images))
    )


def _show(existing, new, images) -> Response:
    return Response(policy_json(existing, _storage(images, new.namespace)))


def _put(request, existing, new, images, target: str, team) -> Response:
    response = _save(request, existing or new, images)
    note(request, "policy.save", target, team=team, **response.data["policy"])
    return response


def _remove(request, existing, target: str, team) -> Response:
    if existing is not None:
        existing.delete()
        note(request, "policy.delete", target, team=team)
    return Response(status=status.HTTP_204_NO_CONTENT)


def _ours(image: Image) -> None:
    if not image.registry.is_tutum_registry:
        raise serializers.ValidationError(
            {"image": [f"{image.name} is on {image.registry.host}: clean it up there."]}
        )


def _image(request, name: str, ability: Ability) -> Image:
    """The image `name` on our registry, if the caller may do `ability` with it."""
    image = get_image(request, name)
    require(request, image, ability)
    _ours(image)
    return image


def _image_policy(image: Image) -> CleanupPolicy | None:
    return CleanupPolicy.objects.filter(image=image).first()


@extend_schema(
    operation_id="image_policy_retrieve",
    summary="An image's cleanup policy and its runs",
    parameters=[NAME],
    responses={200: CleanupPolicyStateSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["GET"])
def image_policy_get(request, name: str):
    image = _image(request, name, Ability.WRITE)
    return _show(_image_policy(image), CleanupPolicy(image=image), [image])


@extend_schema(
    operation_id="image_policy_update",
    summary="Set an image's cleanup policy (Owners)",
    parameters=[NAME],
    request=PolicySerializer,
    responses={200: CleanupPolicyStateSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["PUT"])
def image_policy_put(request, name: str):
    image = _image(request, name, Ability.MANAGE)
    existing, new = _image_policy(image), CleanupPolicy(image=image)
    return _put(request, existing, new, [image], image.name, image.team)


@extend_schema(
    operation_id="image_policy_destroy",
    summary="Remove an image's cleanup policy (Owners)",
    parameters=[NAME],
    responses={204: None, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["DELETE"])
def image_policy_delete(request, name: str):
    image = _image(request, name, Ability.MANAGE)
    return _remove(request, _image_policy(image), image.name, image.team)


image_policy = dispatch(get=image_policy_get, put=image_policy_put, delete=image_policy_delete)


@extend_schema(
    operation_id="image_policy_preview",
    summary="What a cleanup policy would remove from an image, before saving it",
    parameters=[NAME],
    request=RulesSerializer,
    responses={200: CleanupPreviewSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["POST"])
def image_policy_preview(request, name: str):
    return _preview(request, [_image(request, name, Ability.WRITE)])


def _namespace(request, namespace: str, *, manage: bool):
    """The team (or None for a person's own) whose namespace this is; a 404 for a namespace
    the person has no part in, a 403 when they may look but not set."""
    team, role = access.namespace_role(request.user, namespace)
    if role is None:
        raise Http404(f"No namespace named {namespace} of yours.")
    needed = Role.OWNER if manage else Role.WRITER
    if not access.at_least(role, needed):
        raise PermissionDenied(
            f"You are a {role} in team {namespace}: only its Owners set cleanup policies."
        )
    return team


def _namespace_policy(namespace: str) -> CleanupPolicy | None:
    return CleanupPolicy.objects.filter(image=None, namespace=namespace).first()


@extend_schema(
    operation_id="namespace_policy_retrieve",
    summary="A namespace's cleanup policy (for its images without their own) and its runs",
    parameters=[NAMESPACE],
    responses={200: CleanupPolicyStateSerializer, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["GET"])
def namespace_policy_get(request, namespace: str):
    _namespace(request, namespace, manage=False)
    images = list(policies.images_of_namespace(namespace))
    return _show(_namespace_policy(namespace), CleanupPolicy(namespace=namespace), images)


@extend_schema(
    operation_id="namespace_policy_update",
    summary="Set a namespace's cleanup policy (Owners)",
    parameters=[NAMESPACE],
    request=PolicySerializer,
    responses={200: CleanupPolicyStateSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["PUT"])
def namespace_policy_put(request, namespace: str):
    team = _namespace(request, namespace, manage=True)
    existing, new = _namespace_policy(namespace), CleanupPolicy(namespace=namespace)
    images = list(policies.images_of_namespace(namespace))
    return _put(request, existing, new, images, f"{namespace}/*", team)


@extend_schema(
    operation_id="namespace_policy_destroy",
    summary="Remove a namespace's cleanup policy (Owners)",
    parameters=[NAMESPACE],
    responses={204: None, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["DELETE"])
def namespace_policy_delete(request, namespace: str):
    team = _namespace(request, namespace, manage=True)
    return _remove(request, _namespace_policy(namespace), f"{namespace}/*", team)


namespace_policy = dispatch(
    get=namespace_policy_get, put=namespace_policy_put, delete=namespace_policy_delete
)


@extend_schema(
    operation_id="namespace_policy_preview",
    summary="What a cleanup policy would remove from a namespace's images, before saving it",
    parameters=[NAMESPACE],
    request=RulesSerializer,
    responses={200: CleanupPreviewSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["POST"])
def namespace_policy_preview(request, namespace: str):
    _namespace(request, namespace, manage=False)
    return _preview(request, list(policies.images_of_namespace(namespace)))
