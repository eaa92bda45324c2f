"""Teams on the registry itself: real buildah pushes and pulls through our token server grant
exactly what the person's role (or the team access token) allows, and removal or revocation
takes effect on the next login."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from records.models import AuditEvent, Image, Membership, TeamToken
from tests.fixtures.api import ApiClient
from tests.fixtures.our_registry import wait_for_tag

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(make_account):
    return {name: make_account(name) for name in ("alice", "bob", "carol", "dana")}


def _wait_for_audit(action: str, count: int, seconds: float = 20) -> list[AuditEvent]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        events = list(AuditEvent.objects.filter(action=action))
        if len(events) >= count:
            return events
        time.sleep(0.1)
    raise AssertionError(f"expected {count} {action} events, got {len(events)}")


def _creds(account) -> str:
    return f"{account.username}:{account.key}"


def _pull(buildah, ref: str, account=None) -> bool:
    args = ["pull", "--policy=always", "--tls-verify=false"]
    if account is not None:
        args += ["--creds", _creds(account)]
    return buildah.run(*args, f"docker://{ref}", check=False).returncode == 0


def _push(buildah, ref: str, account) -> bool:
    return buildah.push(buildah.build_base(), ref, _creds(account), check=False).returncode == 0


def test_team_roles_decide_who_pushes_and_pulls_on_the_registry(
    our_registry, buildah, people, make_team
):
    make_team("web", alice="Owner", bob="Writer", carol="Reader")
    alice, bob, carol, dana = (people[n] for n in ("alice", "bob", "carol", "dana"))
    name = f"{our_registry.host}/web/site"

    digest = buildah.push(buildah.build_base(), f"{name}:v1", _creds(bob))  # a Writer pushes
    wait_for_tag(name, "v1", digest)

    image = Image.objects.get(name=name)
    assert (image.owner, image.team.name, image.is_private_image) == (None, "web", True)
    assert _pull(buildah, f"{name}:v1", carol)  # a Reader pulls
    assert not _push(buildah, f"{name}:v2", carol)  # but does not push
    assert not _pull(buildah, f"{name}:v1", dana)  # an outsider sees nothing private
    assert not _push(buildah, f"{name}:v2", dana)
    assert not _pull(buildah, f"{name}:v1")  # nor does anyone anonymous
    assert not _push(buildah, f"{our_registry.host}/web/other:v1", carol)  # nor a new repo

    # Made public by an Owner: everyone pulls, still only members with write push.
    owner = ApiClient(alice.basic())
    assert owner.patch(f"/api/v1/image/{name}/", {"is_private_image": False}).status_code == 200
    assert _pull(buildah, f"{name}:v1", dana)
    assert _pull(buildah, f"{name}:v1")
    assert not _push(buildah, f"{name}:v2", dana)


def test_a_removed_member_is_refused_by_the_registry_at_once(
    our_registry, buildah, people, make_team
):
    make_team("web", alice="Owner", bob="Writer")
    bob = people["bob"]
    name = f"{our_registry.host}/web/site"
    assert _push(buildah, f"{name}:v1", bob)

    removed = ApiClient(people["alice"].basic()).delete("/api/v1/team/web/member/bob/")

    assert removed.status_code == 204
    assert not Membership.objects.filter(user=bob.user).exists()
    assert not _pull(buildah, f"{name}:v1", bob)
    assert not _push(buildah, f"{name}:v2", bob)


@dataclass
class TokenLogin:
    """A team access token as buildah logs in with it (`--creds web+ci:<secret>`)."""

    id: int
    username: str
    key: str


def _make_token(owner, name: str, **body) -> TokenLogin:
    body = {"name": name, "expires": (timezone.now() + timedelta(days=1)).isoformat(), **body}
    made = ApiClient(owner.basic()).post("/api/v1/team/web/token/", body)
    assert made.status_code == 201, made.json()
    return TokenLogin(made.json()["id"], made.json()["username"], made.json()["secret"])


@pytest.fixture
def web_images(our_registry, buildah, people, make_team):
    """Team web (alice Owner, bob Writer) with two images bob pushed: site and blog."""
    make_team("web", alice="Owner", bob="Writer")
    names = {}
    for repo in ("site", "blog"):
        name = f"{our_registry.host}/web/{repo}"
        wait_for_tag(
            name, "v1", buildah.push(buildah.build_base(), f"{name}:v1", _creds(people["bob"]))
        )
        names[repo] = name
    return names


def test_a_pull_token_pulls_the_teams_images_but_pushes_nothing(
    our_registry, buildah, people, web_images
):
    pull = _make_token(people["alice"], "reader")

    assert _pull(buildah, f"{web_images['site']}:v1", pull)
    assert _pull(buildah, f"{web_images['blog']}:v1", pull)
    assert not _push(buildah, f"{web_images['site']}:v2", pull)
    assert not _push(buildah, f"{our_registry.host}/web/new:v1", pull)

    # The token's pulls are in the team's audit trail (the registry reports them).
    pulled = _wait_for_audit("tag.pull", 2)
    assert {(e.actor_name, e.target, e.team_name) for e in pulled} == {
        ("web+reader", f"{web_images['site']}:v1", "web"),
        ("web+reader", f"{web_images['blog']}:v1", "web"),
    }
    assert all(e.address == "127.0.0.1" for e in pulled)


def test_a_push_token_pushes_to_the_images_in_its_scope(our_registry, buildah, people, web_images):
    site = web_images["site"]
    push = _make_token(people["alice"], "deploy", access="push", images=[site])
    whole_team = _make_token(people["alice"], "ci", access="push")
    new = f"{our_registry.host}/web/new"

    digest = buildah.push(buildah.build_base(), f"{site}:v2", _creds(push))
    wait_for_tag(site, "v2", digest)
    assert not _push(buildah, f"{web_images['blog']}:v2", push)  # not in its scope
    assert not _push(buildah, f"{new}:v1", push)  # nor a new repository
    wait_for_tag(new, "v1", buildah.push(buildah.build_base(), f"{new}:v1", _creds(whole_team)))

    image = Image.objects.get(name=new)  # pushed by web+ci: the team's, no person's
    assert (image.owner, image.team.name, image.is_private_image) == (None, "web", True)
    pushed = {(e.actor_name, e.target) for e in _wait_for_audit("tag.push", 3)}
    assert {("web+deploy", f"{site}:v2"), ("web+ci", f"{new}:v1")} <= pushed


def test_a_token_scoped_to_one_image_pulls_no_other_image_of_the_team(buildah, people, web_images):
    site_only = _make_token(people["alice"], "site", images=[web_images["site"]])

    assert _pull(buildah, f"{web_images['site']}:v1", site_only)
    assert not _pull(buildah, f"{web_images['blog']}:v1", site_only)


def test_revoked_and_expired_tokens_are_refused_at_the_next_login(buildah, people, web_images):
    site = f"{web_images['site']}:v1"
    revoked = _make_token(people["alice"], "old", access="push")
    expired = _make_token(people["alice"], "stale", access="push")
    assert _pull(buildah, site, revoked) and _pull(buildah, site, expired)

    owner = ApiClient(people["alice"].basic())
    assert owner.delete(f"/api/v1/team/web/token/{revoked.id}/").status_code == 204
    TeamToken.objects.filter(pk=expired.id).update(expires=timezone.now() - timedelta(seconds=1))

    for token in (revoked, expired):
        assert not _pull(buildah, site, token)
        assert not _push(buildah, f"{web_images['site']}:v3", token)
