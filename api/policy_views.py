"""Cleanup policies (extensions), per image and per namespace, with a preview before saving.

Owners set them (an image's Owners; a namespace's: the person it is named after, or the
team's Owners); anyone who may push can read them and preview changes. A policy that would
remove every tag of an image is saved only when `confirm_empty` says so (asked twice).
"""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from api.core import formats
from api.core.auditing import note
from api.core.permissions import get_image, require
from api.core.schema import ERROR, NAME
from lifecycle import policies, sizes
from records.models import CleanupPolicy, Image, Role
from teams import access
from teams.access import Ability

NAMESPACE = OpenApiParameter("namespace", str, OpenApiParameter.PATH)
PATTERN_RULE = (
    "A pattern is 1 to 128 letters, digits, '_', '.', '-', with '*' and '?' as wildcards."
)


class RulesSerializer(serializers.Serializer):
    keep_last = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=10_000, default=None
    )
    older_than_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=3650, default=None
    )
    keep_patterns = serializers.ListField(
        child=serializers.RegexField(
            r"^[A-Za-z0-9_.*?\-]{1,128}$",
            error_messages={"invalid": PATTERN_RULE},
        ),
        required=False,
        max_length=50,
        default=list,
    )
    keep_pulled_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=3650, default=None
    )

    def validate(self, data):
        policies.check_rules(self.rules(data))
        return data

    @staticmethod
    def rules(data) -> policies.Rules:
        return policies.Rules(
            data.get("keep_last"),
            data.get("older_than_days"),
            tuple(data.get("keep_patterns") or ()),
            data.get("keep_pulled_days"),
        )


class PolicySerializer(RulesSerializer):
    enabled = serializers.BooleanField(required=False, default=True)
    confirm_empty = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Required when the policy removes every tag of an image.",
    )


def preview_json(result: policies.Preview) -> dict:
    return {
        "count": result.count,
        "size": result.size,
        "freed": result.freed(),
        "emptied_images": result.emptied,
        "images": [
            {
                "image": item.image.name,
                "total": item.total,
                "tags": [
                    {
                        "name": t.name,
                        "size": t.size,
                        "pushed_at": formats.rfc2822(t.pushed_at or t.last_build_date),
                        "last_pulled": formats.rfc2822(t.last_pulled),
                    }
                    for t in item.going
                ],
            }
            for item in result.images
            if item.going
        ],
    }


def policy_json(policy: CleanupPolicy | None, storage_size: int) -> dict:
    """The policy, its last runs, and the storage of what it governs (layers shared by
    several tags counted once)."""
    if policy is None:
        return {"policy": None, "runs": [], "storage_size": storage_size}
    return {
        "storage_size": storage_size,
        "policy": {
            "keep_last": policy.keep_last,
            "older_than_days": policy.older_than_days,
            "keep_patterns": policy.keep_patterns,
            "keep_pulled_days": policy.keep_pulled_days,
            "enabled": policy.enabled,
            "may_empty_images": policy.may_empty_images,
            "updated": formats.rfc2822(policy.updated),
            "updated_by": policy.updated_by,
        },
        "runs": [
            {
                "started": formats.rfc2822(run.started),
                "removed": run.removed,
                "removed_bytes": run.removed_bytes,
                "error": run.error,
            }
            for run in policy.runs.all()[:20]
        ],
    }


def _storage(images, namespace: str) -> int:
    return sizes.of_namespace(namespace) if namespace else sizes.of_image(images[0])


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
    for key in ("keep_last", "older_than_days", "keep_patterns", "keep_pulled_days", "enabled"):
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


def _policy_endpoint(request, existing, new, images, target: str, team) -> Response:
    if request.method == "GET":
        return Response(policy_json(existing, _storage(images, new.namespace)))
    if request.method == "DELETE":
        if existing is not None:
            existing.delete()
            note(request, "policy.delete", target, team=team)
        return Response(status=status.HTTP_204_NO_CONTENT)
    response = _save(request, existing or new, images)
    note(request, "policy.save", target, team=team, **response.data["policy"])
    return response


def _ours(image: Image) -> None:
    if not image.registry.is_tutum_registry:
        raise serializers.ValidationError(
            {"image": [f"{image.name} is on {image.registry.host}: clean it up there."]}
        )


@extend_schema(
    methods=["GET"],
    operation_id="image_policy_retrieve",
    summary="An image's cleanup policy and its runs",
    parameters=[NAME],
    responses={200: None, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@extend_schema(
    methods=["PUT"],
    operation_id="image_policy_update",
    summary="Set an image's cleanup policy (Owners)",
    parameters=[NAME],
    request=PolicySerializer,
    responses={200: None, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@extend_schema(
    methods=["DELETE"],
    operation_id="image_policy_destroy",
    summary="Remove an image's cleanup policy (Owners)",
    parameters=[NAME],
    responses={204: None, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["GET", "PUT", "DELETE"])
def image_policy(request, name: str):
    image = get_image(request, name)
    require(request, image, Ability.WRITE if request.method == "GET" else Ability.MANAGE)
    _ours(image)
    existing = CleanupPolicy.objects.filter(image=image).first()
    return _policy_endpoint(
        request, existing, CleanupPolicy(image=image), [image], image.name, image.team
    )


@extend_schema(
    operation_id="image_policy_preview",
    summary="What a cleanup policy would remove from an image, before saving it",
    parameters=[NAME],
    request=RulesSerializer,
    responses={200: None, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["POST"])
def image_policy_preview(request, name: str):
    image = get_image(request, name)
    require(request, image, Ability.WRITE)
    _ours(image)
    return _preview(request, [image])


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


@extend_schema(
    methods=["GET"],
    operation_id="namespace_policy_retrieve",
    summary="A namespace's cleanup policy (for its images without their own) and its runs",
    parameters=[NAMESPACE],
    responses={200: None, 401: ERROR, 403: ERROR, 404: ERROR},
)
@extend_schema(
    methods=["PUT"],
    operation_id="namespace_policy_update",
    summary="Set a namespace's cleanup policy (Owners)",
    parameters=[NAMESPACE],
    request=PolicySerializer,
    responses={200: None, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@extend_schema(
    methods=["DELETE"],
    operation_id="namespace_policy_destroy",
    summary="Remove a namespace's cleanup policy (Owners)",
    parameters=[NAMESPACE],
    responses={204: None, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["GET", "PUT", "DELETE"])
def namespace_policy(request, namespace: str):
    team = _namespace(request, namespace, manage=request.method != "GET")
    existing = CleanupPolicy.objects.filter(image=None, namespace=namespace).first()
    images = list(policies.images_of_namespace(namespace))
    return _policy_endpoint(
        request,
        existing,
        CleanupPolicy(namespace=namespace),
        images,
        f"{namespace}/*",
        team,
    )


@extend_schema(
    operation_id="namespace_policy_preview",
    summary="What a cleanup policy would remove from a namespace's images, before saving it",
    parameters=[NAMESPACE],
    request=RulesSerializer,
    responses={200: None, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["POST"])
def namespace_policy_preview(request, namespace: str):
    _namespace(request, namespace, manage=False)
    return _preview(request, list(policies.images_of_namespace(namespace)))
