"""The people here (extensions). Staff list, look up, deactivate or reactivate people, make
them staff, and hand out reset links; staff invite people by email address, and an invitation
link is accepted by choosing a username and password; with ALLOW_SIGNUP anyone may sign up.
Anyone may choose a new password with a reset link, or ask for one by email."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts import invitations, joining, mail, passwords, people, two_factor
from api.core.auditing import note
from api.core.dispatch import dispatch
from api.core.pagination import envelope_serializer, paginate
from api.core.permissions import IsStaff, TeamTokensWhereAllowed
from api.core.schema import ERROR, PAGE_PARAMS
from api.core.throttling import AccountRequests
from api.people.shapes import (
    InvitationCreateSerializer,
    InvitationOpenSerializer,
    InvitationSerializer,
    JoinedSerializer,
    JoinSerializer,
    NewInvitationSerializer,
    PasswordResetDoneSerializer,
    PasswordResetRequestSerializer,
    PasswordResetSerializer,
    PersonPatchSerializer,
    PersonSerializer,
    ResetByEmailSerializer,
    ResetLinkSerializer,
    ResetRequestedSerializer,
    SignUpOpenSerializer,
    SignUpSerializer,
    invitation_json,
    joined_json,
    new_invitation_json,
    open_invitation_json,
    person_json,
    reset_by_email_json,
    reset_link_json,
    reset_requested_json,
    sign_up_open_json,
)
from lib.errors import Conflict

USERNAME = OpenApiParameter("username", str, OpenApiParameter.PATH)
INVITATION_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)
TOKEN = OpenApiParameter("token", str, OpenApiParameter.PATH, description="The link's secret.")
STAFF_ONLY = [IsAuthenticated, TeamTokensWhereAllowed, IsStaff]
# Secrets are shown once: no cache keeps the answer that holds one.
NO_STORE = {"Cache-Control": "no-store"}


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
@permission_classes(STAFF_ONLY)
def user_list(request):
    found, meta = paginate(request, people.people())
    return Response({"meta": meta, "objects": [person_json(user) for user in found]})


@extend_schema(
    operation_id="users_retrieve",
    summary="One person (staff)",
    parameters=[USERNAME],
    responses={200: PersonSerializer, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["GET"])
@permission_classes(STAFF_ONLY)
def user_detail_get(request, username: str):
    return Response(person_json(people.person(username)))


@extend_schema(
    operation_id="users_partial_update",
    summary="Deactivate, reactivate, make or unmake staff (staff)",
    description="A deactivated person's keys, sign-ins and registry logins stop working at once.",
    parameters=[USERNAME],
    request=PersonPatchSerializer,
    responses={200: PersonSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["PATCH"])
@permission_classes(STAFF_ONLY)
def user_detail_patch(request, username: str):
    user = people.person(username)
    serializer = PersonPatchSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    people.change_person(request.user, user, **serializer.validated_data)
    return Response(person_json(user))


user_detail = dispatch(get=user_detail_get, patch=user_detail_patch)


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
@permission_classes(STAFF_ONLY)
def user_reset_link(request, username: str):
    user = people.person(username)
    uid, token = passwords.reset_link_parts(user)
    expires = timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    return Response(reset_link_json(username, uid, token, expires), headers=NO_STORE)


@extend_schema(
    operation_id="users_two_factor_reset",
    summary="Turn someone's two-factor sign-in off, for a person who lost their phone (staff)",
    description=(
        "They sign in with their password alone again and may set it up anew. Recorded in the "
        "audit trail. 404 for an unknown username; 409 when it is not on."
    ),
    parameters=[USERNAME],
    request=None,
    responses={204: None, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
)
@api_view(["DELETE"])
@permission_classes(STAFF_ONLY)
def user_two_factor(request, username: str):
    user = people.person(username)
    if not two_factor.turn_off(user):
        raise Conflict(f"Two-factor sign-in is not on for {username}.")
    note(request, "two_factor.reset", username)
    return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    operation_id="password_reset",
    summary="Choose a new password with a reset link",
    request=PasswordResetSerializer,
    responses={200: PasswordResetDoneSerializer, 400: ERROR},
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
    return Response(joined_json(user))


@extend_schema(
    operation_id="password_reset_request_retrieve",
    summary="Whether reset links can be emailed here",
    responses={200: ResetByEmailSerializer},
    auth=[],
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([AccountRequests])
def password_reset_request_get(request):
    return Response(reset_by_email_json(mail.enabled()))


@extend_schema(
    operation_id="password_reset_request",
    summary="Email me a password reset link",
    description=(
        "The same answer whether or not the address belongs to anyone. Rate-limited per "
        "address asking (ACCOUNT_REQUESTS_PER_HOUR) and per mailbox (RESET_EMAILS_PER_HOUR)."
    ),
    request=PasswordResetRequestSerializer,
    responses={202: ResetRequestedSerializer, 400: ERROR, 429: ERROR},
    auth=[],
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([AccountRequests])
def password_reset_request_post(request):
    serializer = PasswordResetRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    if not mail.enabled():
        raise DjangoValidationError(
            "Email isn't set up here, so no link can be sent: ask a staff member for a reset link."
        )
    passwords.email_reset_links(serializer.validated_data["email"])
    body = reset_requested_json(passwords.reset_link_hours())
    return Response(body, status=status.HTTP_202_ACCEPTED)


password_reset_request = dispatch(get=password_reset_request_get, post=password_reset_request_post)


@extend_schema(
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
@api_view(["GET"])
@permission_classes(STAFF_ONLY)
def invitation_list_get(request):
    found, meta = paginate(request, invitations.pending())
    return Response({"meta": meta, "objects": [invitation_json(i) for i in found]})


@extend_schema(
    operation_id="invitations_create",
    summary="Invite someone by email address (staff)",
    description=(
        "The answer holds the link's secret, once. The link is emailed when email is set up "
        "(`not_sent` says why not otherwise); it works once, for INVITE_DAYS days."
    ),
    request=InvitationCreateSerializer,
    responses={201: NewInvitationSerializer, 400: ERROR, 401: ERROR, 403: ERROR},
)
@api_view(["POST"])
@permission_classes(STAFF_ONLY)
def invitation_list_post(request):
    serializer = InvitationCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    issued = invitations.invite(request.user, serializer.validated_data["email"])
    return Response(new_invitation_json(issued), status=status.HTTP_201_CREATED, headers=NO_STORE)


invitation_list = dispatch(get=invitation_list_get, post=invitation_list_post)


@extend_schema(
    operation_id="invitations_retrieve",
    summary="One open invitation (staff)",
    parameters=[INVITATION_ID],
    responses={200: InvitationSerializer, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["GET"])
@permission_classes(STAFF_ONLY)
def invitation_detail_get(request, invitation_id: int):
    return Response(invitation_json(invitations.get_pending(invitation_id)))


@extend_schema(
    operation_id="invitations_destroy",
    summary="Cancel an invitation: its link stops working (staff)",
    parameters=[INVITATION_ID],
    responses={204: None, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["DELETE"])
@permission_classes(STAFF_ONLY)
def invitation_detail_delete(request, invitation_id: int):
    invitations.cancel(invitations.get_pending(invitation_id))
    return Response(status=status.HTTP_204_NO_CONTENT)


invitation_detail = dispatch(get=invitation_detail_get, delete=invitation_detail_delete)


@extend_schema(
    operation_id="invitations_resend",
    summary="Send an invitation again: a new link and expiry, the old link stops (staff)",
    parameters=[INVITATION_ID],
    request=None,
    responses={200: NewInvitationSerializer, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["POST"])
@permission_classes(STAFF_ONLY)
def invitation_resend(request, invitation_id: int):
    issued = invitations.resend(invitations.get_pending(invitation_id))
    return Response(new_invitation_json(issued), status=status.HTTP_200_OK, headers=NO_STORE)


@extend_schema(
    operation_id="invite_retrieve",
    summary="What an invitation link is for, while it can be accepted",
    parameters=[TOKEN],
    responses={200: InvitationOpenSerializer, 400: ERROR},
    auth=[],
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([AccountRequests])
def invite_get(request, token: str):
    return Response(open_invitation_json(invitations.open_invitation(token)))


@extend_schema(
    operation_id="invite_accept",
    summary="Accept an invitation: choose a username and password",
    description="The account gets the invited address; the link then works no more.",
    parameters=[TOKEN],
    request=JoinSerializer,
    responses={201: JoinedSerializer, 400: ERROR, 429: ERROR},
    auth=[],
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([AccountRequests])
def invite_post(request, token: str):
    serializer = JoinSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = invitations.accept(token, **serializer.validated_data)
    return Response(joined_json(user), status=status.HTTP_201_CREATED)


invite = dispatch(get=invite_get, post=invite_post)


@extend_schema(
    operation_id="signup_retrieve",
    summary="Whether anyone may sign up here (ALLOW_SIGNUP)",
    responses={200: SignUpOpenSerializer},
    auth=[],
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([AccountRequests])
def signup_get(request):
    return Response(sign_up_open_json(settings.ALLOW_SIGNUP))


@extend_schema(
    operation_id="signup_create",
    summary="Make yourself an account, when sign-up is open",
    request=SignUpSerializer,
    responses={201: JoinedSerializer, 400: ERROR, 403: ERROR, 429: ERROR},
    auth=[],
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([AccountRequests])
def signup_post(request):
    serializer = SignUpSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    user = joining.sign_up(**serializer.validated_data)
    return Response(joined_json(user), status=status.HTTP_201_CREATED)


signup = dispatch(get=signup_get, post=signup_post)
