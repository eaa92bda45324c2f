"""Teams (extensions): shared namespaces run by their Owners, members with roles,
invitations by username or by link, and the team's access tokens."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from api.core.auditing import note
from api.core.dispatch import dispatch
from api.core.pagination import envelope_serializer, paginate
from api.core.schema import ERROR, PAGE_PARAMS
from api.teams.shapes import (
    MemberPatchSerializer,
    MemberSerializer,
    NewTeamInvitationSerializer,
    NewTeamTokenSerializer,
    TeamCreateSerializer,
    TeamInvitationCreateSerializer,
    TeamInvitationSerializer,
    TeamPatchSerializer,
    TeamSerializer,
    TeamTokenCreateSerializer,
    TeamTokenSerializer,
    member_json,
    new_team_invitation_json,
    new_team_token_json,
    team_invitation_json,
    team_json,
    team_token_json,
)
from records.models import Role, Team, TeamInvitation
from teams import invitations, membership
from teams import tokens as team_tokens

TEAM = OpenApiParameter("team", str, OpenApiParameter.PATH, description="The team's name.")
USERNAME = OpenApiParameter("username", str, OpenApiParameter.PATH)
INVITATION_ID = OpenApiParameter("invitation_id", int, OpenApiParameter.PATH)
TOKEN = OpenApiParameter("token", str, OpenApiParameter.PATH, description="The link's secret.")
TOKEN_ID = OpenApiParameter("token_id", int, OpenApiParameter.PATH)
# Secrets are shown once: no cache keeps the answer that holds one.
NO_STORE = {"Cache-Control": "no-store"}


def _with_counts(team: Team) -> Team:
    """The team again, with the member and image counts its JSON shows."""
    return membership.counted(Team.objects.filter(pk=team.pk)).get()


def _owned_team(request, name: str) -> Team:
    team, role = membership.get_team(request.user, name)
    membership.require_owner(team, role)
    return team


@extend_schema(
    operation_id="teams_list",
    summary="Your teams, with your role (staff: every team)",
    parameters=PAGE_PARAMS,
    responses={
        200: envelope_serializer("TeamList", TeamSerializer(many=True)),
        400: ERROR,
        401: ERROR,
    },
)
@api_view(["GET"])
def team_list_get(request):
    found, meta = paginate(request, membership.teams_of(request.user))
    return Response({"meta": meta, "objects": [team_json(t, t.role) for t in found]})


@extend_schema(
    operation_id="teams_create",
    summary="Make a team: you become its first Owner",
    description="Team names and usernames share one name space.",
    request=TeamCreateSerializer,
    responses={201: TeamSerializer, 400: ERROR, 401: ERROR},
)
@api_view(["POST"])
def team_list_post(request):
    body = TeamCreateSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    team = membership.create_team(request.user, **body.validated_data)
    note(request, "team.create", team.name, team=team)
    return Response(team_json(_with_counts(team), Role.OWNER), status=status.HTTP_201_CREATED)


team_list = dispatch(get=team_list_get, post=team_list_post)


@extend_schema(
    operation_id="teams_retrieve",
    summary="A team you are in",
    parameters=[TEAM],
    responses={200: TeamSerializer, 401: ERROR, 404: ERROR},
)
@api_view(["GET"])
def team_detail_get(request, team: str):
    found, role = membership.get_team(request.user, team)
    return Response(team_json(_with_counts(found), role))


@extend_schema(
    operation_id="teams_partial_update",
    summary="Change a team's description (Owners)",
    parameters=[TEAM],
    request=TeamPatchSerializer,
    responses={200: TeamSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["PATCH"])
def team_detail_patch(request, team: str):
    found, role = membership.get_team(request.user, team)
    membership.require_owner(found, role)
    body = TeamPatchSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    membership.update_team(found, **body.validated_data)
    note(request, "team.edit", found.name, team=found)
    return Response(team_json(_with_counts(found), role))


@extend_schema(
    operation_id="teams_destroy",
    summary="Delete a team that holds no images (Owners)",
    parameters=[TEAM],
    responses={204: None, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
)
@api_view(["DELETE"])
def team_detail_delete(request, team: str):
    found = _owned_team(request, team)
    membership.delete_team(found)
    note(request, "team.delete", found.name)
    return Response(status=status.HTTP_204_NO_CONTENT)


team_detail = dispatch(get=team_detail_get, patch=team_detail_patch, delete=team_detail_delete)


@extend_schema(
    operation_id="team_members_list",
    summary="A team's members and their roles",
    parameters=[TEAM, *PAGE_PARAMS],
    responses={
        200: envelope_serializer("MemberList", MemberSerializer(many=True)),
        400: ERROR,
        401: ERROR,
        404: ERROR,
    },
)
@api_view(["GET"])
def member_list(request, team: str):
    found, _ = membership.get_team(request.user, team)
    members, meta = paginate(request, membership.members(found))
    return Response({"meta": meta, "objects": [member_json(m) for m in members]})


@extend_schema(
    operation_id="team_members_retrieve",
    summary="A member of a team",
    parameters=[TEAM, USERNAME],
    responses={200: MemberSerializer, 401: ERROR, 404: ERROR},
)
@api_view(["GET"])
def member_detail_get(request, team: str, username: str):
    found, _ = membership.get_team(request.user, team)
    return Response(member_json(membership.get_member(found, username)))


@extend_schema(
    operation_id="team_members_partial_update",
    summary="Change a member's role (Owners); the last Owner stays one",
    parameters=[TEAM, USERNAME],
    request=MemberPatchSerializer,
    responses={200: MemberSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["PATCH"])
def member_detail_patch(request, team: str, username: str):
    found, role = membership.get_team(request.user, team)
    member = membership.get_member(found, username)
    membership.require_owner(found, role)
    body = MemberPatchSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    was = member.role
    changed = membership.change_role(member, body.validated_data["role"])
    if changed.role != was:
        note(request, "member.role", username, team=found, old=was, new=changed.role)
    return Response(member_json(changed))


@extend_schema(
    operation_id="team_members_destroy",
    summary="Remove a member (Owners), or leave the team yourself",
    description="The last Owner can neither leave nor be removed: hand ownership over first.",
    parameters=[TEAM, USERNAME],
    responses={204: None, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["DELETE"])
def member_detail_delete(request, team: str, username: str):
    found, role = membership.get_team(request.user, team)
    member = membership.get_member(found, username)
    leaving = member.user_id == request.user.pk
    if not leaving:
        membership.require_owner(found, role)
    membership.remove(member)
    action = "member.leave" if leaving else "member.remove"
    note(request, action, username, team=found, role=member.role)
    return Response(status=status.HTTP_204_NO_CONTENT)


member_detail = dispatch(
    get=member_detail_get, patch=member_detail_patch, delete=member_detail_delete
)


@extend_schema(
    operation_id="team_invitations_list",
    summary="A team's open invitations, expired ones included (Owners)",
    parameters=[TEAM, *PAGE_PARAMS],
    responses={
        200: envelope_serializer("TeamInvitationList", TeamInvitationSerializer(many=True)),
        400: ERROR,
        401: ERROR,
        403: ERROR,
        404: ERROR,
    },
)
@api_view(["GET"])
def team_invitation_list_get(request, team: str):
    found = _owned_team(request, team)
    found_invitations, meta = paginate(request, invitations.pending_for_team(found))
    objects = [team_invitation_json(i) for i in found_invitations]
    return Response({"meta": meta, "objects": objects})


@extend_schema(
    operation_id="team_invitations_create",
    summary="Invite someone into the team with a role (Owners)",
    description=(
        "With `username`, that person sees the invitation on their Teams page and accepts or "
        "declines it. Without, the answer holds a link's secret, once: whoever signed in opens "
        "it first may accept it. Either works for INVITE_DAYS days."
    ),
    parameters=[TEAM],
    request=TeamInvitationCreateSerializer,
    responses={201: NewTeamInvitationSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["POST"])
def team_invitation_list_post(request, team: str):
    found = _owned_team(request, team)
    body = TeamInvitationCreateSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    role, username = body.validated_data["role"], body.validated_data.get("username")
    if username:
        invitation, token = invitations.invite_person(request.user, found, username, role), None
    else:
        invitation, token = invitations.invite_by_link(request.user, found, role)
    note(request, "invitation.create", username or "a link", team=found, role=role)
    return Response(
        new_team_invitation_json(invitation, token),
        status=status.HTTP_201_CREATED,
        headers=NO_STORE,
    )


team_invitation_list = dispatch(get=team_invitation_list_get, post=team_invitation_list_post)


@extend_schema(
    operation_id="team_invitations_destroy",
    summary="Cancel a team invitation (Owners): its link stops working",
    parameters=[TEAM, INVITATION_ID],
    responses={204: None, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["DELETE"])
def team_invitation_detail(request, team: str, invitation_id: int):
    found = _owned_team(request, team)
    invitation = invitations.get_for_team(found, invitation_id)
    invitations.decline(invitation)
    for_whom = invitation.invitee.get_username() if invitation.invitee else "a link"
    note(request, "invitation.cancel", for_whom, team=found, role=invitation.role)
    return Response(status=status.HTTP_204_NO_CONTENT)


def _accept(request, invitation: TeamInvitation) -> Response:
    member = invitations.accept(request.user, invitation)
    username = request.user.get_username()
    note(request, "member.join", username, team=invitation.team, role=member.role)
    return Response(member_json(member), status=status.HTTP_201_CREATED)


def _decline(request, invitation: TeamInvitation) -> Response:
    invitations.decline(invitation)
    note(request, "invitation.decline", request.user.get_username(), team=invitation.team)
    return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    operation_id="account_team_invitations_list",
    summary="Team invitations addressed to you",
    parameters=PAGE_PARAMS,
    responses={
        200: envelope_serializer("MyTeamInvitationList", TeamInvitationSerializer(many=True)),
        400: ERROR,
        401: ERROR,
    },
)
@api_view(["GET"])
def my_invitation_list(request):
    found, meta = paginate(request, invitations.pending_for(request.user))
    return Response({"meta": meta, "objects": [team_invitation_json(i) for i in found]})


@extend_schema(
    operation_id="account_team_invitations_accept",
    summary="Accept a team invitation addressed to you: you join with its role",
    parameters=[INVITATION_ID],
    request=None,
    responses={201: MemberSerializer, 400: ERROR, 401: ERROR, 404: ERROR},
)
@api_view(["POST"])
def my_invitation_detail_post(request, invitation_id: int):
    return _accept(request, invitations.get_for_person(request.user, invitation_id))


@extend_schema(
    operation_id="account_team_invitations_decline",
    summary="Decline a team invitation addressed to you",
    parameters=[INVITATION_ID],
    responses={204: None, 401: ERROR, 404: ERROR},
)
@api_view(["DELETE"])
def my_invitation_detail_delete(request, invitation_id: int):
    return _decline(request, invitations.get_for_person(request.user, invitation_id))


my_invitation_detail = dispatch(post=my_invitation_detail_post, delete=my_invitation_detail_delete)


@extend_schema(
    operation_id="team_invitation_link_retrieve",
    summary="What a team invitation link is for, while it works",
    parameters=[TOKEN],
    responses={200: TeamInvitationSerializer, 400: ERROR, 401: ERROR},
)
@api_view(["GET"])
def invitation_link_get(request, token: str):
    return Response(team_invitation_json(invitations.open_link(token)))


@extend_schema(
    operation_id="team_invitation_link_accept",
    summary="Accept a team invitation link: you join with its role, and the link is used up",
    parameters=[TOKEN],
    request=None,
    responses={201: MemberSerializer, 400: ERROR, 401: ERROR},
)
@api_view(["POST"])
def invitation_link_post(request, token: str):
    return _accept(request, invitations.open_link(token))


@extend_schema(
    operation_id="team_invitation_link_decline",
    summary="Decline a team invitation link: it is used up",
    parameters=[TOKEN],
    responses={204: None, 400: ERROR, 401: ERROR},
)
@api_view(["DELETE"])
def invitation_link_delete(request, token: str):
    return _decline(request, invitations.open_link(token))


invitation_link = dispatch(
    get=invitation_link_get, post=invitation_link_post, delete=invitation_link_delete
)


@extend_schema(
    operation_id="team_tokens_list",
    summary="A team's access tokens, expired ones included (Owners)",
    parameters=[TEAM, *PAGE_PARAMS],
    responses={
        200: envelope_serializer("TeamTokenList", TeamTokenSerializer(many=True)),
        400: ERROR,
        401: ERROR,
        403: ERROR,
        404: ERROR,
    },
)
@api_view(["GET"])
def team_token_list_get(request, team: str):
    found = _owned_team(request, team)
    found_tokens, meta = paginate(request, team_tokens.tokens_of(found))
    return Response({"meta": meta, "objects": [team_token_json(t) for t in found_tokens]})


@extend_schema(
    operation_id="team_tokens_create",
    summary="Make a team access token (Owners); the answer is the only time its secret is shown",
    description=(
        "The token logs in as `<team>+<name>` with the secret as its password, wherever a "
        "password or an API key works (`docker login`, `buildah login`, the image, tag, layer "
        "and build endpoints): to pull the team's images (or only those in `images`), and with "
        "`access: push` to push and build them too; every other endpoint refuses it with 403. "
        "It belongs to the team, so it keeps working when the person who made it leaves."
    ),
    parameters=[TEAM],
    request=TeamTokenCreateSerializer,
    responses={201: NewTeamTokenSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["POST"])
def team_token_list_post(request, team: str):
    found = _owned_team(request, team)
    body = TeamTokenCreateSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    token, secret = team_tokens.make_token(request.user, found, **body.validated_data)
    note(request, "token.create", token.name, team=found, access=token.access)
    return Response(
        new_team_token_json(token, secret), status=status.HTTP_201_CREATED, headers=NO_STORE
    )


team_token_list = dispatch(get=team_token_list_get, post=team_token_list_post)


@extend_schema(
    operation_id="team_tokens_retrieve",
    summary="A team access token (Owners); never its secret",
    parameters=[TEAM, TOKEN_ID],
    responses={200: TeamTokenSerializer, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["GET"])
def team_token_detail_get(request, team: str, token_id: int):
    found = _owned_team(request, team)
    return Response(team_token_json(team_tokens.get_token(found, token_id)))


@extend_schema(
    operation_id="team_tokens_destroy",
    summary="Revoke a team access token (Owners): refused at once, everywhere",
    parameters=[TEAM, TOKEN_ID],
    responses={204: None, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["DELETE"])
def team_token_detail_delete(request, team: str, token_id: int):
    found = _owned_team(request, team)
    token = team_tokens.get_token(found, token_id)
    team_tokens.revoke(token)
    note(request, "token.revoke", token.name, team=found)
    return Response(status=status.HTTP_204_NO_CONTENT)


team_token_detail = dispatch(get=team_token_detail_get, delete=team_token_detail_delete)
