"""Teams through the API: shared namespaces, roles, invitations, and who may do what."""

from __future__ import annotations

import pytest
from django.conf import settings

from records.models import BuildSetting, BuildSource, Image, Membership, Role, Team
from tests.fixtures.api import ApiClient

H = settings.REGISTRY_HOST


@pytest.fixture
def carol(make_account):
    return make_account("carol")


@pytest.fixture
def dana(make_account):
    return make_account("dana")


def client(account) -> ApiClient:
    return ApiClient(account.basic())


def test_anyone_signed_in_makes_a_team_and_becomes_its_first_owner(api, alice):
    made = api.post("/api/v1/team/", {"name": "web", "description": "The website"})

    assert made.status_code == 201, made.json()
    assert made.json() == {
        "name": "web",
        "resource_uri": "/api/v1/team/web/",
        "description": "The website",
        "created": made.json()["created"],
        "role": "Owner",
        "member_count": 1,
        "image_count": 0,
    }
    listed = api.get("/api/v1/team/").json()
    assert [(t["name"], t["role"]) for t in listed["objects"]] == [("web", "Owner")]
    assert listed["meta"]["total_count"] == 1


def test_team_names_and_usernames_share_one_name_space(settings, api, alice, bob, make_team):
    settings.ALLOW_SIGNUP = True
    taken_by_person = api.post("/api/v1/team/", {"name": "bob"})
    make_team("web")
    taken_by_team = ApiClient().post(
        "/api/v1/signup/",
        {"username": "web", "email": "w@example.com", "password": "Long-enough-1"},
    )
    bad = api.post("/api/v1/team/", {"name": "Web Team"})

    assert taken_by_person.status_code == 400
    assert taken_by_person.json()["fields"] == {
        "name": ["Someone here has this name as their username."]
    }
    assert taken_by_team.status_code == 400
    assert taken_by_team.json()["fields"] == {"username": ["A team has this name: choose another."]}
    assert bad.json()["fields"]["name"][0].startswith("A team name is 2 to 30 lowercase")


def test_a_team_is_invisible_to_people_outside_it(alice, bob, make_team):
    make_team("web", alice="Owner")

    assert client(bob).get("/api/v1/team/web/").status_code == 404
    assert client(bob).get("/api/v1/team/web/member/").status_code == 404
    assert client(bob).get("/api/v1/team/").json()["objects"] == []


def test_only_owners_run_the_team(alice, bob, carol, make_team):
    make_team("web", alice="Owner", bob="Writer", carol="Reader")
    writer = client(bob)

    refusals = [
        writer.patch("/api/v1/team/web/", {"description": "mine now"}),
        writer.patch("/api/v1/team/web/member/carol/", {"role": "Owner"}),
        writer.delete("/api/v1/team/web/member/carol/"),
        writer.post("/api/v1/team/web/invitation/", {"role": "Reader"}),
        writer.get("/api/v1/team/web/invitation/"),
        writer.delete("/api/v1/team/web/"),
    ]

    assert [r.status_code for r in refusals] == [403] * 6
    assert refusals[0].json()["error"] == (
        "Only the Owners of team web can change its members, invitations, access tokens and "
        "settings; you are a Writer."
    )
    assert Membership.objects.get(user=carol.user).role == Role.READER
    members = writer.get("/api/v1/team/web/member/").json()["objects"]
    assert [(m["username"], m["role"]) for m in members] == [
        ("alice", "Owner"),
        ("bob", "Writer"),
        ("carol", "Reader"),
    ]


def test_the_last_owner_can_neither_leave_nor_be_demoted_until_ownership_is_handed_over(
    api, alice, bob, make_team
):
    make_team("web", alice="Owner", bob="Writer")

    demoted = api.patch("/api/v1/team/web/member/alice/", {"role": "Reader"})
    left = api.delete("/api/v1/team/web/member/alice/")
    handed_over = api.patch("/api/v1/team/web/member/bob/", {"role": "Owner"})
    then_left = api.delete("/api/v1/team/web/member/alice/")

    assert demoted.status_code == 400
    assert demoted.json()["fields"] == {
        "role": ["alice is the last Owner of team web: make someone else an Owner first."]
    }
    assert left.status_code == 400
    assert handed_over.status_code == 200 and handed_over.json()["role"] == "Owner"
    assert then_left.status_code == 204
    assert list(Membership.objects.values_list("user__username", "role")) == [("bob", "Owner")]


def test_a_member_may_leave_a_team_themselves(alice, bob, make_team):
    make_team("web", alice="Owner", bob="Reader")

    assert client(bob).delete("/api/v1/team/web/member/bob/").status_code == 204
    assert client(bob).get("/api/v1/team/web/").status_code == 404


