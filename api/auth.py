"""API authentication: `Basic base64(user:apikey)` and Tutum's `ApiKey user:apikey`."""

from __future__ import annotations

import base64
import binascii

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import authentication, exceptions

from api.models import ApiKey

REALM = 'Basic realm="tutumweb API", charset="UTF-8"'


def parse_authorization(header: str) -> tuple[str, str, str] | None:
    """Split an Authorization header into (scheme, username, secret); None if malformed.

    Schemes are case-insensitive: `Basic` carries base64(user:secret), `ApiKey` user:secret.
    """
    scheme, _, value = header.strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
    elif scheme != "apikey":
        return None
    username, sep, secret = value.partition(":")
    if not sep or not username or not secret:
        return None
    return scheme, username, secret


def user_for_api_key(username: str, key: str):
    """The active user owning `key`, if `username` names them; None otherwise."""
    api_key = ApiKey.objects.find(key)
    if api_key is None or api_key.user.get_username() != username or not api_key.user.is_active:
        return None
    # Touch last_used at most once a minute so authentication stays a read on hot paths.
    now = timezone.now()
    if api_key.last_used is None or (now - api_key.last_used).total_seconds() > 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used=now)
    return api_key.user


def user_for_password(username: str, password: str):
    User = get_user_model()
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        # Hash anyway so a missing user takes as long as a wrong password.
        User().set_password(password)
        return None
    return user if user.check_password(password) else None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Every API endpoint: a username with one of that user's API keys."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        parsed = parse_authorization(header)
        if parsed is None:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: use 'Basic base64(username:apikey)' or "
                "'ApiKey username:apikey'."
            )
        _, username, secret = parsed
        user = user_for_api_key(username, secret)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid username or API key.")
        return user, None

    def authenticate_header(self, request) -> str:
        return REALM


class PasswordAuthentication(ApiKeyAuthentication):
    """`GET /api/v1/auth/` only: Basic username:password, to obtain the API key."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        parsed = parse_authorization(header)
        if parsed is None or parsed[0] != "basic":
            raise exceptions.AuthenticationFailed(
                "Send 'Authorization: Basic base64(username:password)' to obtain your API key."
            )
        _, username, password = parsed
        user = user_for_password(username, password)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid username or password.")
        return user, None
