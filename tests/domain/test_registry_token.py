"""The token realm our registry trusts: key IDs, claims and who may do what."""

from __future__ import annotations

import base64
import hashlib

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry import tokens as registry_token
from registry import writers
from tests.fixtures.api import ApiClient


def token_for(client: ApiClient, *scopes: str, service: str | None = None):
    query = [("service", service or settings.REGISTRY_TOKEN_SERVICE)]
    query += [("scope", scope) for scope in scopes]
    return client.get("/api/v1/registry-token/", query)


def claims_of(response) -> dict:
    cert = settings.REGISTRY_TOKEN_KEY.with_suffix(".crt").read_bytes()
    from cryptography import x509

    public_key = x509.load_pem_x509_certificate(cert).public_key()
    return jwt.decode(
        response.json()["token"],
        public_key,
        algorithms=["RS256"],
        audience=settings.REGISTRY_TOKEN_SERVICE,
        issuer=settings.REGISTRY_TOKEN_ISSUER,
    )


def access_of(response) -> dict:
    return {entry["name"]: entry["actions"] for entry in claims_of(response)["access"]}


def test_the_key_id_is_libtrusts_format():
    registry_token.ensure_signing_key()
    key = serialization.load_pem_private_key(settings.REGISTRY_TOKEN_KEY.read_bytes(), None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    expected = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()

    kid = registry_token.key_id(key.public_key())

    assert kid.replace(":", "") == expected
    assert [len(group) for group in kid.split(":")] == [4] * 12


def test_a_token_carries_the_claims_the_registry_checks(alice):
    response = token_for(ApiClient(alice.basic()), "repository:alice/app:pull,push")

    assert response.status_code == 200
    body = response.json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == settings.REGISTRY_TOKEN_TTL
    assert body["issued_at"].endswith("Z")
    claims = claims_of(response)
    assert claims["sub"] == "alice"
    assert {"iat", "nbf", "exp", "jti"} <= set(claims)
    header = jwt.get_unverified_header(body["token"])
    assert header["alg"] == "RS256"
    assert len(header["kid"].split(":")) == 12


def test_users_may_push_and_pull_in_their_own_namespace(alice):
    response = token_for(ApiClient(alice.basic()), "repository:alice/app:pull,push")

    assert access_of(response) == {"alice/app": ["pull", "push"]}


def test_users_may_not_push_to_someone_elses_namespace(alice, bob):
    response = token_for(ApiClient(alice.basic()), "repository:bob/app:pull,push")

    assert access_of(response) == {"bob/app": []}


def test_private_images_are_pulled_by_their_owner_only(alice, bob, make_image):
    make_image(bob, "secret")
    scope = "repository:bob/secret:pull"

    assert access_of(token_for(ApiClient(alice.basic()), scope)) == {"bob/secret": []}
    assert access_of(token_for(ApiClient(bob.basic()), scope)) == {"bob/secret": ["pull"]}


def test_anonymous_clients_pull_public_images_only(bob, make_image):
    make_image(bob, "open", private=False)
    make_image(bob, "closed")

    response = token_for(ApiClient(), "repository:bob/open:pull,push", "repository:bob/closed:pull")

    assert response.status_code == 200
    assert access_of(response) == {"bob/open": ["pull"], "bob/closed": []}


def test_the_catalog_is_for_staff_only(alice, make_account):
    staff = make_account("root", staff=True)

    assert access_of(token_for(ApiClient(alice.basic()), "registry:catalog:*")) == {"catalog": []}
    assert access_of(token_for(ApiClient(staff.basic()), "registry:catalog:*")) == {
        "catalog": ["*"]
    }


def test_space_separated_and_malformed_scopes(alice):
    response = token_for(
        ApiClient(alice.basic()), "repository:alice/a:pull repository:alice/b:push", "nonsense"
    )

    assert access_of(response) == {"alice/a": ["pull"], "alice/b": ["push"]}


def test_the_password_works_too_for_docker_login(alice):
    client = ApiClient(alice.basic(alice.password))

    assert access_of(token_for(client, "repository:alice/app:push")) == {"alice/app": ["push"]}


@pytest.mark.parametrize("header", ["wrong", "apikey"])
def test_wrong_credentials_are_a_401(alice, header):
    client = ApiClient(alice.basic("0" * 40) if header == "wrong" else alice.apikey())

    response = token_for(client, "repository:alice/app:pull")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_an_unknown_service_is_a_400(alice):
    response = token_for(ApiClient(alice.basic()), "repository:alice/app:pull", service="other")

    assert response.status_code == 400
    assert "other" in response.json()["error"]


def test_a_push_token_writes_only_its_repositorys_expiry_for_garbage_collection(alice):
    client = ApiClient(alice.basic())
    # The first one also creates the repository's row.
    token_for(client, "repository:alice/app:pull,push")

    with CaptureQueriesContext(connection) as queries:
        response = token_for(client, "repository:alice/app:pull,push")

    assert access_of(response) == {"alice/app": ["pull", "push"]}
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")]
    # buildah asks for two or three tokens a push; each write waits for SQLite's one writer.
    assert len(writes) == 1
    assert "writetoken" in writes[0].lower()
    assert writers.being_written() == {"alice/app"}


def test_a_pull_token_or_a_refused_push_marks_nothing_as_being_written(alice, bob):
    token_for(ApiClient(alice.basic()), "repository:alice/app:pull")
    refused = token_for(ApiClient(bob.basic()), "repository:alice/app:pull,push")

    assert access_of(refused) == {"alice/app": []}
    assert writers.being_written() == set()
