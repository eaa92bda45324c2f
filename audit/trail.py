"""The audit trail: every change, who made it (a person or a team access token), to what, when
and from where; read by each person for themselves, by a team's Owners for the team, and by
staff for everyone. Kept AUDIT_DAYS and pruned by housekeeping."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from records.models import AuditEvent, Membership, Role, Team
from teams.tokens import TokenPrincipal

# Every action the trail records, and what it is about.
ACTIONS = {
    "sign_in": "a person signing in to the web admin",
    "password.change": "a person changing their password",
    "apikey.create": "an API key made",
    "apikey.revoke": "an API key revoked",
    "image.register": "an image registered",
    "image.edit": "an image's description, credentials or build settings changed",
    "image.visibility": "an image made public or private",
    "image.delete": "an image deleted (to the recycle bin)",
    "image.restore": "an image brought back from the recycle bin",
    "tag.delete": "a tag deleted (to the recycle bin)",
    "tag.restore": "a tag brought back from the recycle bin",
    "bin.purge": "something in the recycle bin deleted for good",
    "policy.save": "a cleanup policy set",
    "policy.delete": "a cleanup policy removed",
    "policy.run": "a cleanup policy moving tags to the recycle bin",
    "tag.build": "a build started",
    "build.cancel": "a build cancelled",
    "tag.push": "a tag pushed to our registry",
    "tag.pull": "a tag pulled from our registry by a team access token",
    "team.create": "a team made",
    "team.edit": "a team's description changed",
    "team.delete": "a team deleted",
    "invitation.create": "someone invited into a team",
    "invitation.cancel": "a team invitation cancelled",
    "invitation.decline": "a team invitation declined",
    "member.join": "someone joining a team",
    "member.role": "a member's role changed",
    "member.remove": "a member removed from a team",
    "member.leave": "a member leaving a team",
    "token.create": "a team access token made",
    "token.revoke": "a team access token revoked",
}


def record(
    action: str,
    target: str,
    *,
    actor=None,
    actor_name: str = "",
    team: Team | int | None = None,
    address: str = "",
    details: dict | None = None,
    event_id: str | None = None,
) -> AuditEvent | None:
    """Write one event. `actor` is a person, a TokenPrincipal, or None with `actor_name` (a
    registry actor we only know by name). The names are copied, so the event still reads
    right after the person, token or team is gone."""
    user, kind = None, AuditEvent.Actor.SYSTEM
    if isinstance(actor, TokenPrincipal):
        kind, actor_name = AuditEvent.Actor.TOKEN, actor.get_username()
    elif actor is not None and getattr(actor, "pk", None) is not None:
        user, kind, actor_name = actor, AuditEvent.Actor.PERSON, actor.get_username()
    elif actor_name:
        kind = AuditEvent.Actor.TOKEN if "+" in actor_name else AuditEvent.Actor.PERSON
    team_id = team.pk if isinstance(team, Team) else team
    team_name = team.name if isinstance(team, Team) else ""
    if team_id is not None and not team_name:
        team_name = Team.objects.filter(pk=team_id).values_list("name", flat=True).first() or ""
    if event_id and AuditEvent.objects.filter(event_id=event_id).exists():
        return None  # a registry event delivered again
    return AuditEvent.objects.create(
        event_id=event_id or None,
        team_name=team_name,
        action=action,
        target=target[:500],
        actor_user=user,
        actor_kind=kind,
        actor_name=actor_name[:150],
        team_id=team_id,
        address=address[:100],
        details=details or {},
    )


def readable_by(user) -> QuerySet[AuditEvent]:
    """What `user` may read: staff everything; anyone else what they did themselves, and
    everything in the teams they are an Owner of."""
    events = AuditEvent.objects.select_related("team")
    if user.is_staff:
        return events
    owned = Membership.objects.filter(user_id=user.pk, role=Role.OWNER).values("team_id")
    return events.filter(Q(actor_user_id=user.pk) | Q(team_id__in=owned))


def of_team(team: Team) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(team=team).select_related("team")


def prune() -> int:
    """Events older than AUDIT_DAYS: housekeeping's."""
    cutoff = timezone.now() - timedelta(days=settings.AUDIT_DAYS)
    return AuditEvent.objects.filter(time__lt=cutoff).delete()[0]
