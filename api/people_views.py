"""The people here, for staff (extension): list, look up, deactivate or reactivate, staff."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts import mail, passwords, people
from api.core import formats
from api.core.pagination import envelope_serializer, paginate
from api.core.permissions import IsStaff, TeamTokensWhereAllowed
from api.core.schema import ERROR, PAGE_PARAMS
from api.core.throttling import AccountRequests
from api.serializers import (
    PasswordResetRequestSerializer,
    PasswordResetSerializer,
    PersonPatchSerializer,
    PersonSerializer,
    ResetLinkSerializer,
)

USERNAME = OpenApiParameter("username", str, OpenApiParameter.PATH)


def person_json(user) -> dict:
    profile = getattr(user, "profile", None)
    return {
        "resource_uri": f"{formats.API_PREFIX}/user/{user.get_username()}/",
        "username": user.get_username(),
        "email": user.email,
        "display_name": profile.display_name if profile else "",
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "date_joined": formats.rfc2822(user.date_joined),
        "last_login": formats.rfc2822(user.last_login),
    }


@extend_schema(
    operation_id="users_list",
    summary="List the people here (staff)",
    parameters=PAGE_PARAMS,
    responses={
        200: envelope_serializer("PersonList", PersonSerializer(many=True)),
        400: ERROR,
        401: ERROR,
        403: ERROR,
    },
)
@api_view(["GET"])
@permission_classes([IsAuthenticated, TeamTokensWhereAllowed, IsStaff])
def user_list(request):
    found, meta = paginate(request, people.people())
    return Response({"meta": meta, "objects": [person_json(user) for user in found]})


@extend_schema(
    methods=["GET"],
    operation_id="users_retrieve",
    summary="One person (staff)",
    parameters=[USERNAME],
    responses={200: PersonSerializer, 401: ERROR, 403: ERROR, 404: ERROR},
)
@extend_schema(
    methods=["PATCH"],
    operation_id="users_partial_update",
    summary="Deactivate, reactivate, make or unmake staff (staff)",
    description="A deactivated person's keys, sign-ins and registry logins stop working at once.",
    parameters=[USERNAME],
    request=PersonPatchSerializer,
    responses={200: PersonSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["GET", "PATCH"])
@permission_classes([IsAuthenticated, TeamTokensWhereAllowed, IsStaff])
def user_detail(request, username: str):
    user = people.person(username)
    if request.method == "PATCH":
        serializer = PersonPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        people.change_person(request.user, user, **serializer.validated_data)
    return Response(person_json(user))


@extend_schema(
    operation_id="users_reset_link",
    summary="Make a password reset link for someone (staff)",
    description=(
        "For a person who forgot their password: hand them the link. It works once and expires "
        "after RESET_LINK_HOURS."
    ),
    parameters=[USERNAME],
    request=None,
    responses={200: ResetLinkSerializer, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["POST"])
@permission_classes([IsAuthenticated, TeamTokensWhereAllowed, IsStaff])
def user_reset_link(request, username: str):
    user = people.person(username)
    uid, token = passwords.reset_link_parts(user)
    expires = timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    body = {"username": username, "uid": uid, "token": token, "expires": formats.rfc2822(expires)}
    return Response(body, headers={"Cache-Control": "no-store"})


@extend_schema(
    operation_id="password_reset",
    summary="Choose a new password with a reset link",
    request=PasswordResetSerializer,
    responses={
        200: inline_serializer("PasswordReset", {"username": serializers.CharField()}),
        400: ERROR,
    },
    auth=[],
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def password_reset(request):
    serializer = PasswordResetSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    user = passwords.reset_password(data["uid"], data["token"], data["new_password"])
    return Response({"username": user.get_username()})


RESET_REQUESTED = (
    "If that address belongs to someone here, a link to choose a new password is on its way. "
    "It works once, for {hours} hours. Nothing there? Check the address, or ask a staff member."
)


@extend_schema(
    methods=["GET"],
    operation_id="password_reset_request_retrieve",
    summary="Whether reset links can be emailed here",
    responses={200: inline_serializer("ResetByEmail", {"by_email": serializers.BooleanField()})},
    auth=[],
)
@extend_schema(
    methods=["POST"],
    operation_id="password_reset_request",
    summary="Email me a password reset link",
    description=(
        "The same answer whether or not the address belongs to anyone. Rate-limited per "
        "address asking (ACCOUNT_REQUESTS_PER_HOUR) and per mailbox (RESET_EMAILS_PER_HOUR)."
    ),
    request=PasswordResetRequestSerializer,
    responses={
        202: inline_serializer("ResetRequested", {"detail": serializers.CharField()}),
        400: ERROR,
        429: ERROR,
    },
    auth=[],
)
@api_view(["GET", "POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([AccountRequests])
def password_reset_request(request):
    if request.method == "GET":
        return Response({"by_email": mail.enabled()})
    serializer = PasswordResetRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    if not mail.enabled():
        raise DjangoValidationError(
            "Email isn't set up here, so no link can be sent: ask a staff member for a reset link."
        )
    passwords.email_reset_links(serializer.validated_data["email"])
    detail = RESET_REQUESTED.format(hours=passwords.reset_link_hours())
    return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)
