"""Each people-side JSON builder makes exactly the shape its serializer documents: built from
real accounts, keys, invitations, teams, tokens and audit events, every key the schema
declares and no other, at every depth."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import invitations, keys, passwords, sessions
from api.accounts import shapes as accounts
from api.audit import shapes as audit
from api.core.shapes import mismatches
from api.people import shapes as people
from api.teams import shapes as teams
from audit import trail
from records.models import Role
from teams import invitations as team_invitations
from teams import membership
from teams import tokens as team_tokens

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(alice, bob, make_image, make_team):
    """Team web, alice its Owner and bob a Reader, with an image."""
    team = make_team("web", alice=Role.OWNER, bob=Role.READER)
    make_image(team, "app")
    return team


def in_days(days: int):
    return timezone.now() + timedelta(days=days)


def web_image(team) -> str:
    return team.images.get().name


def test_the_account_shapes_are_what_their_serializers_declare(alice):
    api_key, key = keys.issue_key(alice.user, "ci", 30)
    session_key, session_secret = sessions.start_session(alice.user)

    built = [
        (accounts.AuthKeySerializer(), accounts.auth_key_json(key, alice.user)),
        (accounts.ApiKeySerializer(), accounts.apikey_json(api_key)),
        (accounts.NewApiKeySerializer(), accounts.new_apikey_json(api_key, key)),
        (
            accounts.SessionSerializer(),
            accounts.session_json(session_key, session_secret, alice.user),
        ),
        (accounts.PasswordChangedSerializer(), accounts.password_changed_json(2)),
        (accounts.AccountSerializer(), accounts.account_json(alice.user)),
    ]

    assert [m for serializer, data in built for m in mismatches(serializer, data)] == []


def test_the_people_shapes_are_what_their_serializers_declare(alice, settings):
    issued = invitations.invite(alice.user, "newcomer@example.com")
    uid, token = passwords.reset_link_parts(alice.user)

    built = [
        (people.PersonSerializer(many=True), [people.person_json(alice.user)]),
        (people.ResetLinkSerializer(), people.reset_link_json("alice", uid, token, in_days(1))),
        (people.PasswordResetDoneSerializer(), people.joined_json(alice.user)),
        (people.JoinedSerializer(), people.joined_json(alice.user)),
        (people.ResetByEmailSerializer(), people.reset_by_email_json(True)),
        (people.ResetRequestedSerializer(), people.reset_requested_json(24)),
        (people.InvitationSerializer(), people.invitation_json(issued.invitation)),
        (people.NewInvitationSerializer(), people.new_invitation_json(issued)),
        (people.InvitationOpenSerializer(), people.open_invitation_json(issued.invitation)),
        (people.SignUpOpenSerializer(), people.sign_up_open_json(settings.ALLOW_SIGNUP)),
    ]

    assert [m for serializer, data in built for m in mismatches(serializer, data)] == []


def test_the_team_shapes_are_what_their_serializers_declare(alice, web):
    team = membership.teams_of(alice.user).get()
    member = membership.members(web).first()
    invitation, link = team_invitations.invite_by_link(alice.user, web, Role.WRITER)
    whole_team, secret = team_tokens.make_token(
        alice.user, web, "ci", access="push", expires=in_days(30)
    )
    one_image, _ = team_tokens.make_token(
        alice.user, web, "deploy", access="pull", expires=in_days(30), images=[web_image(web)]
    )

    built = [
        (teams.TeamSerializer(), teams.team_json(team, team.role)),
        (teams.MemberSerializer(), teams.member_json(member)),
        (teams.TeamInvitationSerializer(), teams.team_invitation_json(invitation)),
        (teams.NewTeamInvitationSerializer(), teams.new_team_invitation_json(invitation, link)),
        (teams.TeamTokenSerializer(), teams.team_token_json(whole_team)),
        (teams.TeamTokenSerializer(), teams.team_token_json(one_image)),
        (teams.NewTeamTokenSerializer(), teams.new_team_token_json(whole_team, secret)),
    ]

    assert [m for serializer, data in built for m in mismatches(serializer, data)] == []


def test_the_audit_shapes_are_what_their_serializers_declare(alice, web):
    event = trail.record("team.edit", "web", actor=alice.user, team=web, details={"x": 1})

    built = [
        (audit.AuditEventSerializer(), audit.event_json(event)),
        (audit.AuditActionListSerializer(), audit.action_list_json()),
    ]

    assert [m for serializer, data in built for m in mismatches(serializer, data)] == []


def test_a_builder_that_strays_from_its_serializer_is_caught(alice):
    drifted = {**people.person_json(alice.user), "password": "x"}
    del drifted["email"]

    assert mismatches(people.PersonSerializer(), drifted) == [
        "$: missing email",
        "$: not declared password",
    ]
