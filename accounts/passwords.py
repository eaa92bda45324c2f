"""A password rule of our own, beside Django's validators (AUTH_PASSWORD_VALIDATORS)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from accounts.credentials import looks_like_api_key


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
