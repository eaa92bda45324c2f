"""The audit trail: every change, who made it (a person or a team access token), to what, when
and from where; read by each person for themselves, by a team's Owners for the team, and by
staff for everyone. Kept AUDIT_DAYS and pruned by housekeeping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from records.models import AuditEvent, Membership, Role, Team
from teams.tokens import TokenPrincipal


@dataclass(frozen=True)
class Action:
    """What an action is called where people read the trail: `label`, the short past-tense
    sentence the admin shows before its target ("Deleted a tag"), and `description`, what it
    is about ("a tag deleted (to the recycle bin)")."""

    label: str
    description: str


# Every action the trail records, in the order a list of them offers them.
ACTIONS: dict[str, Action] = {
    "sign_in": Action("Signed in", "a person signing in to the web admin"),
    "password.change": Action("Changed their password", "a person changing their password"),
    "two_factor.on": Action("Turned two-factor sign-in on", "two-factor sign-in turned on"),
    "two_factor.off": Action("Turned two-factor sign-in off", "two-factor sign-in turned off"),
    "two_factor.recovery_codes": Action(
        "Made new recovery codes", "new two-factor recovery codes made (the old ones ended)"
    ),
    "two_factor.reset": Action(
        "Reset someone's two-factor sign-in", "staff turning a person's two-factor sign-in off"
    ),
    "apikey.create": Action("Made an API key", "an API key made"),
    "apikey.revoke": Action("Revoked an API key", "an API key revoked"),
    "image.register": Action("Registered an image", "an image registered"),
    "image.edit": Action(
        "Edited an image", "an image's description, credentials or build settings changed"
    ),
    "image.visibility": Action("Changed who can see an image", "an image made public or private"),
    "image.delete": Action("Deleted an image", "an image deleted (to the recycle bin)"),
    "image.restore": Action("Restored an image", "an image brought back from the recycle bin"),
    "tag.delete": Action("Deleted a tag", "a tag deleted (to the recycle bin)"),
    "tag.restore": Action("Restored a tag", "a tag brought back from the recycle bin"),
    "untagged.restore": Action(
        "Restored an untagged version",
        "an old manifest no tag names brought back from the recycle bin (by digest)",
    ),
    "bin.purge": Action("Deleted for good", "something in the recycle bin deleted for good"),
    "policy.save": Action("Set a cleanup policy", "a cleanup policy set"),
    "policy.delete": Action("Removed a cleanup policy", "a cleanup policy removed"),
    "policy.run": Action(
        "Cleanup moved tags to the bin",
        "a cleanup policy moving tags (or untagged versions) to the recycle bin",
    ),
    "tag.build": Action("Started a build", "a build started"),
    "build.cancel": Action("Cancelled a build", "a build cancelled"),
    "tag.push": Action("Pushed", "a tag pushed to our registry"),
    "tag.pull": Action("Pulled", "a tag pulled from our registry by a team access token"),
    "team.create": Action("Made the team", "a team made"),
    "team.edit": Action("Edited the team", "a team's description changed"),
    "team.delete": Action("Deleted the team", "a team deleted"),
    "invitation.create": Action("Invited", "someone invited into a team"),
    "invitation.cancel": Action("Cancelled an invitation", "a team invitation cancelled"),
    "invitation.decline": Action("Declined an invitation", "a team invitation declined"),
    "member.join": Action("Joined the team", "someone joining a team"),
    "member.role": Action("Changed a role", "a member's role changed"),
    "member.remove": Action("Removed a member", "a member removed from a team"),
    "member.leave": Action("Left the team", "a member leaving a team"),
    "token.create": Action("Made an access token", "a team access token made"),
    "token.revoke": Action("Revoked an access token", "a team access token revoked"),
    "webhook.create": Action("Added a webhook", "a webhook added"),
    "webhook.edit": Action("Changed a webhook", "a webhook's URL, events or state changed"),
    "webhook.delete": Action("Removed a webhook", "a webhook removed"),
    "webhook.secret": Action("Made a new webhook secret", "a webhook's secret replaced"),
    "webhook.pause": Action(
        "Paused a webhook", "a webhook paused because its deliveries kept failing"
    ),
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
