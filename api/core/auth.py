"""API authentication, as Tutum's clients send it on every endpoint.

`Basic base64(user:apikey)` (python-tutum, go-tutum, the CLI with TUTUM_APIKEY), `Basic
base64(user:password)` (the CLI after `tutum login`) and `ApiKey user:apikey` (the spec). Which
credentials are good is accounts.credentials' business (teams.tokens' for a team access token,
`<team>+<name>`); this module speaks HTTP.
"""

from __future__ import annotations

import base64
import binascii

from rest_framework import authentication, exceptions

from accounts.credentials import (
    SecondFactorNeeded,
    SignInsPaused,
    refusal_message,
    user_for_credentials,
)
from teams import tokens as team_tokens

REALM = 'Basic realm="tutumweb API", charset="UTF-8"'


def parse_authorization(header: str) -> tuple[str, str, str] | None:
    """Split an Authorization header into (scheme, username, secret); None if malformed.

    Schemes are case-insensitive: `Basic` carries base64(user:secret), `ApiKey` user:secret.
    """
    scheme, _, value = header.strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "basic":
        # The tutum CLI's login prompt (shown after a refused key) saves the value quoted.
        if len(value) > 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
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


class Throttled(exceptions.Throttled):
    """A 429 whose message is ours alone (DRF's would append "Expected available in…")."""

    def __init__(self, paused: SignInsPaused):
        exceptions.APIException.__init__(self, paused.message)
        self.wait = paused.retry_after


class TutumAuthentication(authentication.BaseAuthentication):
    """Every API endpoint: a username with one of that user's API keys, or with the password;
    or a team access token (which api.core.permissions.TeamTokensWhereAllowed keeps to its
    endpoints)."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        parsed = parse_authorization(header)
        if parsed is None:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: use 'Basic base64(username:apikey)', "
                "'Basic base64(username:password)' or 'ApiKey username:apikey'."
            )
        scheme, username, secret = parsed
        if team_tokens.is_token_username(username):
            # Never a person's login, so never a password that django-axes would count.
            principal = team_tokens.principal_for(username, secret)
            if principal is None:
                raise exceptions.AuthenticationFailed(team_tokens.REFUSAL)
            return principal, principal.token
        try:
            result = user_for_credentials(request._request, scheme, username, secret)
        except SignInsPaused as paused:
            raise Throttled(paused) from None
        except SecondFactorNeeded as needed:
            return self.second_factor_needed(needed)
        if result is None:
            raise exceptions.AuthenticationFailed(refusal_message(scheme, secret))
        return result

    def second_factor_needed(self, needed: SecondFactorNeeded):
        raise exceptions.AuthenticationFailed(str(needed))

    def authenticate_header(self, request) -> str:
        return REALM


# The `auth` of a sign-in whose password was right, when its second factor is still to come.
SECOND_STEP = object()


class PasswordSignIn(TutumAuthentication):
    """The web admin's sign-in (`POST /api/v1/session/`): a right password of a person with
    two-factor sign-in on is the first step, answered with a challenge, not refused."""

    def second_factor_needed(self, needed: SecondFactorNeeded):
        return needed.user, SECOND_STEP
