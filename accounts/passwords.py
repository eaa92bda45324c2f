"""A password rule of our own, beside Django's validators (AUTH_PASSWORD_VALIDATORS)."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from accounts import sessions
from accounts.credentials import looks_like_api_key, user_for_password


class NotShapedLikeAnApiKey:
    """Secrets shaped like our API keys are only ever checked as keys (accounts/credentials.py),
    so such a password could never sign in to the API."""

    def validate(self, password: str, user=None) -> None:
        if looks_like_api_key(password):
            raise ValidationError(
                "This password looks like an API key (40 characters of 0-9 and a-f); choose "
                "another.",
                code="password_like_api_key",
            )

    def get_help_text(self) -> str:
        return "Your password can't look like an API key (40 characters of 0-9 and a-f)."


def change_password(request, user, current: str, new: str, *, keep_session=None) -> int:
    """Check the current password (a wrong one counts toward the sign-in pause), apply
    Django's password rules to the new one, and sign the person out of every other browser.

    Raises ValidationError({"current_password": ...} or {"new_password": [...]}) and
    SignInsPaused; returns how many other sign-ins ended.
    """
    if user_for_password(request, user.get_username(), current) is None:
        raise ValidationError({"current_password": ["That is not your current password."]})
    try:
        validate_password(new, user)
    except ValidationError as error:
        raise ValidationError({"new_password": error.messages}) from error
    user.set_password(new)
    user.save(update_fields=["password"])
    return sessions.end_other_sessions(user, keep_session)
