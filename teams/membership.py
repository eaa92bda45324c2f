"""Teams and their members: made by anyone signed in, run by their Owners, never left
without an Owner."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery

from accounts.usernames import validate_new_team_name
from lib.errors import Conflict, Forbidden, Invalid, NotFound
from records.models import Membership, Role, Team
from teams import access


def create_team(user, name: str, description: str = "") -> Team:
    """A new team whose first Owner is the person making it."""
    validate_new_team_name(name)
    with transaction.atomic():
        team = Team.objects.create(name=name, description=description, created_by=user)
        Membership.objects.create(team=team, user=user, role=Role.OWNER)
    return team


def counted(teams: QuerySet[Team]) -> QuerySet[Team]:
    """Teams with their `member_count` and `image_count`."""
    return teams.annotate(
        member_count=Count("memberships", distinct=True),
        image_count=Count("images", distinct=True),
    )


def teams_of(user) -> QuerySet[Team]:
    """The person's teams (staff: every team), with `role` (theirs, or None), `member_count`
    and `image_count`."""
    teams = Team.objects.all() if user.is_staff else Team.objects.filter(memberships__user=user)
    mine = Membership.objects.filter(user_id=user.pk)
    return (
        counted(teams)
        .annotate(
            role=Subquery(mine.filter(team_id=OuterRef("pk")).values("role")[:1]),
        )
        .order_by("name")
    )


def get_team(user, name: str) -> tuple[Team, str]:
    """The team `name` and the person's role in it; a team they are not in does not exist."""
    team = Team.objects.filter(name=name).first()
    role = access.role_in(user, team.pk) if team is not None else None
    if role is None:
        raise NotFound(f"You are not in a team named {name}.")
    return team, role


def require_owner(team: Team, role: str) -> None:
    if role != Role.OWNER:
        raise Forbidden(
            f"Only the Owners of team {team.name} can change its members, invitations, "
            f"access tokens and settings; you are a {role}."
        )


def members(team: Team) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(team=team)
        .select_related("user", "user__profile")
        .order_by("user__username")
    )


def get_member(team: Team, username: str) -> Membership:
    membership = members(team).filter(user__username=username).first()
    if membership is None:
        raise NotFound(f"{username} is not a member of team {team.name}.")
    return membership


def update_team(team: Team, description: str) -> Team:
    team.description = description
    team.save(update_fields=["description"])
    return team


def delete_team(team: Team) -> None:
    count = team.images.count()
    if count:
        raise Conflict(
            f"Team {team.name} still holds {count} image{'' if count == 1 else 's'}: delete "
            "them first. A team can be deleted once it holds nothing."
        )
    team.delete()


def _lock_owners(team_id: int) -> None:
    """Lock the team's Owners (PostgreSQL; SQLite writes one at a time anyway), so two Owners
    demoting or removing each other cannot both succeed and leave the team without one."""
    list(
        Membership.objects.select_for_update()
        .filter(team_id=team_id, role=Role.OWNER)
        .values_list("pk", flat=True)
    )


def _other_owners(membership: Membership) -> bool:
    return (
        Membership.objects.filter(team_id=membership.team_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


def change_role(membership: Membership, role: str) -> Membership:
    """Give a member another role; the last Owner stays one (make someone else Owner first)."""
    if role not in Role.values:
        raise Invalid({"role": [f"'{role}' is not one of: {', '.join(Role.values)}."]})
    with transaction.atomic():
        _lock_owners(membership.team_id)
        if membership.role == Role.OWNER and role != Role.OWNER and not _other_owners(membership):
            raise Invalid(
                {
                    "role": [
                        f"{membership.user.get_username()} is the last Owner of team "
                        f"{membership.team.name}: make someone else an Owner first."
                    ]
                }
            )
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def remove(membership: Membership) -> None:
    """Remove a member (or let one leave): what they reached through the team is gone at once."""
    with transaction.atomic():
        _lock_owners(membership.team_id)
        if membership.role == Role.OWNER and not _other_owners(membership):
            raise Invalid(
                {
                    "username": [
                        f"{membership.user.get_username()} is the last Owner of team "
                        f"{membership.team.name}: make someone else an Owner first, or delete "
                        "the team."
                    ]
                }
            )
        membership.delete()


def find_person(username: str):
    person = get_user_model().objects.filter(username=username, is_active=True).first()
    if person is None:
        raise Invalid({"username": [f"No one here has the username {username}."]})
    return person


def is_member(team: Team, user) -> bool:
    return Membership.objects.filter(team=team, user_id=user.pk).exists()
