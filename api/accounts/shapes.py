"""Your account's shapes: the API key Tutum's `/auth/` hands out, API keys, sign-ins, your
password and your profile; each read shape's serializer (the schema) beside the function that
builds its JSON, and the request bodies."""

from __future__ import annotations

import re

from django.utils import timezone
from rest_framework import serializers

from accounts import keys, mail, notices, profiles
from api.core import formats
from api.core.shapes import DateField, StrictSerializer
from records.models import ApiKey
from teams import access


class AuthKeySerializer(serializers.Serializer):
    key = serializers.CharField()
    username = serializers.CharField()


def auth_key_json(key: str, user) -> dict:
    return {"key": key, "username": user.get_username()}


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


def apikey_json(api_key: ApiKey) -> dict:
    return {
        "id": api_key.pk,
        "resource_uri": formats.apikey_uri(api_key.pk),
        "label": api_key.label,
        "prefix": api_key.prefix,
        "created": formats.rfc2822(api_key.created),
        "last_used": formats.rfc2822(api_key.last_used),
        "expires": formats.rfc2822(api_key.expires),
        "is_expired": api_key.expires is not None and api_key.expires <= timezone.now(),
    }


class NewApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The key, shown in this answer only.")


def new_apikey_json(api_key: ApiKey, key: str) -> dict:
    return {**apikey_json(api_key), "key": key}


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


class SecondFactorAskedSerializer(serializers.Serializer):
    second_factor = serializers.CharField(help_text="`totp`: a code from an authenticator app.")
    challenge = serializers.CharField(
        help_text="Send it back with the code (`POST` again, without Authorization) within 5 "
        "minutes, once."
    )
    message = serializers.CharField()


def second_factor_asked_json(challenge: str) -> dict:
    return {
        "second_factor": "totp",
        "challenge": challenge,
        "message": "Your password is right. Now type the six-digit code your authenticator "
        "app shows, or one of your recovery codes.",
    }


class SecondStepSerializer(StrictSerializer):
    challenge = serializers.CharField(max_length=500)
    code = serializers.CharField(max_length=40, help_text="Six digits, or a recovery code.")


def session_json(api_key: ApiKey, key: str, user) -> dict:
    return {
        "key": key,
        "username": user.get_username(),
        "expires": formats.rfc2822(api_key.expires),
    }


class PasswordChangeSerializer(StrictSerializer):
    current_password = serializers.CharField(max_length=1000, trim_whitespace=False)
    new_password = serializers.CharField(max_length=1000, trim_whitespace=False)


class PasswordChangedSerializer(serializers.Serializer):
    signed_out = serializers.IntegerField()


def password_changed_json(signed_out: int) -> dict:
    return {"signed_out": signed_out}


def _notification_fields(**options) -> dict:
    """A boolean per kind of email notification, from accounts.notices' one list."""
    return {
        kind: serializers.BooleanField(help_text=label, **options)
        for kind, label in notices.KINDS.items()
    }


class EmailNotificationsSerializer(serializers.Serializer):
    """Each email notification, on (true) or off; all are on until turned off."""

    def get_fields(self):
        return _notification_fields()


class EmailNotificationsPatchSerializer(StrictSerializer):
    """The notifications to turn on or off; those not named stay as they are."""

    def get_fields(self):
        return _notification_fields(required=False)


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
    email_notifications = EmailNotificationsSerializer(
        help_text="What you are emailed about (to your `email`, when `email_enabled`)."
    )
    email_enabled = serializers.BooleanField(
        help_text="This server sends email (EMAIL_URL is set); when false, none is sent."
    )


def account_json(user) -> dict:
    profile = profiles.profile_of(user)
    user.refresh_from_db(fields=["email"])
    return {
        "resource_uri": f"{formats.API_PREFIX}/account/",
        "username": user.get_username(),
        "email": user.email,
        "display_name": profile.display_name,
        "is_staff": bool(user.is_staff),
        "github_login": profile.github_login,
        "has_github_token": bool(profile.github_token_encrypted),
        "namespaces": access.writable_namespaces(user),
        "email_notifications": notices.choices_of(profile),
        "email_enabled": mail.enabled(),
    }


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
    email_notifications = EmailNotificationsPatchSerializer(required=False)

    def validate_github_login(self, value: str) -> str:
        if value and not _GITHUB_LOGIN.fullmatch(value):
            raise serializers.ValidationError(
                "A GitHub username is letters, digits and single hyphens between them "
                "(at most 39 characters)."
            )
        return value


class TwoFactorStateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="Whether sign-ins ask for a code.")
    recovery_codes_left = serializers.IntegerField()


def two_factor_state_json(enabled: bool, left: int) -> dict:
    return {"enabled": enabled, "recovery_codes_left": left}


class TwoFactorSetupSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="To type into an authenticator app (base32).")
    uri = serializers.CharField(help_text="`otpauth://totp/...`: what a QR code holds.")


class CodeSerializer(StrictSerializer):
    code = serializers.CharField(
        max_length=40, help_text="Six digits from the app (or, to turn it off, a recovery code)."
    )


class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(), help_text="Shown this once; each works once."
    )
