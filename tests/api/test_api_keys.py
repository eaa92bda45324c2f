"""Your API keys through the API: several, named, shown once, expiring, revoked at once."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from records.models import ApiKey, Image
from tests.fixtures.api import ApiClient
from tests.fixtures.our_registry import wait_for_tag

pytestmark = pytest.mark.django_db


def make_key(client: ApiClient, **body) -> dict:
    response = client.post("/api/v1/apikey/", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_a_new_key_is_shown_once_and_works_at_once(api, alice):
    made = make_key(api, label="laptop", expires_in_days=30)

    listed = api.get("/api/v1/apikey/").json()
    fetched = api.get(made["resource_uri"]).json()

    assert made["label"] == "laptop" and made["key"].startswith(made["prefix"])
    assert made["expires"] is not None and made["is_expired"] is False
    assert [k["label"] for k in listed["objects"]] == ["laptop", ""]
    assert listed["meta"]["total_count"] == 2
    assert "key" not in fetched and all("key" not in k for k in listed["objects"])
    assert ApiClient(alice.basic(made["key"])).get("/api/v1/image/").status_code == 200


def test_the_answer_that_shows_a_key_is_not_cached(api):
    response = api.post("/api/v1/apikey/", {"label": "ci"})

    assert response["Cache-Control"] == "no-store"


def test_a_key_can_be_renamed(api):
    made = make_key(api, label="old")

    renamed = api.patch(made["resource_uri"], {"label": "build server"})

    assert renamed.status_code == 200
    assert renamed.json()["label"] == "build server"


def test_a_revoked_key_is_refused_at_once(api, alice):
    made = make_key(api, label="script")
    script = ApiClient(alice.basic(made["key"]))
    assert script.get("/api/v1/image/").status_code == 200

    revoked = api.delete(made["resource_uri"])

    assert revoked.status_code == 204
    assert script.get("/api/v1/image/").status_code == 401
    assert registry_token(alice.username, made["key"]).status_code == 401
    assert api.get(made["resource_uri"]).status_code == 404


def test_an_expired_key_is_refused_and_listed_as_expired(api, alice):
    made = make_key(api, label="old script", expires_in_days=1)
    ApiKey.objects.filter(pk=made["id"]).update(expires=timezone.now() - timedelta(seconds=1))

    assert ApiClient(alice.basic(made["key"])).get("/api/v1/image/").status_code == 401
    assert registry_token(alice.username, made["key"]).status_code == 401
    assert api.get(made["resource_uri"]).json()["is_expired"] is True


def test_auth_hands_out_a_key_that_has_not_expired(alice):
    ApiKey.objects.filter(user=alice.user).update(expires=timezone.now() - timedelta(days=1))
    header = "Basic " + base64.b64encode(f"alice:{alice.password}".encode()).decode()

    key = ApiClient(header).get("/api/v1/auth/").json()["objects"][0]["key"]

    assert key != alice.key
    assert ApiClient(alice.basic(key)).get("/api/v1/image/").status_code == 200


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_persons_key_is_a_404(api, bob, method):
    bobs = ApiKey.objects.get(user=bob.user)

    response = getattr(api, method)(f"/api/v1/apikey/{bobs.pk}/", {"label": "mine now"})

    assert response.status_code == 404
    assert ApiKey.objects.filter(pk=bobs.pk, label="").exists()
    assert ApiClient(bob.basic()).get("/api/v1/image/").status_code == 200


def test_nobody_sees_another_persons_keys_in_the_list(api, bob):
    make_key(ApiClient(bob.basic()), label="bob's")

    labels = [k["label"] for k in api.get("/api/v1/apikey/").json()["objects"]]

    assert "bob's" not in labels


@pytest.mark.parametrize(
    "body, field",
    [
        ({"label": "x" * 101}, "label"),
        ({"expires_in_days": 0}, "expires_in_days"),
        ({"expires_in_days": 3651}, "expires_in_days"),
        ({"expires_in_days": "soon"}, "expires_in_days"),
        ({"key": "0" * 40}, "key"),
    ],
)
def test_bad_key_requests_name_the_field(api, body, field):
    response = api.post("/api/v1/apikey/", body)

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert ApiKey.objects.count() == 1


def test_keys_need_credentials(db):
    assert ApiClient().get("/api/v1/apikey/").status_code == 401


def registry_token(username: str, secret: str):
    header = "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()
    return ApiClient(header).get(
        "/api/v1/registry-token/", {"service": settings.REGISTRY_TOKEN_SERVICE}
    )


@pytest.mark.registry
def test_a_push_with_a_key_is_refused_once_the_key_is_revoked(our_registry, buildah, api, alice):
    made = make_key(api, label="laptop")
    base = buildah.build_base()
    name = f"{our_registry.host}/alice/keyed"

    digest = buildah.push(base, f"{name}:v1", f"alice:{made['key']}")
    wait_for_tag(name, "v1", digest)
    api.delete(made["resource_uri"])
    second = buildah.push(base, f"{name}:v2", f"alice:{made['key']}", check=False)

    assert second.returncode != 0
    assert "401" in second.stderr or "unauthorized" in second.stderr.lower()
    assert not Image.objects.get(name=name).tags.filter(name="v2").exists()
