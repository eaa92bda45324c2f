"""Passwords: our rule beside Django's validators, changing one, and reset links (handed over by
staff or emailed)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts import mail, sessions
from accounts.credentials import looks_like_api_key, user_for_password
from lib import crypto
from lib.errors import Invalid


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

    Raises Invalid({"current_password": ...} or {"new_password": [...]}) and
    SignInsPaused; returns how many other sign-ins ended.
    """
    if user_for_password(request, user.get_username(), current) is None:
        raise Invalid({"current_password": ["That is not your current password."]})
    return _set_password(user, new, keep_session)


def reset_link_parts(user) -> tuple[str, str]:
    """(uid, token) of a password reset link: Django's token generator, so the link works once
    (setting a password changes what the token is made of) and expires after
    PASSWORD_RESET_TIMEOUT."""
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def reset_link_hours() -> int:
    return round(settings.PASSWORD_RESET_TIMEOUT / 3600)


def email_reset_links(email: str) -> None:
    """Mail a reset link to each active person using this address (usually one), at most
    RESET_EMAILS_PER_HOUR per address whoever asks; the caller's answer is the same whether
    or not anyone does, and it does not wait for the mail server."""
    if not mail.enabled() or not _mailbox_may_receive(email):
        return
    hours = reset_link_hours()
    for user in get_user_model().objects.filter(email__iexact=email, is_active=True):
        context = {
            "site": settings.SITE_NAME,
            "username": user.get_username(),
            "link": mail.admin_link("images:reset", *reset_link_parts(user)),
            "hours": hours,
        }
        mail.send_in_background(user.email, "password_reset", context)


def _mailbox_may_receive(email: str) -> bool:
    cache = caches["rate-limits"]
    key = "reset-mails:" + crypto.digest(email.strip().lower())
    cache.add(key, 0, timeout=3600)
    return cache.incr(key) <= settings.RESET_EMAILS_PER_HOUR


def reset_password(uid: str, token: str, new: str):
    """Set the password of the person the link was made for; returns them.

    Raises Invalid({"token": ...}) for a wrong, used or expired link and
    Invalid({"new_password": [...]}) for a password the rules refuse.
    """
    try:
        user = get_user_model().objects.get(pk=int(urlsafe_base64_decode(uid)), is_active=True)
    except (ValueError, TypeError, OverflowError, get_user_model().DoesNotExist):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        raise Invalid(
            {
                "token": [
                    "This link has expired or was already used. Ask for a new one: "
                    "“Forgot your password?” on the sign-in page, or a staff member."
                ]
            }
        )
    _set_password(user, new, keep_session=None)
    return user


def _set_password(user, new: str, keep_session) -> int:
    """Apply Django's password rules, set it, and end every admin sign-in but `keep_session`;
    returns how many ended."""
    try:
        validate_password(new, user)
    except ValidationError as error:
        raise Invalid({"new_password": error.messages}) from error
    user.set_password(new)
    user.save(update_fields=["password"])
    return sessions.end_other_sessions(user, keep_session)
