"""Teams' shapes: teams, members, team invitations and team access tokens; each read shape's
serializer (the schema) beside the function that builds its JSON, and the request bodies.
Roles and token access come from their homes (records.models, teams.tokens)."""

from __future__ import annotations

import re

from rest_framework import serializers

from api.core import formats
from api.core.shapes import DateField, StrictSerializer
from records.models import Membership, Role, Team, TeamInvitation, TeamToken
from teams import tokens

# "Reader, Writer or Owner.": the roles, lowest first.
ROLE_HELP = f"{', '.join(Role.values[:-1])} or {Role.values[-1]}."
ACCESS_HELP = "pull, or push (pull and push, and build)."


def team_uri(name: str) -> str:
    return f"{formats.API_PREFIX}/team/{name}/"


class TeamSerializer(serializers.Serializer):
    name = serializers.CharField()
    resource_uri = serializers.CharField()
    description = serializers.CharField()
    created = DateField()
    role = serializers.ChoiceField(
        choices=Role.choices, allow_null=True, help_text="Yours (staff outside it: null)."
    )
    member_count = serializers.IntegerField()
    image_count = serializers.IntegerField()


def team_json(team: Team, role: str | None) -> dict:
    """A team annotated with `member_count` and `image_count` (membership.teams_of)."""
    return {
        "name": team.name,
        "resource_uri": team_uri(team.name),
        "description": team.description,
        "created": formats.rfc2822(team.created),
        "role": role,
        "member_count": team.member_count,
        "image_count": team.image_count,
    }


class TeamCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=30)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)


class TeamPatchSerializer(StrictSerializer):
    description = serializers.CharField(max_length=300, allow_blank=True)


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()
    resource_uri = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
    joined = DateField()


def member_json(member: Membership) -> dict:
    profile = getattr(member.user, "profile", None)
    username = member.user.get_username()
    return {
        "username": username,
        "display_name": profile.display_name if profile else "",
        "resource_uri": f"{team_uri(member.team.name)}member/{username}/",
        "role": member.role,
        "joined": formats.rfc2822(member.joined),
    }


class MemberPatchSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices, help_text=ROLE_HELP)


class TeamInvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    resource_uri = serializers.CharField()
    team = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
    username = serializers.CharField(
        allow_null=True, help_text="Who it is for; null for a link anyone signed in may accept."
    )
    invited_by = serializers.CharField(allow_null=True)
    created = DateField()
    expires = DateField()
    is_expired = serializers.BooleanField()


def team_invitation_json(invitation: TeamInvitation) -> dict:
    team = invitation.team.name
    return {
        "id": invitation.pk,
        "resource_uri": f"{team_uri(team)}invitation/{invitation.pk}/",
        "team": team,
        "role": invitation.role,
        "username": invitation.invitee.get_username() if invitation.invitee else None,
        "invited_by": invitation.invited_by.get_username() if invitation.invited_by else None,
        "created": formats.rfc2822(invitation.created),
        "expires": formats.rfc2822(invitation.expires),
        "is_expired": invitation.is_expired,
    }


class NewTeamInvitationSerializer(TeamInvitationSerializer):
    token = serializers.CharField(
        allow_null=True,
        help_text="A link's secret, in this answer only (null for an invitation by username): "
        "accept it at /api/v1/team-invitation/<token>/, or in the admin at "
        "/teams/-/join/<token>/.",
    )


def new_team_invitation_json(invitation: TeamInvitation, token: str | None) -> dict:
    return {**team_invitation_json(invitation), "token": token}


class TeamInvitationCreateSerializer(StrictSerializer):
    username = serializers.CharField(
        max_length=150,
        required=False,
        allow_blank=True,
        help_text="Invite this person; leave it out to make a link instead.",
    )
    role = serializers.ChoiceField(choices=Role.choices, help_text=ROLE_HELP)


class TeamTokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    resource_uri = serializers.CharField()
    team = serializers.CharField()
    name = serializers.CharField()
    username = serializers.CharField(
        help_text="What it logs in as (`<team>+<name>`), with its secret as the password."
    )
    prefix = serializers.CharField(help_text="The secret's first characters, to tell tokens apart.")
    access = serializers.ChoiceField(choices=TeamToken.Access.choices, help_text=ACCESS_HELP)
    all_images = serializers.BooleanField(
        help_text="Every image of the team, those to come included; false: only `images`."
    )
    images = serializers.ListField(
        child=serializers.CharField(),
        help_text="The resource URIs of the chosen images (empty for the whole team).",
    )
    created = DateField()
    created_by = serializers.CharField(
        allow_null=True, help_text="Who made it (null once they are gone: it stays the team's)."
    )
    expires = DateField()
    last_used = DateField(allow_null=True)
    is_expired = serializers.BooleanField()


def team_token_json(token: TeamToken) -> dict:
    """A team access token (teams.tokens.tokens_of loads its team, maker and images)."""
    team = token.team.name
    return {
        "id": token.pk,
        "resource_uri": f"{team_uri(team)}token/{token.pk}/",
        "team": team,
        "name": token.name,
        "username": tokens.username_of(token),
        "prefix": token.prefix,
        "access": token.access,
        "all_images": token.all_images,
        "images": []
        if token.all_images
        else [formats.image_uri(i.name) for i in token.images.all()],
        "created": formats.rfc2822(token.created),
        "created_by": token.created_by.get_username() if token.created_by else None,
        "expires": formats.rfc2822(token.expires),
        "last_used": formats.rfc2822(token.last_used),
        "is_expired": token.is_expired,
    }


class NewTeamTokenSerializer(TeamTokenSerializer):
    secret = serializers.CharField(
        help_text="The password to log in with, in this answer only (only its digest is kept)."
    )


def new_team_token_json(token: TeamToken, secret: str) -> dict:
    return {**team_token_json(token), "secret": secret}


class TeamTokenCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=50, help_text=tokens.NAME_RULE)
    access = serializers.ChoiceField(
        choices=TeamToken.Access.choices, default=TeamToken.Access.PULL, help_text=ACCESS_HELP
    )
    images = serializers.ListField(
        child=serializers.CharField(max_length=300),
        required=False,
        max_length=1000,
        help_text="Only these images of the team (names or resource URIs); leave it out for "
        "every image of the team.",
    )
    expires = serializers.DateTimeField(
        help_text="When it stops working, at most a year from now (ISO 8601: 2027-06-30 or "
        "2027-06-30T12:00:00Z)."
    )

    def validate_images(self, value: list[str]) -> list[str]:
        # Clients may send an image's URI, as the API returns it.
        matches = [re.fullmatch(r"/api/v1/image/(.+)/", item) for item in value]
        return [m.group(1) if m else item for m, item in zip(matches, value, strict=True)]
