"""Who can do what, and why (extensions): the people and tokens that reach an image, and
everything you reach."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from api.core import formats
from api.core.pagination import envelope_serializer
from api.core.permissions import get_image
from api.core.schema import ERROR, NAME
from api.representations import permissions_json
from teams import access, reach


class GrantSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["person", "token", "everyone", "staff"])
    name = serializers.CharField(help_text="A username, a token's `<team>+<name>`, or a group.")
    display_name = serializers.CharField(allow_blank=True)
    permissions = serializers.DictField(child=serializers.BooleanField())
    reason = serializers.CharField()
    expires = serializers.CharField(allow_null=True, help_text="A token's expiry, RFC 2822.")


class ReachSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["own", "team", "public", "staff"])
    namespace = serializers.CharField(allow_blank=True)
    role = serializers.CharField(allow_null=True)
    permissions = serializers.DictField(child=serializers.BooleanField())
    reason = serializers.CharField()
    image_count = serializers.IntegerField()


def _whole_list(objects: list) -> dict:
    """The list envelope around a short list that is never paged."""
    count = len(objects)
    meta = {"limit": count, "next": None, "offset": 0, "previous": None, "total_count": count}
    return {"meta": meta, "objects": objects}


def _grant_json(grant: reach.Grant) -> dict:
    return {
        "kind": grant.kind,
        "name": grant.name,
        "display_name": grant.display_name,
        "permissions": permissions_json(grant.abilities),
        "reason": grant.reason,
        "expires": formats.rfc2822(grant.expires),
    }


@extend_schema(
    operation_id="image_access_list",
    summary="Who can reach an image, what each can do, and why",
    description=(
        "For the image's owner, the members of its team, and staff: the people and team "
        "access tokens that reach it (and everyone signed in, when it is public)."
    ),
    parameters=[NAME],
    responses={
        200: envelope_serializer("GrantList", GrantSerializer(many=True)),
        401: ERROR,
        403: ERROR,
        404: ERROR,
    },
)
@api_view(["GET"])
def image_access(request, name: str):
    image = get_image(request, name)
    user = request.user
    insider = (
        user.is_staff
        or image.owner_id == user.pk
        or (image.team_id is not None and access.role_in(user, image.team_id) is not None)
    )
    if not insider:
        raise PermissionDenied(
            f"Only the owner of {image.name} and its team's members can see who reaches it."
        )
    return Response(_whole_list([_grant_json(grant) for grant in reach.who_can_reach(image)]))


@extend_schema(
    operation_id="account_access_list",
    summary="Everything you can reach, namespace by namespace, and why",
    responses={200: envelope_serializer("ReachList", ReachSerializer(many=True)), 401: ERROR},
)
@api_view(["GET"])
def account_access(request):
    return Response(
        _whole_list(
            [
                {
                    "kind": r.kind,
                    "namespace": r.namespace,
                    "role": r.role,
                    "permissions": permissions_json(r.abilities),
                    "reason": r.reason,
                    "image_count": r.image_count,
                }
                for r in reach.what_person_reaches(request.user)
            ]
        )
    )
