"""Teams (extensions): the shapes of teams, members and team invitations, read and written."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers import DateField, StrictSerializer
from records.models import Role

ROLE_HELP = "Reader, Writer or Owner."


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


class NewTeamInvitationSerializer(TeamInvitationSerializer):
    token = serializers.CharField(
        allow_null=True,
        help_text="A link's secret, in this answer only (null for an invitation by username): "
        "accept it at /api/v1/team-invitation/<token>/, or in the admin at "
        "/teams/-/join/<token>/.",
    )


class TeamInvitationCreateSerializer(StrictSerializer):
    username = serializers.CharField(
        max_length=150,
        required=False,
        allow_blank=True,
        help_text="Invite this person; leave it out to make a link instead.",
    )
    role = serializers.ChoiceField(choices=Role.choices, help_text=ROLE_HELP)
