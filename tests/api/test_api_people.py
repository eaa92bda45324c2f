"""The people here, for staff: listed, deactivated (refused everywhere at once), made staff."""

from __future__ import annotations

import base64

import pytest

from accounts import sessions
from tests.fixtures.api import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(make_account):
    return make_account("root", staff=True)


def as_(account) -> ApiClient:
    return ApiClient(account.basic())


def test_staff_list_everyone(root, alice, bob):
    listed = as_(root).get("/api/v1/user/").json()

    assert [p["username"] for p in listed["objects"]] == ["alice", "bob", "root"]
    assert listed["objects"][2]["is_staff"] is True
    assert listed["objects"][0]["resource_uri"] == "/api/v1/user/alice/"


@pytest.mark.parametrize(
    "method, path",
    [("get", "/api/v1/user/"), ("get", "/api/v1/user/bob/"), ("patch", "/api/v1/user/bob/")],
)
def test_people_are_staff_only(alice, bob, method, path):
    response = getattr(as_(alice), method)(path, {"is_active": False})

    assert response.status_code == 403
    assert response.json() == {"error": "Only staff can manage people."}
    assert as_(bob).get("/api/v1/image/").status_code == 200


def test_a_deactivated_person_is_refused_everywhere_at_once(root, alice):
    sign_in, sign_in_key = sessions.start_session(alice.user)
    password = "Basic " + base64.b64encode(f"alice:{alice.password}".encode()).decode()
    assert ApiClient(password).get("/api/v1/image/").status_code == 200

    changed = as_(root).patch("/api/v1/user/alice/", {"is_active": False})

    assert changed.status_code == 200 and changed.json()["is_active"] is False
    assert as_(alice).get("/api/v1/image/").status_code == 401
    assert ApiClient(alice.basic(sign_in_key)).get("/api/v1/image/").status_code == 401
    assert ApiClient(password).get("/api/v1/image/").status_code == 401
    assert ApiClient(password).get("/api/v1/auth/").status_code == 401

    as_(root).patch("/api/v1/user/alice/", {"is_active": True})

    assert as_(alice).get("/api/v1/image/").status_code == 200
    assert ApiClient(alice.basic(sign_in_key)).get("/api/v1/image/").status_code == 401


def test_staff_can_make_and_unmake_staff(root, alice):
    made = as_(root).patch("/api/v1/user/alice/", {"is_staff": True})
    listed_by_alice = as_(alice).get("/api/v1/user/")
    unmade = as_(alice).patch("/api/v1/user/root/", {"is_staff": False})

    assert made.json()["is_staff"] is True
    assert listed_by_alice.status_code == 200
    assert unmade.json()["is_staff"] is False
    assert as_(root).get("/api/v1/user/").status_code == 403


@pytest.mark.parametrize(
    "body, field",
    [({"is_active": False}, "is_active"), ({"is_staff": False}, "is_staff")],
)
def test_staff_cannot_lock_themselves_out(root, body, field):
    response = as_(root).patch("/api/v1/user/root/", body)

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert as_(root).get("/api/v1/user/").status_code == 200


def test_bad_changes_and_unknown_people_are_named(root):
    assert as_(root).patch("/api/v1/user/nobody/", {"is_active": True}).status_code == 404
    bad = as_(root).patch("/api/v1/user/root/", {"is_active": "maybe"})
    unknown = as_(root).patch("/api/v1/user/root/", {"password": "x"})

    assert bad.status_code == unknown.status_code == 400
    assert "is_active" in bad.json()["fields"] and "password" in unknown.json()["fields"]


def reset_link(staff, username: str) -> dict:
    response = as_(staff).post(f"/api/v1/user/{username}/reset-link/")
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    return response.json()


def reset(link: dict, password: str):
    body = {"uid": link["uid"], "token": link["token"], "new_password": password}
    return ApiClient().post("/api/v1/password-reset/", body)


def test_a_reset_link_sets_a_password_once_and_signs_other_browsers_out(root, alice):
    _, old_sign_in = sessions.start_session(alice.user)
    link = reset_link(root, "alice")

    first = reset(link, "A-brand-new-Passw0rd")
    again = reset(link, "Another-new-Passw0rd")

    assert first.status_code == 200 and first.json() == {"username": "alice"}
    assert again.status_code == 400
    assert "expired or was already used" in again.json()["fields"]["token"][0]
    new = "Basic " + base64.b64encode(b"alice:A-brand-new-Passw0rd").decode()
    assert ApiClient(new).get("/api/v1/image/").status_code == 200
    assert ApiClient(alice.basic(old_sign_in)).get("/api/v1/image/").status_code == 401
    assert as_(alice).get("/api/v1/image/").status_code == 200  # API keys stay


def test_a_reset_link_expires(root, alice, settings):
    link = reset_link(root, "alice")
    settings.PASSWORD_RESET_TIMEOUT = -1

    assert reset(link, "A-brand-new-Passw0rd").status_code == 400


@pytest.mark.parametrize(
    "change, field",
    [
        ({"token": "1-nonsense"}, "token"),
        ({"uid": "!!"}, "token"),
        ({"new_password": "short"}, "new_password"),
    ],
)
def test_a_reset_that_cannot_be_made_names_the_field(root, alice, change, field):
    link = {**reset_link(root, "alice"), **change}

    response = ApiClient().post(
        "/api/v1/password-reset/",
        {
            "uid": link["uid"],
            "token": link["token"],
            "new_password": link.get("new_password", "A-brand-new-Passw0rd"),
        },
    )

    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_only_staff_make_reset_links(alice, bob):
    assert as_(alice).post("/api/v1/user/bob/reset-link/").status_code == 403
