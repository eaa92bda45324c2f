"""The web admin's sign-ins and password changes through the API (extensions)."""

from __future__ import annotations

import base64

import pytest

from records.models import ApiKey
from tests.fixtures_api import ApiClient

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