def test_a_team_holding_images_is_not_deleted(api, alice, make_team, make_image):
    team = make_team("web", alice="Owner")
    make_image(team, "site")

    refused = api.delete("/api/v1/team/web/")
    Image.objects.all().delete()
    deleted = api.delete("/api/v1/team/web/")

    assert refused.status_code == 409
    assert refused.json()["error"].startswith("Team web still holds 1 image: delete them first.")
    assert deleted.status_code == 204
    assert not Team.objects.exists()


def test_an_invitation_by_username_is_accepted_from_the_invitees_account(
    api, alice, bob, make_team
):
    make_team("web", alice="Owner")

    invited = api.post("/api/v1/team/web/invitation/", {"username": "bob", "role": "Writer"})
    again = api.post("/api/v1/team/web/invitation/", {"username": "bob", "role": "Reader"})
    mine = client(bob).get("/api/v1/account/invitation/").json()["objects"]
    accepted = client(bob).post(f"/api/v1/account/invitation/{mine[0]['id']}/")

    assert invited.status_code == 201
    assert invited.json()["token"] is None
    assert again.json()["fields"] == {"username": ["bob already has an invitation to team web."]}
    assert [(i["team"], i["role"], i["invited_by"]) for i in mine] == [("web", "Writer", "alice")]
    assert accepted.status_code == 201
    assert accepted.json()["role"] == "Writer"
    assert client(bob).get("/api/v1/team/web/").json()["role"] == "Writer"
    assert client(bob).get("/api/v1/account/invitation/").json()["objects"] == []


def test_an_invitation_is_for_its_invitee_only_and_can_be_declined(
    api, alice, bob, carol, make_team
):
    make_team("web", alice="Owner")
    invitation = api.post("/api/v1/team/web/invitation/", {"username": "bob", "role": "Owner"})
    path = f"/api/v1/account/invitation/{invitation.json()['id']}/"

    stolen = client(carol).post(path)
    declined = client(bob).delete(path)

    assert stolen.status_code == 404
    assert declined.status_code == 204
    assert not Membership.objects.filter(user=bob.user).exists()
    assert api.get("/api/v1/team/web/invitation/").json()["objects"] == []


def test_a_link_invitation_works_once_for_whoever_signed_in_opens_it(
    api, alice, bob, carol, make_team
):
    make_team("web", alice="Owner")
    made = api.post("/api/v1/team/web/invitation/", {"role": "Writer"})
    token = made.json()["token"]

    shown = client(bob).get(f"/api/v1/team-invitation/{token}/")
    joined = client(bob).post(f"/api/v1/team-invitation/{token}/")
    reused = client(carol).post(f"/api/v1/team-invitation/{token}/")
    anonymous = ApiClient().get(f"/api/v1/team-invitation/{token}/")

    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    assert made.json()["username"] is None
    assert (shown.json()["team"], shown.json()["role"]) == ("web", "Writer")
    assert joined.status_code == 201
    assert reused.status_code == 400
    assert "doesn't work: it was used, cancelled" in reused.json()["fields"]["token"][0]
    assert anonymous.status_code == 401
    assert Membership.objects.get(user=bob.user).role == Role.WRITER


def test_inviting_someone_unknown_or_already_in_says_so(api, alice, bob, make_team):
    make_team("web", alice="Owner", bob="Reader")

    unknown = api.post("/api/v1/team/web/invitation/", {"username": "zed", "role": "Reader"})
    member = api.post("/api/v1/team/web/invitation/", {"username": "bob", "role": "Writer"})
    bad_role = api.post("/api/v1/team/web/invitation/", {"role": "Admin"})

    assert unknown.json()["fields"] == {"username": ["No one here has the username zed."]}
    assert member.json()["fields"] == {"username": ["bob is already in team web."]}
    assert bad_role.status_code == 400 and "role" in bad_role.json()["fields"]


def test_cancelling_a_link_invitation_stops_the_link(api, alice, bob, make_team):
    make_team("web", alice="Owner")
    made = api.post("/api/v1/team/web/invitation/", {"role": "Reader"}).json()

    cancelled = api.delete(f"/api/v1/team/web/invitation/{made['id']}/")
    opened = client(bob).post(f"/api/v1/team-invitation/{made['token']}/")

    assert cancelled.status_code == 204
    assert opened.status_code == 400


# The permission matrix through the API: role × action × private/public, on a team's image;
# and a person's own namespace against someone else's.

ACTIONS = ("see", "list", "edit", "visibility", "build", "delete")
CAN = {
    "Reader": {"see", "list"},
    "Writer": {"see", "list", "edit", "build"},
    "Owner": set(ACTIONS),
}


