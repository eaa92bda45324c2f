"""A person's API keys: several, named, optionally expiring, revoked at once."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from lib.errors import NotFound
from records.models import ApiKey

MAX_DAYS = 3650


def keys_of(user) -> QuerySet[ApiKey]:
    """The person's keys, expired ones included (so they can see why a script stopped); the
    web admin's sign-ins are not keys the person manages (accounts.sessions)."""
    return ApiKey.objects.filter(user=user, kind=ApiKey.Kind.KEY).order_by("-created", "-pk")


def usable_keys_of(user) -> QuerySet[ApiKey]:
    now = timezone.now()
    return keys_of(user).filter(Q(expires__isnull=True) | Q(expires__gt=now))


def get_key(user, key_id: int) -> ApiKey:
    """One of the person's keys; another person's key does not exist for them (404)."""
    api_key = keys_of(user).filter(pk=key_id).first()
    if api_key is None:
        raise NotFound(f"You have no API key {key_id}.")
    return api_key


def issue_key(user, label: str, expires_in_days: int | None) -> tuple[ApiKey, str]:
    expires = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    return ApiKey.issue(user, label=label, expires=expires)


def rename_key(api_key: ApiKey, label: str) -> ApiKey:
    api_key.label = label
    api_key.save(update_fields=["label"])
    return api_key


def revoke_key(api_key: ApiKey) -> None:
    """Gone for good: every later request with it (API, registry logins) is refused."""
    api_key.delete()
