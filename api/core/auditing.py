"""Writing the audit trail from the API: the actor and the address come from the request
(the browser's, when our admin vouches for it; else the connection's)."""

from __future__ import annotations

from audit import trail
from lib.client_address import client_address


def note(request, action: str, target: str, *, team=None, actor=None, **details) -> None:
    """Record `action` by the request's user (or `actor`, when the request signs someone in
    who is not its user yet) from the request's browser address."""
    trail.record(
        action,
        target,
        actor=actor or request.user,
        team=team,
        address=client_address(request),
        details=details,
    )
