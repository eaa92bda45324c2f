"""Images on other registries: credentials are checked there first and kept encrypted."""

from __future__ import annotations

import json
import logging

import pytest

from records.models import Image
from tests.fixtures.ports import free_port

pytestmark = [pytest.mark.registry, pytest.mark.django_db]


@pytest.fixture(scope="module")
def robot_image(htpasswd_registry, buildah):
    """team/app:latest on the htpasswd registry."""
    creds = f"{htpasswd_registry.username}:{htpasswd_registry.password}"
    buildah.push(buildah.build_base(), f"{htpasswd_registry.host}/team/app:latest", creds)
    return f"{htpasswd_registry.host}/team/app"


def test_right_credentials_register_the_image(api, htpasswd_registry, robot_image):
    response = api.post(
        "/api/v1/image/",
        {
            "name": robot_image,
            "username": htpasswd_registry.username,
            "password": htpasswd_registry.password,
            "description": "Team app",
        },
    )

    assert response.status_code == 201, response.json()
    assert response.json()["registry"] == f"/api/v1/registry/{htpasswd_registry.host}/"
    assert response.json()["is_private_image"] is True


def test_wrong_credentials_are_a_400_naming_the_problem(api, htpasswd_registry, robot_image):
    response = api.post(
        "/api/v1/image/",
        {"name": robot_image, "username": htpasswd_registry.username, "password": "nope"},
    )

    assert response.status_code == 400
    assert response.json()["fields"]["password"] == [
        f"registry {htpasswd_registry.host} rejected the username/password"
    ]
    assert not Image.objects.exists()


def test_missing_credentials_say_the_registry_needs_them(api, htpasswd_registry, robot_image):
    response = api.post("/api/v1/image/", {"name": robot_image})

    assert response.status_code == 400
    assert "requires a username and password" in response.json()["error"]


def test_an_unknown_repository_is_named(api, htpasswd_registry, robot_image):
    response = api.post(
        "/api/v1/image/",
        {
            "name": f"{htpasswd_registry.host}/team/ghost",
            "username": htpasswd_registry.username,
            "password": htpasswd_registry.password,
        },
    )

    assert response.status_code == 400
    assert response.json()["fields"]["name"] == [
        f"no repository team/ghost on registry {htpasswd_registry.host}"
    ]


def test_an_unreachable_registry_is_a_clear_400(api):
    host = f"127.0.0.1:{free_port()}"

    response = api.post(
        "/api/v1/image/", {"name": f"{host}/team/app", "username": "u", "password": "p"}
    )

    assert response.status_code == 400
    assert response.json()["fields"]["name"] == [
        f"could not reach registry {host}: check the name, and that it is a registry "
        "reachable from this server"
    ]


def test_the_password_is_stored_encrypted_and_never_echoed(
    api, htpasswd_registry, robot_image, caplog
):
    caplog.set_level(logging.DEBUG)
    secret = htpasswd_registry.password
    created = api.post(
        "/api/v1/image/",
        {"name": robot_image, "username": htpasswd_registry.username, "password": secret},
    )
    patched = api.patch(f"/api/v1/image/{robot_image}/", {"description": "changed"})
    listed = api.get("/api/v1/image/")

    for response in (created, patched, listed):
        assert secret not in response.content.decode()
        assert "password" not in json.dumps(response.json())
    row = Image.objects.get(name=robot_image)
    assert secret not in row.registry_password_encrypted
    assert row.registry_password == secret
    assert secret not in caplog.text


def test_changing_credentials_checks_them_again(api, htpasswd_registry, robot_image):
    api.post(
        "/api/v1/image/",
        {
            "name": robot_image,
            "username": htpasswd_registry.username,
            "password": htpasswd_registry.password,
        },
    )

    response = api.patch(f"/api/v1/image/{robot_image}/", {"password": "wrong"})

    assert response.status_code == 400
    assert "rejected the username/password" in response.json()["error"]
    assert Image.objects.get(name=robot_image).registry_password == htpasswd_registry.password
