"""The people here, for staff: listed, deactivated (refused everywhere at once), made staff."""

from __future__ import annotations

import base64

import pytest

from accounts import sessions
from tests.fixtures_api import ApiClient

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
