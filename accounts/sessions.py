"""The web admin's sign-ins: a credential per browser, ended at sign-out or password change.

Each is an ApiKey of kind SESSION that lives as long as an admin session may
(SESSION_COOKIE_AGE), so ending one takes effect at once, in every admin worker.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.cache import caches
from django.utils import timezone

from accounts import two_factor
from lib.errors import Invalid
from records.models import ApiKey

LABEL = "Web admin sign-in"


def start_session(user) -> tuple[ApiKey, str]:
    expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return ApiKey.issue(user, label=LABEL, expires=expires, kind=ApiKey.Kind.SESSION)


def is_session(api_key) -> bool:
    return isinstance(api_key, ApiKey) and api_key.kind == ApiKey.Kind.SESSION


def end_session(api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, kind=ApiKey.Kind.SESSION).delete()


def end_other_sessions(user, keep: ApiKey | None) -> int:
    """Sign the person out of every browser but the one asking; returns how many ended."""
    others = ApiKey.objects.filter(user=user, kind=ApiKey.Kind.SESSION)
    if keep is not None:
        others = others.exclude(pk=keep.pk)
    return others.delete()[0]


def delete_expired() -> int:
    return ApiKey.objects.filter(kind=ApiKey.Kind.SESSION, expires__lte=timezone.now()).delete()[0]


# -- the second step of a sign-in with two-factor on ----------------------------------------

# How long the code may take after the password: enough to find the phone.
CHALLENGE_SECONDS = 300
_SALT = "accounts.sessions.second-factor"
_EXPIRED = "This sign-in has expired or was used already: sign in again with your password."


def second_factor_challenge(user) -> str:
    """What the password's right answer carries to the second step: signed, single-use,
    good for CHALLENGE_SECONDS."""
    return signing.dumps({"u": user.pk, "n": secrets.token_hex(8)}, salt=_SALT)


def complete_second_factor(challenge: str, code: str):
    """(user, "totp" or "recovery") when `code` completes the sign-in `challenge` began."""
    try:
        data = signing.loads(challenge, salt=_SALT, max_age=CHALLENGE_SECONDS)
    except signing.BadSignature:
        raise Invalid({"challenge": [_EXPIRED]}) from None
    cache, used = caches["rate-limits"], f"second-factor-used:{data['n']}"
    if cache.get(used):
        raise Invalid({"challenge": [_EXPIRED]})
    user = get_user_model().objects.filter(pk=data["u"], is_active=True).first()
    if user is None:
        raise Invalid({"challenge": [_EXPIRED]})
    method = two_factor.verify(user, code)
    if not cache.add(used, 1, CHALLENGE_SECONDS):
        raise Invalid({"challenge": [_EXPIRED]})  # another request completed it meanwhile
    return user, method
