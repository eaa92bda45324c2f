"""The web admin's sign-ins: a credential per browser, ended at sign-out or password change.

Each is an ApiKey of kind SESSION that lives as long as an admin session may
(SESSION_COOKIE_AGE), so ending one takes effect at once, in every admin worker.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

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
