"""Email notifications to a person, each of which they can turn off on Your account.

The senders (builds, team and staff invitations, webhooks) call `notify` once the change that
caused the notice is saved. It never raises and never waits for the mail server: a notice
must neither fail nor slow the request or build that caused it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model

from accounts import mail
from lib.errors import Invalid
from records.models import Profile

log = logging.getLogger(__name__)

# Each kind a person can turn off, with the words they read on Your account and in the
# message's footer. All are on until turned off.
KINDS = {
    "build_failed": "A build I started failed",
    "build_fixed": "A build I started succeeded after the tag's previous build failed",
    "invitation_accepted": "Someone accepted an invitation I sent",
    "webhook_paused": "A webhook I manage was paused because it kept failing",
}


def choices_of(profile: Profile) -> dict[str, bool]:
    """Every kind, on (True) or off."""
    off = set(profile.email_notices_off or [])
    return {kind: kind not in off for kind in KINDS}


def choose(profile: Profile, choices: dict[str, bool]) -> None:
    """Turn the kinds named in `choices` on or off on `profile` (the caller saves it); the
    others stay as they are."""
    unknown = sorted(set(choices) - set(KINDS))
    if unknown:
        known = ", ".join(KINDS)
        raise Invalid(
            {
                f"email_notifications.{kind}": [f"Unknown notification; one of: {known}."]
                for kind in unknown
            }
        )
    off = set(profile.email_notices_off or [])
    off.difference_update(kind for kind, on in choices.items() if on)
    off.update(kind for kind, on in choices.items() if not on)
    profile.email_notices_off = sorted(off)


def name_of(user) -> str:
    """How a message names someone: their display name and username, or the username."""
    display_name = (
        Profile.objects.filter(user_id=user.pk).values_list("display_name", flat=True).first()
    )
    username = user.get_username()
    return f"{display_name} ({username})" if display_name else username


def notify(user, kind: str, template: str, context: dict) -> None:
    """Email `user` the message `email/<template>.txt` about `kind`, when this server sends
    email and the person is active, has an address and has not turned `kind` off.

    `context` holds plain values (the message is rendered in another thread); the footer's
    `site`, `setting` (the kind's words) and `account_link` are added here."""
    try:
        address = _address_for(user, kind)
        if address:
            context = {
                "site": settings.SITE_NAME,
                "setting": KINDS[kind],
                "account_link": mail.admin_link("images:account"),
                **context,
            }
            # The mail server may be slow or down: the message goes in a thread of its own
            # (mail.send logs a refusal), so what caused it goes on at once.
            mail.send_in_background(address, template, context)
    except Exception:
        # A notice is never worth failing what caused it (a build's outcome, a join).
        log.exception("email notification %s to user %s not sent", kind, getattr(user, "pk", None))


def _address_for(user, kind: str) -> str:
    """Where `kind` goes for `user`, or "" when it does not go at all."""
    if kind not in KINDS:
        raise ValueError(f"unknown email notification {kind!r}")
    if user is None or not mail.enabled():
        return ""
    row = (
        get_user_model()
        .objects.filter(pk=user.pk, is_active=True)
        .values_list("email", "profile__email_notices_off")
        .first()
    )
    if row is None:
        return ""
    email, off = row
    return "" if not email or kind in (off or []) else email
