"""The audit trail through the API: what is recorded, and who may read it."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from lib import client_address
from records.models import AuditEvent
from tests.fixtures.api import ApiClient

H = settings.REGISTRY_HOST


@pytest.fixture
def carol(make_account):
    return make_account("carol")


def client(account) -> ApiClient:
    return ApiClient(account.basic())


def trail(account, **params) -> list[tuple]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    body = client(account).get(f"/api/v1/audit/?limit=100&{query}").json()
    return [(e["actor"], e["action"], e["target"], e["team"]) for e in body["objects"]]


def test_a_teams_life_is_recorded_with_who_what_and_where(alice, bob, our_registry_row):
    owner, member = client(alice), client(bob)
    owner.post("/api/v1/team/", {"name": "web"})
    invited = owner.post("/api/v1/team/web/invitation/", {"username": "bob", "role": "Writer"})
    member.post(f"/api/v1/account/invitation/{invited.json()['id']}/")
    member.post("/api/v1/image/", {"name": f"{H}/web/site"})
    member.patch(f"/api/v1/image/{H}/web/site/", {"description": "The site"})
    owner.patch(f"/api/v1/image/{H}/web/site/", {"is_private_image": False})
    owner.patch("/api/v1/team/web/member/bob/", {"role": "Reader"})
    made = owner.post(
        "/api/v1/team/web/token/",
        {"name": "ci", "expires": (timezone.now() + timedelta(days=30)).isoformat()},
    )
    owner.delete(f"/api/v1/team/web/token/{made.json()['id']}/")
    owner.delete("/api/v1/team/web/member/bob/")

    assert trail(alice, team="web") == [
        ("alice", "member.remove", "bob", "web"),
        ("alice", "token.revoke", "ci", "web"),
        ("alice", "token.create", "ci", "web"),
        ("alice", "member.role", "bob", "web"),
        ("alice", "image.visibility", f"{H}/web/site", "web"),
        ("bob", "image.edit", f"{H}/web/site", "web"),
        ("bob", "image.register", f"{H}/web/site", "web"),
        ("bob", "member.join", "bob", "web"),
        ("alice", "invitation.create", "bob", "web"),
        ("alice", "team.create", "web", "web"),
    ]
    event = AuditEvent.objects.get(action="member.role")
    assert event.details == {"old": "Writer", "new": "Reader"}
    assert event.address == "127.0.0.1"


def test_each_person_reads_their_own_and_owners_their_teams(alice, bob, carol, make_team):
    make_team("web", alice="Owner", bob="Writer")
    client(alice).patch("/api/v1/team/web/", {"description": "The website"})
    client(bob).post("/api/v1/apikey/", {"label": "laptop"})

    assert trail(bob) == [("bob", "apikey.create", "laptop", None)]
    assert trail(carol) == []
    assert client(bob).get("/api/v1/audit/?team=web").status_code == 403  # a Writer
    assert client(carol).get("/api/v1/audit/?team=web").status_code == 404  # not in it
    assert ("alice", "team.edit", "web", "web") in trail(alice, team="web")


def test_staff_read_everything_and_filter_it(alice, bob, make_account):
    root = make_account("root", staff=True)
    client(alice).post("/api/v1/apikey/", {"label": "a"})
    client(bob).post("/api/v1/apikey/", {"label": "b"})

    assert {row[0] for row in trail(root)} == {"alice", "bob"}
    assert trail(root, actor="bob") == [("bob", "apikey.create", "b", None)]
    assert trail(root, action="apikey.revoke") == []
    bad = client(root).get("/api/v1/audit/?action=explode")
    assert bad.status_code == 400 and "'explode' is not one of" in bad.json()["fields"]["action"][0]


def test_a_sign_in_through_the_admin_records_the_browsers_address(alice):
    password = base64.b64encode(f"alice:{alice.password}".encode()).decode()
    ApiClient(f"Basic {password}").post(
        "/api/v1/session/", headers={client_address.HEADER: client_address.vouch("203.0.113.9")}
    )

    event = AuditEvent.objects.get(action="sign_in")
    assert (event.actor_name, event.address) == ("alice", "203.0.113.9")


def test_events_older_than_audit_days_are_pruned(alice, settings):
    from audit import trail as audit_trail

    client(alice).post("/api/v1/apikey/", {"label": "old"})
    AuditEvent.objects.update(time=timezone.now() - timedelta(days=settings.AUDIT_DAYS + 1))
    client(alice).post("/api/v1/apikey/", {"label": "new"})

    assert audit_trail.prune() == 1
    assert trail(alice) == [("alice", "apikey.create", "new", None)]
