"""Rate limits on what anyone may ask without signing in: reset emails, sign-ups,
invitations accepted (ACCOUNT_REQUESTS_PER_HOUR per address, counted in the database)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle

from lib.client_address import client_address


class AccountRequests(SimpleRateThrottle):
    """Counts writes per browser address: the one our admin vouches for, else the
    connection's (never X-Forwarded-For, which anyone can write)."""

    scope = "account-requests"

    def __init__(self):
        self.cache = caches["rate-limits"]
        super().__init__()

    def get_rate(self) -> str:
        return f"{settings.ACCOUNT_REQUESTS_PER_HOUR}/hour"

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}
