"""Authentication on every endpoint, both schemes, and other users' private images as 404s."""

from __future__ import annotations

import base64

import pytest
from django.conf import settings

from records.models import ApiKey, Image
from tests.fixtures.api import ApiClient

H = settings.REGISTRY_HOST
SCHEMES = ["basic", "apikey"]


def endpoints(image_name: str) -> list[tuple[str, str]]:
    return [
        ("get", "/api/v1/image/"),
        ("post", "/api/v1/image/"),
        ("get", f"/api/v1/image/{image_name}/"),
        ("patch", f"/api/v1/image/{image_name}/"),
        ("delete", f"/api/v1/image/{image_name}/"),
        ("get", f"/api/v1/image/{image_name}/tag/"),
        ("get", f"/api/v1/image/{image_name}/tag/latest/"),
        ("get", "/api/v1/registry/"),
        ("get", f"/api/v1/registry/{H}/"),
        ("get", f"/api/v1/layer/{1:064x}/"),
    ]


@pytest.fixture
def bobs_private(bob, make_image) -> Image:
    return make_image(bob, "secret")


def call(client, method: str, path: str):
    return getattr(client, method)(path, {} if method in {"post", "patch"} else None)


@pytest.mark.parametrize("index", range(10))
def test_every_endpoint_requires_credentials(bobs_private, index):
    method, path = endpoints(bobs_private.name)[index]

    response = call(ApiClient(), method, path)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert "error" in response.json()


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("index", range(10))
def test_every_endpoint_rejects_a_wrong_api_key(alice, bobs_private, scheme, index):
    method, path = endpoints(bobs_private.name)[index]
    header = getattr(alice, scheme)("0" * 40)

    response = call(ApiClient(header), method, path)

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid username or API key."}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_key_only_works_with_its_own_username(alice, bob, scheme):
    header = getattr(alice, scheme)().replace("alice", "bob") if scheme == "apikey" else None
    if header is None:
        header = "Basic " + base64.b64encode(f"bob:{alice.key}".encode()).decode()

    assert ApiClient(header).get("/api/v1/image/").status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Bearer abc", "Basic !!!", "ApiKey nocolon", "Basic " + base64.b64encode(b"x").decode()],
)
def test_a_malformed_authorization_header_is_a_401_that_says_how(header, db):
    response = ApiClient(header).get("/api/v1/image/")

    assert response.status_code == 401
    assert "Authorization" in response.json()["error"]


@pytest.mark.parametrize("index", [0, 2, 5, 6, 7, 8])
def test_every_endpoint_accepts_the_password_as_the_tutum_cli_sends_it(alice, make_image, index):
    image = make_image(alice, "web")
    _, path = endpoints(image.name)[index]
    header = "Basic " + base64.b64encode(f"alice:{alice.password}".encode()).decode()

    assert ApiClient(header).get(path).status_code == 200


def test_the_apikey_scheme_never_takes_a_password(alice):
    response = ApiClient(f"ApiKey alice:{alice.password}").get("/api/v1/image/")

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid username or API key."}


@pytest.mark.parametrize("scheme", ["Basic", "BASIC", "basic", "ApiKey", "APIKEY", "apikey"])
def test_schemes_are_case_insensitive(alice, scheme):
    credentials = f"alice:{alice.key}"
    if scheme.lower() == "basic":
        credentials = base64.b64encode(credentials.encode()).decode()

    assert ApiClient(f"{scheme} {credentials}").get("/api/v1/image/").status_code == 200


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("index", [2, 3, 4, 5, 6])
def test_another_users_private_image_is_a_404(alice, bobs_private, scheme, index):
    method, path = endpoints(bobs_private.name)[index]

    response = call(ApiClient(getattr(alice, scheme)()), method, path)

    assert response.status_code == 404
    assert Image.objects.filter(pk=bobs_private.pk).exists()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_another_users_private_image_is_not_listed_nor_its_layer_readable(
    alice, bobs_private, scheme
):
    client = ApiClient(getattr(alice, scheme)())
    layer = bobs_private.tags.get().layer

    assert client.get("/api/v1/image/").json()["meta"]["total_count"] == 0
    assert client.get(f"/api/v1/image/?name={bobs_private.name}").json()["objects"] == []
    assert client.get(f"/api/v1/layer/{layer.docker_id}/").status_code == 404


def test_the_owner_sees_their_private_image(bob, bobs_private):
    client = ApiClient(bob.apikey())

    assert client.get(f"/api/v1/image/{bobs_private.name}/").status_code == 200
    assert client.get(f"/api/v1/image/{bobs_private.name}/tag/latest/").status_code == 200


def test_auth_exchanges_the_password_for_the_api_key(alice):
    header = "Basic " + base64.b64encode(f"alice:{alice.password}".encode()).decode()

    response = ApiClient(header).get("/api/v1/auth/")

    assert response.status_code == 200
    assert response.json()["objects"] == [{"key": alice.key, "username": "alice"}]
    assert response.json()["meta"]["total_count"] == 1


def test_auth_issues_a_key_to_a_user_without_one(make_account):
    account = make_account("carol")
    ApiKey.objects.filter(user=account.user).delete()
    header = "Basic " + base64.b64encode(f"carol:{account.password}".encode()).decode()

    key = ApiClient(header).get("/api/v1/auth/").json()["objects"][0]["key"]

    assert ApiClient(account.basic(key)).get("/api/v1/image/").status_code == 200


def test_auth_rejects_a_wrong_password(alice):
    header = "Basic " + base64.b64encode(b"alice:wrong-password").decode()

    response = ApiClient(header).get("/api/v1/auth/")

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid username or password."}
    assert "WWW-Authenticate" in response.headers


@pytest.mark.parametrize("scheme", SCHEMES)
def test_auth_accepts_an_api_key_and_answers_with_that_key(alice, scheme):
    _, second = ApiKey.issue(alice.user, label="CI")

    response = ApiClient(getattr(alice, scheme)(second)).get("/api/v1/auth/")

    assert response.status_code == 200
    assert response.json()["objects"] == [{"key": second, "username": "alice"}]


def test_auth_rejects_an_unknown_user(db):
    header = "Basic " + base64.b64encode(b"nobody:whatever").decode()

    assert ApiClient(header).get("/api/v1/auth/").status_code == 401


def test_api_keys_and_passwords_are_not_stored_in_clear(alice):
    row = ApiKey.objects.get(user=alice.user)

    assert alice.key not in (row.key_hash, row.key_encrypted)
    assert alice.password not in alice.user.password


def test_a_host_header_django_refuses_is_answered_in_the_api_shape(api):
    response = api.post("/api/v1/apikey/", {}, HTTP_HOST="qsG!k1i")

    assert response.status_code == 400
    assert response.json() == {"error": "Bad request."}
