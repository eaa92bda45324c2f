"""Links the admin hands out (invitations, reset links, join links) start with
ADMIN_PUBLIC_URL, never with the Host of the request: a request may name any Host, and a link
built from it could send a person's token to someone else's server."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse


def public_link(view_name: str, *args: str) -> str:
    return settings.ADMIN_PUBLIC_URL + reverse(view_name, args=args)
