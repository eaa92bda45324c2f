"""The people here and how they join: people as staff see them, reset links and password
resets, invitations by email, accepting one and signing up; each read shape's serializer (the
schema) beside the function that builds its JSON, and the request bodies."""

from __future__ import annotations

from rest_framework import serializers

from accounts import invitations
from api.core import formats
from api.core.shapes import DateField, StrictSerializer
from records.models import Invitation


class PersonSerializer(serializers.Serializer):
    resource_uri = serializers.CharField()
    username = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    display_name = serializers.CharField(allow_blank=True)
    is_active = serializers.BooleanField()
    is_staff = serializers.BooleanField()
    date_joined = DateField()
    last_login = DateField(allow_null=True)


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


class PersonPatchSerializer(StrictSerializer):
    is_active = serializers.BooleanField(required=False)
    is_staff = serializers.BooleanField(required=False)


class ResetLinkSerializer(serializers.Serializer):
    username = serializers.CharField()
    uid = serializers.CharField()
    token = serializers.CharField()
    expires = DateField()


def reset_link_json(username: str, uid: str, token: str, expires) -> dict:
    return {"username": username, "uid": uid, "token": token, "expires": formats.rfc2822(expires)}


class PasswordResetSerializer(StrictSerializer):
    uid = serializers.CharField(max_length=100)
    token = serializers.CharField(max_length=100)
    new_password = serializers.CharField(max_length=1000, trim_whitespace=False)


# Whose password was reset: the same shape as JoinedSerializer, under its own schema name.
class PasswordResetDoneSerializer(serializers.Serializer):
    username = serializers.CharField()

    class Meta:
        ref_name = "PasswordReset"


class ResetByEmailSerializer(serializers.Serializer):
    by_email = serializers.BooleanField()


def reset_by_email_json(by_email: bool) -> dict:
    return {"by_email": by_email}


class PasswordResetRequestSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)


class ResetRequestedSerializer(serializers.Serializer):
    detail = serializers.CharField()


RESET_REQUESTED = (
    "If that address belongs to someone here, a link to choose a new password is on its way. "
    "It works once, for {hours} hours. Nothing there? Check the address, or ask a staff member."
)


def reset_requested_json(hours: int) -> dict:
    return {"detail": RESET_REQUESTED.format(hours=hours)}


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    resource_uri = serializers.CharField()
    email = serializers.CharField()
    invited_by = serializers.CharField(allow_null=True)
    created = DateField()
    expires = DateField()
    is_expired = serializers.BooleanField()
    sent = DateField(allow_null=True, help_text="When it was last emailed.")


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


class NewInvitationSerializer(InvitationSerializer):
    token = serializers.CharField(
        help_text="The link's secret, in this answer only: the invitation link is the admin's "
        "/invite/<token>/."
    )
    not_sent = serializers.CharField(
        allow_blank=True, help_text="Empty when it was emailed; else why it was not."
    )


def new_invitation_json(issued: invitations.Issued) -> dict:
    return {
        **invitation_json(issued.invitation),
        "token": issued.token,
        "not_sent": issued.not_sent,
    }


class InvitationCreateSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)


# What an invitation link shows whoever holds it: a part of the invitation.
class InvitationOpenSerializer(serializers.Serializer):
    email = serializers.CharField()
    invited_by = serializers.CharField(allow_null=True)
    expires = DateField()


def open_invitation_json(invitation: Invitation) -> dict:
    shown = invitation_json(invitation)
    return {field: shown[field] for field in InvitationOpenSerializer().fields}


class JoinSerializer(StrictSerializer):
    """Choosing a username and password, by invitation or by signing up."""

    username = serializers.CharField(max_length=30)
    password = serializers.CharField(max_length=1000, trim_whitespace=False)
    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class SignUpSerializer(JoinSerializer):
    email = serializers.EmailField(max_length=254)


class JoinedSerializer(serializers.Serializer):
    username = serializers.CharField()


def joined_json(user) -> dict:
    return {"username": user.get_username()}


class SignUpOpenSerializer(serializers.Serializer):
    open = serializers.BooleanField()


def sign_up_open_json(is_open: bool) -> dict:
    return {"open": is_open}