def _attempt(api: ApiClient, image: Image, action: str) -> int:
    path = f"/api/v1/image/{image.name}/"
    if action == "see":
        return api.get(path).status_code
    if action == "list":
        names = [i["name"] for i in api.get("/api/v1/image/?limit=100").json()["objects"]]
        return 200 if image.name in names else 404
    if action == "edit":
        return api.patch(path, {"description": "changed"}).status_code
    if action == "visibility":
        return api.patch(path, {"is_private_image": not image.is_private_image}).status_code
    if action == "build":
        return api.post(f"{path}tag/latest/build/").status_code
    return api.delete(path).status_code


def _team_image(make_team, make_image, private: bool) -> Image:
    team = make_team("web", alice="Owner", bob="Writer", carol="Reader")
    image = make_image(team, "site", private=private)
    image.tags.update(digest="")  # nothing on a registry to delete: the records are the test
    source = BuildSource.objects.create(image=image, owner="web", repository="site")
    BuildSetting.objects.create(build_source=source, tag="latest", branch="main")
    return image


@pytest.mark.parametrize("private", [True, False], ids=["private", "public"])
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    "who,role",
    [("carol", "Reader"), ("bob", "Writer"), ("alice", "Owner"), ("dana", None)],
    ids=["reader", "writer", "owner", "outsider"],
)
def test_permission_matrix_on_a_team_image(
    request, who, role, action, private, alice, bob, carol, dana, make_team, make_image
):
    image = _team_image(make_team, make_image, private)
    account = request.getfixturevalue(who)

    got = _attempt(client(account), image, action)

    if role is not None and action in CAN[role]:
        assert got in (200, 201, 202, 204), (who, action, got)
    elif role is None and private:
        assert got == 404, (who, action, got)  # not even its name leaks
    elif action in ("see", "list"):
        assert got == 200, (who, action, got)  # a public image: readable by everyone
    else:
        assert got == 403, (who, action, got)
    if got == 403:
        assert Image.objects.get(pk=image.pk).description == image.description


def test_a_refusal_says_which_role_can(make_team, make_image, alice, bob, carol, dana):
    image = _team_image(make_team, make_image, private=True)
    path = f"/api/v1/image/{image.name}/"

    by_reader = client(carol).patch(path, {"description": "x"}).json()["error"]
    by_writer = client(bob).delete(path).json()["error"]

    assert by_reader == (
        f"You are a Reader in team web: only its Writers and Owners can change {image.name}. "
        "Ask an Owner of web to make you a Writer."
    )
    assert by_writer == (
        f"Only the Owners of team web can delete {image.name} or change who can see it; "
        "you are a Writer."
    )


def test_each_image_says_what_the_caller_may_do(make_team, make_image, alice, bob, carol):
    _team_image(make_team, make_image, private=True)
    make_image(alice, "own")

    def permissions(account):
        return {
            i["name"].rsplit("/", 2)[-2]: (i["team"], i["permissions"])
            for i in client(account).get("/api/v1/image/").json()["objects"]
        }

    everything = {"read": True, "write": True, "manage": True}
    assert permissions(alice) == {"alice": (None, everything), "web": ("web", everything)}
    assert permissions(bob) == {"web": ("web", {"read": True, "write": True, "manage": False})}
    assert permissions(carol) == {"web": ("web", {"read": True, "write": False, "manage": False})}


def test_a_removed_member_loses_the_teams_images_at_once(api, alice, bob, make_team, make_image):
    team = make_team("web", alice="Owner", bob="Writer")
    image = make_image(team, "site")
    bobs = client(bob)
    assert bobs.get(f"/api/v1/image/{image.name}/").status_code == 200

    api.delete("/api/v1/team/web/member/bob/")

    assert bobs.get(f"/api/v1/image/{image.name}/").status_code == 404
    assert bobs.get(f"/api/v1/image/{image.name}/tag/latest/").status_code == 404
    assert bobs.get("/api/v1/image/").json()["objects"] == []


def test_writers_register_images_in_the_teams_namespace_and_the_team_owns_them(
    alice, bob, carol, make_team, our_registry_row
):
    make_team("web", alice="Owner", bob="Writer", carol="Reader")

    registered = client(bob).post("/api/v1/image/", {"name": f"{H}/web/site"})
    by_reader = client(carol).post("/api/v1/image/", {"name": f"{H}/web/blog"})
    elsewhere = client(bob).post("/api/v1/image/", {"name": f"{H}/alice/app"})

    assert registered.status_code == 201, registered.json()
    assert registered.json()["team"] == "web"
    image = Image.objects.get(name=f"{H}/web/site")
    assert (image.owner, image.team.name) == (None, "web")
    assert by_reader.status_code == 400
    assert by_reader.json()["fields"]["name"] == [
        "Images on this registry live under a namespace you may write to. You are a Reader in "
        f"team web: only its Writers and Owners add images. Use {H}/carol/<name>."
    ]
    assert elsewhere.json()["fields"]["name"] == [
        "Images on this registry live under a namespace you may write to. Use "
        f"{H}/bob/<name> or {H}/web/<name>."
    ]


