"""Who can do what, and why (extensions): the people and tokens that reach an image, and
everything you reach."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.response import Response

from api.access.shapes import GrantSerializer, ReachSerializer, grant_json, reach_json, whole_list
from api.core.pagination import envelope_serializer
from api.core.permissions import get_image
from api.core.schema import ERROR, NAME
from teams import access, reach


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
    return Response(whole_list([grant_json(grant) for grant in reach.who_can_reach(image)]))


@extend_schema(
    operation_id="account_access_list",
    summary="Everything you can reach, namespace by namespace, and why",
    responses={200: envelope_serializer("ReachList", ReachSerializer(many=True)), 401: ERROR},
)
@api_view(["GET"])
def account_access(request):
    return Response(whole_list([reach_json(r) for r in reach.what_person_reaches(request.user)]))
