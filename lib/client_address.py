"""The browser's address, vouched for by our web admin when it signs someone in to our API.

Wrong passwords are counted per username and address. A sign-in through the admin reaches
the API from the admin's own address, which would make every admin user one address; the
admin therefore sends the browser's address, signed with SECRET_KEY so nobody else can claim
one. Other Tutum-compatible servers ignore the header.

Behind load balancers the connection comes from the nearest balancer; with TRUSTED_PROXY_HOPS
set to how many of ours stand in front, the address is the one the outermost of them saw,
read from the right of X-Forwarded-For (each proxy appends the address it was reached from,
so entries further left are whatever the client wrote and cannot be trusted). Only for nodes
that nobody can reach except through those proxies: a direct request could write the header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing

if TYPE_CHECKING:
    from django.http import HttpRequest

HEADER = "X-Tutumweb-Client-Address"
_META_KEY = "HTTP_" + HEADER.upper().replace("-", "_")
_SALT = "tutumweb.client-address"
_MAX_AGE = 60  # seconds; the header travels from the admin to the API at once


def vouch(address: str) -> str:
    """The header value for a request the admin makes on behalf of `address`."""
    return signing.dumps(address, salt=_SALT)


def client_address(request: HttpRequest) -> str:
    """The address vouched for by our admin, else the connection's (django-axes' client IP)."""
    vouched = request.META.get(_META_KEY)
    if vouched:
        try:
            return str(signing.loads(vouched, salt=_SALT, max_age=_MAX_AGE))
        except signing.BadSignature:
            pass
    return connection_address(request)


def connection_address(request: HttpRequest) -> str:
    """The address the request reached our outermost trusted proxy from (or us, with none)."""
    hops = settings.TRUSTED_PROXY_HOPS
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") if hops else ""
    entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
    # Fewer entries than proxies: the request skipped some of them (a direct connection
    # to a node), so nothing in the header was written by ours.
    if len(entries) >= hops > 0:
        return entries[-hops]
    return request.META.get("REMOTE_ADDR", "")