# Who can do what, and why.


def test_an_image_says_who_reaches_it_what_each_may_do_and_why(
    alice, bob, carol, dana, make_team, make_image
):
    from datetime import timedelta

    from django.utils import timezone

    team = make_team("web", alice="Owner", bob="Writer", carol="Reader")
    site = make_image(team, "site", private=False)
    client(alice).post(
        "/api/v1/team/web/token/",
        {
            "name": "deploy",
            "images": [site.name],
            "expires": (timezone.now() + timedelta(days=30)).isoformat(),
        },
    )

    listed = client(carol).get(f"/api/v1/image/{site.name}/access/")
    by_outsider = client(dana).get(f"/api/v1/image/{site.name}/access/")

    rows = [(g["name"], g["permissions"], g["reason"]) for g in listed.json()["objects"]]
    everything = {"read": True, "write": True, "manage": True}
    read = {"read": True, "write": False, "manage": False}
    assert rows[:4] == [
        ("alice", everything, "Owner, member of team web"),
        ("bob", {"read": True, "write": True, "manage": False}, "Writer, member of team web"),
        ("carol", read, "Reader, member of team web"),
        ("web+deploy", read, rows[3][2]),
    ]
    assert rows[3][2].startswith("team access token: pull, scoped to this image, expires ")
    assert rows[4] == ("Everyone signed in", read, "the image is public")
    assert by_outsider.status_code == 403  # public, but who reaches it is the team's business


def test_an_image_really_named_access_is_still_its_own_image(api, alice, make_image):
    make_image(alice, "tools/access")

    got = api.get(f"/api/v1/image/{H}/alice/tools/access/")
    edited = api.patch(f"/api/v1/image/{H}/alice/tools/access/", {"description": "x"})

    assert got.status_code == 200 and got.json()["name"] == f"{H}/alice/tools/access"
    assert edited.status_code == 200 and edited.json()["description"] == "x"


def test_your_account_lists_everything_you_reach_and_why(alice, bob, make_team, make_image):
    team = make_team("web", alice="Writer", bob="Owner")
    make_image(team, "site")
    make_image(alice, "own")
    make_image(bob, "public-tool", private=False)

    reach = client(alice).get("/api/v1/account/access/").json()["objects"]

    assert [(r["kind"], r["namespace"], r["image_count"], r["reason"]) for r in reach] == [
        ("own", "alice", 1, "your own namespace"),
        ("team", "web", 1, "Writer in team web"),
        ("public", "", 1, "public images of others: anyone signed in"),
    ]


@pytest.mark.parametrize("private", [True, False], ids=["private", "public"])
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", ["alice", "bob"], ids=["own-namespace", "other-namespace"])
def test_permission_matrix_on_a_persons_image(
    request, who, action, private, alice, bob, make_team, make_image
):
    make_team("web", bob="Owner")  # an Owner of some team is still nobody in alice's namespace
    image = make_image(alice, "app", private=private)
    image.tags.update(digest="")
    source = BuildSource.objects.create(image=image, owner="alice", repository="app")
    BuildSetting.objects.create(build_source=source, tag="latest", branch="main")

    got = _attempt(client(request.getfixturevalue(who)), image, action)

    if who == "alice":
        assert got in (200, 201, 202, 204), (who, action, got)
    elif private:
        assert got == 404, (action, got)
    elif action in ("see", "list"):
        assert got == 200, (action, got)
    else:
        assert got == 403, (action, got)


def test_a_token_scoped_to_several_images_says_how_many_others_it_reaches(
    alice, make_team, make_image
):
    from datetime import timedelta

    from django.utils import timezone

    team = make_team("web", alice="Owner")
    site, blog, shop = (make_image(team, name) for name in ("site", "blog", "shop"))
    client(alice).post(
        "/api/v1/team/web/token/",
        {
            "name": "deploy",
            "images": [site.name, blog.name, shop.name],
            "expires": (timezone.now() + timedelta(days=30)).isoformat(),
        },
    )

    rows = client(alice).get(f"/api/v1/image/{site.name}/access/").json()["objects"]

    (token,) = [row for row in rows if row["kind"] == "token"]
    assert token["reason"].startswith(
        "team access token: pull, scoped to this and 2 other images, expires "
    )
