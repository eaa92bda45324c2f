"""Teams on the registry itself: real buildah pushes and pulls through our token server grant
exactly what the person's role allows, and removal takes effect on the next login."""

from __future__ import annotations

import pytest

from records.models import Image, Membership
from tests.fixtures_api import ApiClient
from tests.fixtures_our_registry import wait_for_tag

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(make_account):
    return {name: make_account(name) for name in ("alice", "bob", "carol", "dana")}


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
