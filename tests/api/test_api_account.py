"""The web admin's sign-ins and password changes through the API (extensions)."""

from __future__ import annotations

import base64

import pytest
from django.conf import settings

from records.models import ApiKey, Profile
from tests.fixtures.api import ApiClient

pytestmark = pytest.mark.django_db


def password_client(username: str, password: str) -> ApiClient:
    return ApiClient("Basic " + base64.b64encode(f"{username}:{password}".encode()).decode())


def sign_in(account) -> str:
    response = password_client(account.username, account.password).post("/api/v1/session/")
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    return response.json()["key"]


def test_a_sign_in_works_until_it_is_ended_and_is_not_listed_as_a_key(alice):
    key = sign_in(alice)
    browser = ApiClient(alice.basic(key))

    listed = [k["prefix"] for k in browser.get("/api/v1/apikey/").json()["objects"]]
    ended = browser.delete("/api/v1/session/")

    assert listed == [alice.key[:8]]
    assert ended.status_code == 204
    assert browser.get("/api/v1/image/").status_code == 401


def test_a_sign_in_needs_the_password_and_only_its_own_credential_ends_it(alice):
    with_key = ApiClient(alice.basic()).post("/api/v1/session/")
    end_with_key = ApiClient(alice.basic()).delete("/api/v1/session/")

    assert with_key.status_code == 400 and "password" in with_key.json()["error"]
    assert end_with_key.status_code == 400
    assert password_client("alice", "wrong").post("/api/v1/session/").status_code == 401


def test_a_password_change_ends_other_sign_ins_keeps_this_one_and_the_keys(alice):
    this, other = sign_in(alice), sign_in(alice)
    new = "A-brand-new-Passw0rd"

    response = ApiClient(alice.basic(this)).post(
        "/api/v1/account/password/",
        {"current_password": alice.password, "new_password": new},
    )

    assert response.status_code == 200 and response.json() == {"signed_out": 1}
    assert ApiClient(alice.basic(this)).get("/api/v1/image/").status_code == 200
    assert ApiClient(alice.basic(other)).get("/api/v1/image/").status_code == 401
    assert ApiClient(alice.basic()).get("/api/v1/image/").status_code == 200
    assert password_client("alice", alice.password).get("/api/v1/image/").status_code == 401
    assert password_client("alice", new).get("/api/v1/image/").status_code == 200


@pytest.mark.parametrize(
    "body, field, words",
    [
        (
            {"current_password": "wrong", "new_password": "A-brand-new-Passw0rd"},
            "current_password",
            "not your current password",
        ),
        ({"new_password": "short"}, "new_password", "too short"),
        ({"new_password": "12345678901234"}, "new_password", "entirely numeric"),
        (
            {"new_password": "0123456789abcdef0123456789abcdef01234567"},
            "new_password",
            "looks like an API key",
        ),
        ({"current_password": "x"}, "new_password", "required"),
    ],
)
def test_a_password_change_that_cannot_be_made_names_the_field(alice, body, field, words):
    body = {"current_password": alice.password, **body}

    response = ApiClient(alice.basic()).post("/api/v1/account/password/", body)

    assert response.status_code == 400
    assert words in " ".join(response.json()["fields"][field])
    assert password_client("alice", alice.password).get("/api/v1/image/").status_code == 200


