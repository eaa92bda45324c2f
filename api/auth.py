"""API authentication: `Basic base64(user:apikey)` and Tutum's `ApiKey user:apikey`."""

from __future__ import annotations

import base64
import binascii

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
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


class SignInsPaused(Exception):
    """Too many wrong passwords for this username from this address (counted by django-axes)."""

    def __init__(self, username: str, retry_after: int):
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"Too many failed sign-ins for '{username}'. Try again in {minutes} minute"
            f"{'' if minutes == 1 else 's'}."
        )
        self.message = str(self)
        self.retry_after = retry_after


def user_for_password(request: HttpRequest, username: str, password: str):
    """The active user with this username and password; None if they don't match.

    Raises SignInsPaused once LOGIN_FAILURE_LIMIT wrong passwords for `username` came from the
    client's address within LOGIN_LOCKOUT_MINUTES: django-axes' backend, first in
    AUTHENTICATION_BACKENDS, counts them and then refuses before any password is checked.
    """
    # Django's ModelBackend hashes for unknown users too, so they take as long as a wrong
    # password, and refuses inactive users.
    user = authenticate(request, username=username, password=password)
    if user is None and getattr(request, "axes_locked_out", False):
        raise SignInsPaused(username, _seconds_left(request, username))
    return user


def _seconds_left(request: HttpRequest, username: str) -> int:
    latest = AccessAttempt.objects.filter(
        username=username, ip_address=request.axes_ip_address
    ).aggregate(latest=Max("attempt_time"))["latest"]
    ends = (latest or timezone.now()) + settings.AXES_COOLOFF_TIME
    return max(1, int((ends - timezone.now()).total_seconds()))


def lockout_response(request, original_response, credentials) -> HttpResponse:
    """django-axes' answer to a paused sign-in outside the API (Django's admin login).

    The API's own 429 (with its JSON error and Retry-After) is kept as it is.
    """
    if original_response is not None and original_response.status_code == 429:
        return original_response
    username = (credentials or {}).get("username") or "this account"
    paused = SignInsPaused(username, _seconds_left(request, username))
    response = HttpResponse(paused.message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(paused.retry_after)
    return response


class Throttled(exceptions.Throttled):
    """A 429 whose message is ours alone (DRF's would append "Expected available in…")."""

    def __init__(self, paused: SignInsPaused):
        exceptions.APIException.__init__(self, paused.message)
        self.wait = paused.retry_after


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
        try:
            user = user_for_password(request._request, username, password)
        except SignInsPaused as paused:
            raise Throttled(paused) from None
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid username or password.")
        return user, None
