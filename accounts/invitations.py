"""Invitations: staff ask someone to join by email address; the link works once, until it
expires (INVITE_DAYS), and accepting it makes the person's account."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import mail, notices
from accounts.joining import create_person
from lib import crypto
from lib.errors import Invalid, NotFound
from records.models import Invitation


@dataclass
class Issued:
    invitation: Invitation
    token: str
    # "" when it was emailed; else why not (email is off, or the mail server refused it).
    not_sent: str


def pending() -> QuerySet[Invitation]:
    """Invitations not yet accepted, expired ones included (staff may send them again)."""
    return Invitation.objects.filter(accepted__isnull=True).select_related("invited_by")


def get_pending(invitation_id: int) -> Invitation:
    invitation = pending().filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound(f"There is no open invitation {invitation_id}.")
    return invitation


def invite(actor, email: str) -> Issued:
    person = get_user_model().objects.filter(email__iexact=email).first()
    if person is not None:
        raise Invalid({"email": [f"{person.get_username()} already uses this address."]})
    if pending().filter(email__iexact=email).exists():
        raise Invalid(
            {"email": ["This address already has an invitation: send that one again instead."]}
        )
    invitation = Invitation(email=email, invited_by=actor)
    return _issue(invitation)


def resend(invitation: Invitation) -> Issued:
    """A new link (the old one stops working) with a new expiry, emailed again."""
    return _issue(invitation)


def cancel(invitation: Invitation) -> None:
    invitation.delete()


def _issue(invitation: Invitation) -> Issued:
    token = secrets.token_urlsafe(32)
    invitation.token_hash = crypto.digest(token)
    invitation.expires = timezone.now() + timedelta(days=settings.INVITE_DAYS)
    not_sent = "email is not set up here" if not mail.enabled() else _email(invitation, token)
    if not not_sent:
        invitation.sent = timezone.now()
    invitation.save()
    return Issued(invitation, token, not_sent)


def _email(invitation: Invitation, token: str) -> str:
    inviter = invitation.invited_by
    profile = getattr(inviter, "profile", None)
    context = {
        "site": settings.SITE_NAME,
        "inviter": (profile and profile.display_name)
        or (inviter and inviter.get_username())
        or "Staff",
        "link": mail.admin_link("images:accept-invitation", token),
        "expires": invitation.expires,
    }
    return mail.send(invitation.email, "invitation", context)


def open_invitation(token: str) -> Invitation:
    """The invitation this link is for, while it can still be accepted.

    Raises Invalid({"token": ...}) saying which: unknown (cancelled, or replaced by a
    newer link), already used, or expired.
    """
    invitation = Invitation.objects.filter(token_hash=crypto.digest(token)).first()
    if invitation is None:
        message = (
            "This invitation link doesn't work: it was cancelled, or a newer one was sent. "
            "Ask staff to invite you again."
        )
    elif invitation.accepted is not None:
        message = "This invitation was already used. Sign in with the username you chose."
    elif invitation.is_expired:
        message = "This invitation has expired. Ask staff to send it again."
    else:
        return invitation
    raise Invalid({"token": [message]})


def accept(token: str, username: str, password: str, *, display_name: str = ""):
    """Make the person's account with the invited address; the link then works no more."""
    with transaction.atomic():
        invitation = open_invitation(token)
        user = create_person(username, invitation.email, password, display_name=display_name)
        # Only one of two acceptances racing each other wins the link.
        claimed = Invitation.objects.filter(pk=invitation.pk, accepted__isnull=True).update(
            accepted=timezone.now(), accepted_by=user
        )
        if not claimed:
            raise Invalid({"token": ["This invitation was already used."]})
    context = {
        "person": notices.name_of(user),
        "joined": settings.SITE_NAME,
        "link": mail.admin_link("images:people"),
    }
    notices.notify(invitation.invited_by, "invitation_accepted", "invitation_accepted", context)
    return user


def delete_stale(days: int = 30) -> int:
    """Accepted invitations and ones expired for `days`: housekeeping's."""
    cutoff = timezone.now() - timedelta(days=days)
    accepted = Invitation.objects.filter(accepted__lt=cutoff).delete()[0]
    return (
        accepted + Invitation.objects.filter(accepted__isnull=True, expires__lt=cutoff).delete()[0]
    )
