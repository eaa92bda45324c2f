"""Team access tokens through the API: made, listed and revoked by Owners, shown once; a token
logs in as `<team>+<name>` and reaches the images in its scope, and nothing else."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from records.models import Build, BuildSetting, BuildSource, Image, TeamToken
from tests.domain.test_registry_token import access_of, token_for
from tests.fixtures.api import ApiClient

H = settings.REGISTRY_HOST
REFUSED = "Team access tokens can only pull, push and build images in their scope."


@pytest.fixture
def carol(make_account):
    return make_account("carol")


@pytest.fixture
def dana(make_account):
    return make_account("dana")


@pytest.fixture
def web(make_team, alice, bob, carol):
    """Team web: alice its Owner, bob a Writer, carol a Reader."""
    return make_team("web", alice="Owner", bob="Writer", carol="Reader")


def in_days(days: float) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


def make_token(owner: ApiClient, team: str = "web", **body) -> dict:
    body = {"name": "ci", "expires": in_days(30), **body}
    response = owner.post(f"/api/v1/team/{team}/token/", body)
    assert response.status_code == 201, response.json()
    return response.json()


def basic(username: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()


def as_token(made: dict) -> ApiClient:
    return ApiClient(basic(made["username"], made["secret"]))


def client(account) -> ApiClient:
    return ApiClient(account.basic())


def _buildable(image: Image, tag: str = "latest") -> Image:
    image.tags.update(digest="")
    source = BuildSource.objects.create(image=image, owner="web", repository="site")
    BuildSetting.objects.create(build_source=source, tag=tag, branch="main")
    return image


def test_an_owner_makes_a_token_whose_secret_is_shown_once(api, web, make_image):
    site = make_image(web, "site")

    made = api.post(
        "/api/v1/team/web/token/",
        {"name": "ci", "access": "push", "images": [site.name], "expires": in_days(90)},
    )
    listed = api.get("/api/v1/team/web/token/")
    fetched = api.get(made.json()["resource_uri"])

    assert made.status_code == 201, made.json()
    assert made.headers["Cache-Control"] == "no-store"
    body = made.json()
    assert body == {
        "id": body["id"],
        "resource_uri": f"/api/v1/team/web/token/{body['id']}/",
        "team": "web",
        "name": "ci",
        "username": "web+ci",
        "prefix": body["secret"][:8],
        "access": "push",
        "all_images": False,
        "images": [f"/api/v1/image/{site.name}/"],
        "created": body["created"],
        "created_by": "alice",
        "expires": body["expires"],
        "last_used": None,
        "is_expired": False,
        "secret": body["secret"],
    }
    assert len(body["secret"]) >= 40
    assert fetched.status_code == 200
    assert fetched.json() == {k: v for k, v in body.items() if k != "secret"}
    assert listed.json()["meta"]["total_count"] == 1
    assert listed.json()["objects"] == [fetched.json()]
    stored = TeamToken.objects.get()
    assert body["secret"] not in {stored.secret_hash, stored.prefix, stored.name}


def test_a_token_for_the_whole_team_pulls_by_default(api, web):
    made = make_token(api)

    assert (made["access"], made["all_images"], made["images"]) == ("pull", True, [])


def test_only_owners_manage_tokens(api, web, bob, carol, dana):
    made = make_token(api)
    path = made["resource_uri"]

    for member in (client(bob), client(carol)):
        refusals = [
            member.get("/api/v1/team/web/token/"),
            member.post("/api/v1/team/web/token/", {"name": "mine", "expires": in_days(1)}),
            member.get(path),
            member.delete(path),
        ]
        assert [r.status_code for r in refusals] == [403] * 4
    assert refusals[0].json()["error"] == (
        "Only the Owners of team web can change its members, invitations, access tokens and "
        "settings; you are a Reader."
    )
    outsider = client(dana)
    assert outsider.get("/api/v1/team/web/token/").status_code == 404
    assert outsider.delete(path).status_code == 404
    assert TeamToken.objects.count() == 1


def test_an_expiry_is_required_and_at_most_a_year(api, web):
    missing = api.post("/api/v1/team/web/token/", {"name": "ci"})
    too_far = api.post("/api/v1/team/web/token/", {"name": "ci", "expires": in_days(367)})
    past = api.post("/api/v1/team/web/token/", {"name": "ci", "expires": in_days(-1)})
    a_year = api.post("/api/v1/team/web/token/", {"name": "ci", "expires": in_days(365.9)})

    assert missing.status_code == 400 and "expires" in missing.json()["fields"]
    assert too_far.status_code == 400
    assert too_far.json()["fields"] == {
        "expires": ["A token works for at most a year: choose a date within 366 days."]
    }
    assert past.json()["fields"] == {"expires": ["Choose a moment in the future."]}
    assert a_year.status_code == 201


def test_a_token_name_follows_the_rule_and_is_unique_in_its_team(api, web, make_team):
    make_team("docs", alice="Owner")
    make_token(api, name="ci")

    again = api.post("/api/v1/team/web/token/", {"name": "ci", "expires": in_days(1)})
    bad = api.post("/api/v1/team/web/token/", {"name": "CI bot", "expires": in_days(1)})
    elsewhere = api.post("/api/v1/team/docs/token/", {"name": "ci", "expires": in_days(1)})

    assert again.json()["fields"] == {"name": ["Team web already has a token named ci."]}
    assert bad.json()["fields"] == {
        "name": ["A token name is 1 to 50 lowercase letters, digits, '-' and '_'."]
    }
    assert elsewhere.status_code == 201 and elsewhere.json()["username"] == "docs+ci"


def test_a_scoped_token_takes_only_images_of_its_team(api, web, alice, make_image):
    site = make_image(web, "site")
    own = make_image(alice, "own")

    foreign = api.post(
        "/api/v1/team/web/token/", {"name": "ci", "images": [own.name], "expires": in_days(1)}
    )
    none = api.post("/api/v1/team/web/token/", {"name": "ci", "images": [], "expires": in_days(1)})
    by_uri = api.post(
        "/api/v1/team/web/token/",
        {"name": "ci", "images": [f"/api/v1/image/{site.name}/"], "expires": in_days(1)},
    )

    assert foreign.status_code == 400
    assert foreign.json()["fields"] == {
        "images": [
            f"Team web has no image named {own.name}: a token reaches only the team's own images."
        ]
    }
    assert none.json()["fields"] == {
        "images": ["Choose at least one image, or leave images out for the whole team."]
    }
    assert by_uri.status_code == 201
    assert by_uri.json()["images"] == [f"/api/v1/image/{site.name}/"]


def test_a_token_reads_only_the_images_in_its_scope(api, web, alice, make_team, make_image):
    site = make_image(web, "site")
    blog = make_image(web, "blog")
    others = [
        make_image(alice, "own"),  # its maker's own image
        make_image(alice, "open", private=False),  # someone's public image
        make_image(make_team("docs", alice="Owner"), "manual"),  # another team of its maker
    ]
    whole_team = as_token(make_token(api, name="all"))
    one_image = as_token(make_token(api, name="site", images=[site.name]))

    def names(token: ApiClient, query: str = "") -> list[str]:
        response = token.get(f"/api/v1/image/{query}")
        assert response.status_code == 200, response.json()
        return [i["name"] for i in response.json()["objects"]]

    assert names(whole_team) == [blog.name, site.name]
    assert names(one_image) == [site.name]
    assert names(whole_team, "?is_user_image=true") == []
    assert names(whole_team, "?is_user_image=false") == [blog.name, site.name]
    assert one_image.get(f"/api/v1/image/{site.name}/").status_code == 200
    assert one_image.get(f"/api/v1/image/{site.name}/tag/").status_code == 200
    tag = one_image.get(f"/api/v1/image/{site.name}/tag/latest/")
    assert tag.status_code == 200
    assert one_image.get(tag.json()["layer"]["resource_uri"]).status_code == 200
    blog_layer = api.get(f"/api/v1/image/{blog.name}/tag/latest/").json()["layer"]
    assert one_image.get(blog_layer["resource_uri"]).status_code == 404
    for image in [blog, *others]:
        for token in [one_image] if image == blog else [whole_team, one_image]:
            assert token.get(f"/api/v1/image/{image.name}/").status_code == 404, image.name
            assert token.get(f"/api/v1/image/{image.name}/tag/latest/").status_code == 404
            assert token.get(f"/api/v1/image/{image.name}/tag/").status_code == 404


def test_each_image_says_what_the_token_may_do(api, web, make_image):
    make_image(web, "site")
    pull = as_token(make_token(api, name="pull"))
    push = as_token(make_token(api, name="push", access="push"))

    def permissions(token: ApiClient) -> dict:
        return token.get("/api/v1/image/").json()["objects"][0]["permissions"]

    assert permissions(pull) == {"read": True, "write": False, "manage": False}
    assert permissions(push) == {"read": True, "write": True, "manage": False}


def test_a_token_neither_registers_nor_changes_nor_deletes_images(
    api, web, make_image, our_registry_row
):
    site = make_image(web, "site")
    push = as_token(make_token(api, access="push"))
    path = f"/api/v1/image/{site.name}/"

    refusals = [
        push.post("/api/v1/image/", {"name": f"{H}/web/new"}),
        push.patch(path, {"description": "changed"}),
        push.patch(path, {"is_private_image": False}),
        push.delete(path),
    ]

    assert [r.status_code for r in refusals] == [403] * 4
    assert {r.json()["error"] for r in refusals} == {REFUSED}
    site.refresh_from_db()
    assert (site.description, site.is_private_image) == ("", True)
    assert not Image.objects.filter(name=f"{H}/web/new").exists()


def test_a_pull_token_cannot_build(api, web, make_image):
    site = _buildable(make_image(web, "site"))
    pull = as_token(make_token(api))

    refused = pull.post(f"/api/v1/image/{site.name}/tag/latest/build/")

    assert refused.status_code == 403
    assert refused.json()["error"] == (
        f"Token web+ci may only pull {site.name}: an Owner of team web can make a pull and "
        "push token."
    )
    assert not Build.objects.exists()


def test_a_push_token_builds_a_tag_in_its_scope_and_follows_the_build(api, web, make_image):
    site = _buildable(make_image(web, "site"))
    blog = _buildable(make_image(web, "blog"))
    push = as_token(make_token(api, access="push", images=[site.name]))

    started = push.post(f"/api/v1/image/{site.name}/tag/latest/build/")
    outside = push.post(f"/api/v1/image/{blog.name}/tag/latest/build/")

    assert started.status_code == 202, started.json()
    assert started.json()["state"] == "Building"
    build = push.get(started.headers["Location"])
    assert build.status_code == 200
    assert (build.json()["trigger"], build.json()["triggered_by"]) == ("API", None)
    assert push.get(build.json()["log"]).status_code == 200
    history = push.get(f"/api/v1/image/{site.name}/tag/latest/build/").json()
    assert history["meta"]["total_count"] == 1
    assert push.post(f"{started.headers['Location']}cancel/").status_code == 403
    assert outside.status_code == 404
    blogs = api.post(f"/api/v1/image/{blog.name}/tag/latest/build/").headers["Location"]
    assert push.get(blogs).status_code == 404


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/api/v1/account/"),
        ("patch", "/api/v1/account/"),
        ("post", "/api/v1/account/password/"),
        ("get", "/api/v1/account/invitation/"),
        ("get", "/api/v1/team/"),
        ("post", "/api/v1/team/"),
        ("get", "/api/v1/team/web/"),
        ("get", "/api/v1/team/web/member/"),
        ("get", "/api/v1/team/web/invitation/"),
        ("get", "/api/v1/team/web/token/"),
        ("post", "/api/v1/team/web/token/"),
        ("get", "/api/v1/apikey/"),
        ("post", "/api/v1/apikey/"),
        ("get", "/api/v1/auth/"),
        ("post", "/api/v1/session/"),
        ("get", "/api/v1/user/"),
        ("get", "/api/v1/invitation/"),
        ("get", "/api/v1/registry/"),
        ("get", f"/api/v1/hooks/github/{H}/web/site/"),
    ],
)
def test_a_token_reaches_no_other_endpoint(api, web, make_image, method, path):
    make_image(web, "site")
    push = as_token(make_token(api, access="push"))

    refused = getattr(push, method)(path)

    assert refused.status_code == 403, refused.content
    assert refused.json() == {"error": REFUSED}


def test_revoked_and_expired_tokens_are_refused_at_once(api, web, make_image):
    make_image(web, "site")
    revoked, expired = make_token(api, name="old"), make_token(api, name="stale")
    assert as_token(revoked).get("/api/v1/image/").status_code == 200

    deleted = api.delete(revoked["resource_uri"])
    TeamToken.objects.filter(pk=expired["id"]).update(expires=timezone.now())

    assert deleted.status_code == 204
    for made in (revoked, expired):
        refused = as_token(made).get("/api/v1/image/")
        assert refused.status_code == 401
        assert refused.json() == {"error": "Invalid token name or secret."}
        assert refused.headers["WWW-Authenticate"].startswith("Basic")
        assert token_for(as_token(made), "repository:web/site:pull").status_code == 401
    assert api.get(revoked["resource_uri"]).status_code == 404
    assert api.get(expired["resource_uri"]).json()["is_expired"] is True


def test_a_token_is_its_own_name_and_secret_together(api, web, make_team, make_image):
    make_image(web, "site")
    make_team("docs", alice="Owner")
    made = make_token(api, name="ci")
    make_token(api, team="docs", name="ci")

    assert ApiClient(basic("web+ci", made["secret"])).get("/api/v1/image/").status_code == 200
    assert ApiClient(basic("web+other", made["secret"])).get("/api/v1/image/").status_code == 401
    assert ApiClient(basic("docs+ci", made["secret"])).get("/api/v1/image/").status_code == 401
    assert ApiClient(f"ApiKey web+ci:{made['secret']}").get("/api/v1/image/").status_code == 200


def test_wrong_token_secrets_never_count_as_wrong_passwords(settings, api, web):
    settings.AXES_FAILURE_LIMIT = 2
    made = make_token(api)

    refused = [
        ApiClient(basic("web+ci", f"guess-{i}")).get("/api/v1/image/").status_code for i in range(4)
    ]

    assert refused == [401] * 4
    assert not AccessAttempt.objects.exists()
    assert as_token(made).get("/api/v1/image/").status_code == 200


def test_a_token_outlives_the_person_who_made_it(api, web, alice, bob, make_image):
    make_image(web, "site")
    api.patch("/api/v1/team/web/member/bob/", {"role": "Owner"})
    made = make_token(client(bob))

    get_user_model().objects.filter(pk=bob.user.pk).delete()

    assert as_token(made).get("/api/v1/image/").json()["meta"]["total_count"] == 1
    assert api.get(made["resource_uri"]).json()["created_by"] is None


def test_a_token_records_when_it_was_last_used(api, web):
    made = make_token(api)

    as_token(made).get("/api/v1/image/")

    last_used = api.get(made["resource_uri"]).json()["last_used"]
    assert last_used is not None
    assert TeamToken.objects.get().last_used > timezone.now() - timedelta(minutes=1)


def test_the_registry_grants_a_token_its_scope_only(api, web, alice, make_image):
    make_image(web, "site")
    make_image(web, "blog")
    make_image(alice, "open", private=False)
    pull = as_token(make_token(api, name="pull"))
    push_site = as_token(make_token(api, name="site", access="push", images=[f"{H}/web/site"]))
    push_all = as_token(make_token(api, name="all", access="push"))
    scopes = [
        "repository:web/site:pull,push",
        "repository:web/blog:pull,push",
        "repository:web/new:pull,push",
        "repository:alice/open:pull",
        "registry:catalog:*",
    ]

    assert access_of(token_for(pull, *scopes)) == {
        "web/site": ["pull"],
        "web/blog": ["pull"],
        "web/new": [],
        "alice/open": [],
        "catalog": [],
    }
    assert access_of(token_for(push_site, *scopes)) == {
        "web/site": ["pull", "push"],
        "web/blog": [],
        "web/new": [],
        "alice/open": [],
        "catalog": [],
    }
    assert access_of(token_for(push_all, *scopes)) == {
        "web/site": ["pull", "push"],
        "web/blog": ["pull", "push"],
        "web/new": ["pull", "push"],
        "alice/open": [],
        "catalog": [],
    }
