"""Asking someone into a team with a role: by username (they accept from their Teams page) or
by a link that one signed-in person may accept, until it expires (INVITE_DAYS)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import mail, notices
from lib import crypto
from lib.errors import Invalid, NotFound
from records.models import Membership, Role, Team, TeamInvitation
from teams import membership


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise Invalid({"role": [f"'{role}' is not one of: {', '.join(Role.values)}."]})


def _expiry():
    return timezone.now() + timedelta(days=settings.INVITE_DAYS)


def pending_for_team(team: Team) -> QuerySet[TeamInvitation]:
    return TeamInvitation.objects.filter(team=team).select_related("invitee", "invited_by")


def pending_for(user) -> QuerySet[TeamInvitation]:
    """Invitations addressed to the person that still work."""
    return TeamInvitation.objects.filter(invitee=user, expires__gt=timezone.now()).select_related(
        "team", "invited_by"
    )


def invite_person(actor, team: Team, username: str, role: str) -> TeamInvitation:
    _check_role(role)
    person = membership.find_person(username)
    if membership.is_member(team, person):
        raise Invalid({"username": [f"{username} is already in team {team.name}."]})
    try:
        with transaction.atomic():
            return TeamInvitation.objects.create(
                team=team, role=role, invitee=person, invited_by=actor, expires=_expiry()
            )
    except IntegrityError:
        raise Invalid(
            {"username": [f"{username} already has an invitation to team {team.name}."]}
        ) from None


def invite_by_link(actor, team: Team, role: str) -> tuple[TeamInvitation, str]:
    """A link invitation and its secret (shown once: only its digest is kept)."""
    _check_role(role)
    token = secrets.token_urlsafe(32)
    invitation = TeamInvitation.objects.create(
        team=team, role=role, token_hash=crypto.digest(token), invited_by=actor, expires=_expiry()
    )
    return invitation, token


def get_for_team(team: Team, invitation_id: int) -> TeamInvitation:
    invitation = pending_for_team(team).filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound(f"Team {team.name} has no invitation {invitation_id}.")
    return invitation


def get_for_person(user, invitation_id: int) -> TeamInvitation:
    invitation = pending_for(user).filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound(f"You have no open team invitation {invitation_id}.")
    return invitation


def open_link(token: str) -> TeamInvitation:
    """The link invitation `token` while it works; else Invalid on `token` saying why."""
    invitation = (
        TeamInvitation.objects.filter(token_hash=crypto.digest(token))
        .select_related("team", "invited_by")
        .first()
    )
    if invitation is None:
        message = (
            "This team invitation link doesn't work: it was used, cancelled, or never existed. "
            "Ask an Owner of the team for a new one."
        )
    elif invitation.is_expired:
        message = (
            f"This invitation to team {invitation.team.name} has expired. Ask one of its Owners "
            "for a new one."
        )
    else:
        return invitation
    raise Invalid({"token": [message]})


def accept(user, invitation: TeamInvitation) -> Membership:
    """Join the team with the invitation's role; the invitation is used up."""
    with transaction.atomic():
        # Deleting it first means two acceptances of one link cannot both win.
        if not TeamInvitation.objects.filter(pk=invitation.pk).delete()[0]:
            raise Invalid({"token": ["This invitation was already used."]})
        if membership.is_member(invitation.team, user):
            raise Invalid({"token": [f"You are already in team {invitation.team.name}."]})
        member = Membership.objects.create(team=invitation.team, user=user, role=invitation.role)
    team = invitation.team.name
    context = {
        "person": notices.name_of(user),
        "joined": f"team {team} (as {invitation.role})",
        "link": mail.admin_link("images:team", team),
    }
    notices.notify(invitation.invited_by, "invitation_accepted", "invitation_accepted", context)
    return member


def decline(invitation: TeamInvitation) -> None:
    invitation.delete()


def delete_stale(days: int = 30) -> int:
    """Invitations expired `days` ago: housekeeping's."""
    cutoff = timezone.now() - timedelta(days=days)
    return TeamInvitation.objects.filter(expires__lt=cutoff).delete()[0]