def test_wrong_current_passwords_count_toward_the_sign_in_pause(alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    api = ApiClient(alice.basic())
    body = {"new_password": "A-brand-new-Passw0rd"}
    replies = [
        api.post("/api/v1/account/password/", {"current_password": f"guess-{i}", **body})
        for i in range(3)
    ]

    assert [reply.status_code for reply in replies] == [400, 400, 429]
    assert ApiKey.objects.filter(user=alice.user).count() == 1


def test_your_account_shows_who_you_are_and_never_the_token(api, alice):
    changed = api.patch(
        "/api/v1/account/",
        {
            "email": "alice@example.com",
            "display_name": "Alice Liddell",
            "github_login": "alice-gh",
            "github_token": "ghp_private-token",
        },
    )
    fetched = api.get("/api/v1/account/")

    assert changed.status_code == 200, changed.content
    assert fetched.json() == {
        "resource_uri": "/api/v1/account/",
        "username": "alice",
        "email": "alice@example.com",
        "display_name": "Alice Liddell",
        "is_staff": False,
        "github_login": "alice-gh",
        "has_github_token": True,
        "namespaces": ["alice"],
        "email_notifications": {
            "build_failed": True,
            "build_fixed": True,
            "invitation_accepted": True,
            "webhook_paused": True,
        },
        "email_enabled": False,
    }
    assert "ghp_private" not in changed.content.decode()
    assert "ghp_private" not in Profile.objects.get(user=alice.user).github_token_encrypted


def test_the_github_token_is_kept_unless_replaced_or_forgotten(api, alice):
    api.patch("/api/v1/account/", {"github_token": "first"})

    api.patch("/api/v1/account/", {"display_name": "A"})
    kept = Profile.objects.get(user=alice.user).github_token
    api.patch("/api/v1/account/", {"github_token": "second"})
    replaced = Profile.objects.get(user=alice.user).github_token
    forgotten = api.patch("/api/v1/account/", {"github_token": ""}).json()

    assert (kept, replaced) == ("first", "second")
    assert forgotten["has_github_token"] is False


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "not an address"}, "email"),
        ({"github_login": "-starts-with-a-hyphen"}, "github_login"),
        ({"github_login": "two--hyphens"}, "github_login"),
        ({"display_name": "x" * 151}, "display_name"),
        ({"username": "renamed"}, "username"),
    ],
)
def test_bad_account_changes_name_the_field(api, alice, body, field):
    response = api.patch("/api/v1/account/", body)

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert api.get("/api/v1/account/").json()["username"] == "alice"


def test_an_email_address_belongs_to_one_account(api, bob):
    ApiClient(bob.basic()).patch("/api/v1/account/", {"email": "Shared@Example.com"})

    response = api.patch("/api/v1/account/", {"email": "shared@example.com"})

    assert response.status_code == 400
    assert "Another account already uses" in response.json()["fields"]["email"][0]


def test_a_linked_github_account_is_the_default_build_source_owner(api):
    api.patch("/api/v1/account/", {"github_login": "alice-gh"})
    body = {
        "name": f"{settings.REGISTRY_HOST}/alice/web",
        "build_source": {"repository": "web", "build_settings": [{"tag": "latest", "branch": "m"}]},
    }

    created = api.post("/api/v1/image/", body)

    assert created.status_code == 201, created.content
    assert created.json()["build_source"]["owner"] == "alice-gh"


@pytest.mark.django_db(transaction=True)
def test_a_private_repository_is_checked_and_built_with_the_linked_token(
    api, builds_env, git_server, private_git_server, our_registry
):
    from builds import pipeline
    from records.models import Build

    builds_env.CHECK_BUILD_SETTINGS = True
    builds_env.GIT_BASE_URL = private_git_server
    git_server.push_app("acme", "linked-app")
    api.patch("/api/v1/account/", {"github_token": "s3cret-token"})
    name = f"{settings.REGISTRY_HOST}/alice/linked"
    source = {"owner": "acme", "repository": "linked-app"}
    source["build_settings"] = [{"tag": "latest", "branch": "main"}]

    accepted = api.post("/api/v1/image/", {"name": name, "build_source": source})
    queued = api.post(f"/api/v1/image/{name}/tag/latest/build/")
    build = Build.objects.get(uuid=queued["Location"].split("/")[-2])
    pipeline.run(build.pk)
    build.refresh_from_db()

    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["build_source"]["has_access_token"] is False
    assert build.state == "Success", build.error
    assert "s3cret-token" not in build.log
