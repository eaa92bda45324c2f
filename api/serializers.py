"""Representations (read) and validation (write) of the Tutum resources."""

from __future__ import annotations

import re

from rest_framework import serializers

from accounts import keys
from api.core.shapes import DATE, DateField, KeyValueSerializer, StrictSerializer  # noqa: F401


class AuthKeySerializer(serializers.Serializer):
    key = serializers.CharField()
    username = serializers.CharField()


class ApiKeySerializer(serializers.Serializer):
    """An API key as listed (extension): never the key itself, only its first characters."""

    id = serializers.IntegerField()
    resource_uri = serializers.CharField()
    label = serializers.CharField(allow_blank=True)
    prefix = serializers.CharField(help_text="The key's first characters, to tell keys apart.")
    created = DateField()
    last_used = DateField(allow_null=True)
    expires = DateField(allow_null=True)
    is_expired = serializers.BooleanField()


class NewApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The key, shown in this answer only.")


class ApiKeyCreateSerializer(StrictSerializer):
    label = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the key is for, e.g. 'laptop' or 'CI'.",
    )
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=keys.MAX_DAYS,
        required=False,
        allow_null=True,
        default=None,
        help_text="Refuse the key after this many days; omit or null for a key that never expires.",
    )


class ApiKeyPatchSerializer(StrictSerializer):
    label = serializers.CharField(max_length=100, allow_blank=True)


class SessionSerializer(serializers.Serializer):
    key = serializers.CharField()
    username = serializers.CharField()
    expires = DateField()


class PasswordChangeSerializer(StrictSerializer):
    current_password = serializers.CharField(max_length=1000, trim_whitespace=False)
    new_password = serializers.CharField(max_length=1000, trim_whitespace=False)


class AccountSerializer(serializers.Serializer):
    resource_uri = serializers.CharField()
    username = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    display_name = serializers.CharField(allow_blank=True)
    is_staff = serializers.BooleanField()
    github_login = serializers.CharField(
        allow_blank=True, help_text="The default owner of your images' build sources."
    )
    has_github_token = serializers.BooleanField(
        help_text="A GitHub token is stored (it is never returned)."
    )
    namespaces = serializers.ListField(
        child=serializers.CharField(),
        help_text="Where you may add images on our registry: your own, then your teams'.",
    )


_GITHUB_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")


class AccountPatchSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    github_login = serializers.CharField(max_length=39, required=False, allow_blank=True)
    github_token = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=True,
        help_text="For private repositories; omit to keep the stored one, '' to forget it.",
    )

    def validate_github_login(self, value: str) -> str:
        if value and not _GITHUB_LOGIN.fullmatch(value):
            raise serializers.ValidationError(
                "A GitHub username is letters, digits and single hyphens between them "
                "(at most 39 characters)."
            )
        return value


class PersonSerializer(serializers.Serializer):
    resource_uri = serializers.CharField()
    username = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    display_name = serializers.CharField(allow_blank=True)
    is_active = serializers.BooleanField()
    is_staff = serializers.BooleanField()
    date_joined = DateField()
    last_login = DateField(allow_null=True)


class PersonPatchSerializer(StrictSerializer):
    is_active = serializers.BooleanField(required=False)
    is_staff = serializers.BooleanField(required=False)


class ResetLinkSerializer(serializers.Serializer):
    username = serializers.CharField()
    uid = serializers.CharField()
    token = serializers.CharField()
    expires = DateField()


class PasswordResetSerializer(StrictSerializer):
    uid = serializers.CharField(max_length=100)
    token = serializers.CharField(max_length=100)
    new_password = serializers.CharField(max_length=1000, trim_whitespace=False)


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    resource_uri = serializers.CharField()
    email = serializers.CharField()
    invited_by = serializers.CharField(allow_null=True)
    created = DateField()
    expires = DateField()
    is_expired = serializers.BooleanField()
    sent = DateField(allow_null=True, help_text="When it was last emailed.")


class NewInvitationSerializer(InvitationSerializer):
    token = serializers.CharField(
        help_text="The link's secret, in this answer only: the invitation link is the admin's "
        "/invite/<token>/."
    )
    not_sent = serializers.CharField(
        allow_blank=True, help_text="Empty when it was emailed; else why it was not."
    )


class InvitationCreateSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)


class InvitationOpenSerializer(serializers.Serializer):
    email = serializers.CharField()
    invited_by = serializers.CharField(allow_null=True)
    expires = DateField()


class JoinSerializer(StrictSerializer):
    """Choosing a username and password, by invitation or by signing up."""

    username = serializers.CharField(max_length=30)
    password = serializers.CharField(max_length=1000, trim_whitespace=False)
    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class SignUpSerializer(JoinSerializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetRequestSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
