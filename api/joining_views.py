"""Joining (extensions): staff invite people by email address; an invitation link is
accepted by choosing a username and password; with ALLOW_SIGNUP anyone may sign up."""

from __future__ import annotations

from django.conf import settings
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

from accounts import invitations, joining
from api.core import formats
from api.core.pagination import envelope_serializer, paginate
from api.core.permissions import IsStaff, TeamTokensWhereAllowed
from api.core.schema import ERROR, PAGE_PARAMS
from api.core.throttling import AccountRequests
from api.serializers import (
    InvitationCreateSerializer,
    InvitationOpenSerializer,
    InvitationSerializer,
    JoinSerializer,
    NewInvitationSerializer,
    SignUpSerializer,
)
from records.models import Invitation

INVITATION_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)
TOKEN = OpenApiParameter("token", str, OpenApiParameter.PATH, description="The link's secret.")
JOINED = inline_serializer("Joined", {"username": serializers.CharField()})


def invitation_json(invitation: Invitation) -> dict:
    inviter = invitation.invited_by
    return {
        "id": invitation.pk,
        "resource_uri": f"{formats.API_PREFIX}/invitation/{invitation.pk}/",
        "email": invitation.email,
        "invited_by": inviter.get_username() if inviter else None,
        "created": formats.rfc2822(invitation.created),
        "expires": formats.rfc2822(invitation.expires),
        "is_expired": invitation.is_expired,
        "sent": formats.rfc2822(invitation.sent),
    }


def _issued(issued: invitations.Issued, status_code: int) -> Response:
    body = {
        **invitation_json(issued.invitation),
        "token": issued.token,
        "not_sent": issued.not_sent,
    }
    return Response(body, status=status_code, headers={"Cache-Control": "no-store"})


@extend_schema(
    methods=["GET"],
    operation_id="invitations_list",
    summary="Open invitations, expired ones included (staff)",
    parameters=PAGE_PARAMS,
    responses={
        200: envelope_serializer("InvitationList", InvitationSerializer(many=True)),
        400: ERROR,
        401: ERROR,
        403: ERROR,
    },
)
@extend_schema(
    methods=["POST"],
    operation_id="invitations_create",
    summary="Invite someone by email address (staff)",
    description=(
        "The answer holds the link's secret, once. The link is emailed when email is set up "
        "(`not_sent` says why not otherwise); it works once, for INVITE_DAYS days."
    ),
    request=InvitationCreateSerializer,
    responses={201: NewInvitationSerializer, 400: ERROR, 401: ERROR, 403: ERROR},
)
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticated, TeamTokensWhereAllowed, IsStaff])
def invitation_list(request):
    if request.method == "POST":
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = invitations.invite(request.user, serializer.validated_data["email"])
        return _issued(issued, status.HTTP_201_CREATED)
    found, meta = paginate(request, invitations.pending())
    return Response({"meta": meta, "objects": [invitation_json(i) for i in found]})


@extend_schema(
    methods=["GET"],
    operation_id="invitations_retrieve",
    summary="One open invitation (staff)",
    parameters=[INVITATION_ID],
    responses={200: InvitationSerializer, 401: ERROR, 403: ERROR, 404: ERROR},
)
@extend_schema(
    methods=["DELETE"],
    operation_id="invitations_destroy",
    summary="Cancel an invitation: its link stops working (staff)",
    parameters=[INVITATION_ID],
    responses={204: None, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["GET", "DELETE"])
@permission_classes([IsAuthenticated, TeamTokensWhereAllowed, IsStaff])
def invitation_detail(request, invitation_id: int):
    invitation = invitations.get_pending(invitation_id)
    if request.method == "DELETE":
        invitations.cancel(invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(invitation_json(invitation))


@extend_schema(
    operation_id="invitations_resend",
    summary="Send an invitation again: a new link and expiry, the old link stops (staff)",
    parameters=[INVITATION_ID],
    request=None,
    responses={200: NewInvitationSerializer, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["POST"])
@permission_classes([IsAuthenticated, TeamTokensWhereAllowed, IsStaff])
def invitation_resend(request, invitation_id: int):
    issued = invitations.resend(invitations.get_pending(invitation_id))
    return _issued(issued, status.HTTP_200_OK)


@extend_schema(
    methods=["GET"],
    operation_id="invite_retrieve",
    summary="What an invitation link is for, while it can be accepted",
    parameters=[TOKEN],
    responses={200: InvitationOpenSerializer, 400: ERROR},
    auth=[],
)
@extend_schema(
    methods=["POST"],
    operation_id="invite_accept",
    summary="Accept an invitation: choose a username and password",
    description="The account gets the invited address; the link then works no more.",
    parameters=[TOKEN],
    request=JoinSerializer,
    responses={201: JOINED, 400: ERROR, 429: ERROR},
    auth=[],
)
@api_view(["GET", "POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([AccountRequests])
def invite(request, token: str):
    if request.method == "POST":
        serializer = JoinSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = invitations.accept(token, **serializer.validated_data)
        return Response({"username": user.get_username()}, status=status.HTTP_201_CREATED)
    shown = invitation_json(invitations.open_invitation(token))
    return Response({field: shown[field] for field in ("email", "invited_by", "expires")})


@extend_schema(
    methods=["GET"],
    operation_id="signup_retrieve",
    summary="Whether anyone may sign up here (ALLOW_SIGNUP)",
    responses={200: inline_serializer("SignUpOpen", {"open": serializers.BooleanField()})},
    auth=[],
)
@extend_schema(
    methods=["POST"],
    operation_id="signup_create",
    summary="Make yourself an account, when sign-up is open",
    request=SignUpSerializer,
    responses={201: JOINED, 400: ERROR, 403: ERROR, 429: ERROR},
    auth=[],
)
@api_view(["GET", "POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([AccountRequests])
def signup(request):
    if request.method == "POST":
        serializer = SignUpSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = joining.sign_up(**serializer.validated_data)
        return Response({"username": user.get_username()}, status=status.HTTP_201_CREATED)
    return Response({"open": settings.ALLOW_SIGNUP})
