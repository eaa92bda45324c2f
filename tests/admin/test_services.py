"""images.services against a real API server: typed results and typed, readable errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.conf import settings

from images.services import accounts as account_service
from images.services import images as image_service
from images.services.http import (
    ApiUnavailable,
    Conflict,
    Credentials,
    Invalid,
    NotAuthenticated,
    NotFound,
)
from tests.fixtures.ports import free_port

H = settings.REGISTRY_HOST
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def creds(api_server, alice) -> Credentials:
    return account_service.login(alice.username, alice.password)


def test_login_returns_a_sign_in_of_its_own_that_works_until_logout(api_server, alice):
    creds = account_service.login("alice", alice.password)

    assert creds.username == "alice" and creds.key != alice.key
    assert image_service.list_images(creds).total == 0
    assert [k.prefix for k in account_service.list_api_keys(creds)] == [alice.key[:8]]
    account_service.logout(creds)
    with pytest.raises(NotAuthenticated):
        image_service.list_images(creds)


def test_login_falls_back_to_tutums_key_exchange_on_another_server(api_server, alice, settings):
    # A Tutum-compatible server without our sign-in endpoint answers it with 404.
    settings.ROOT_URLCONF = "tests.fixtures.urls_without_sessions"

    assert account_service.login("alice", alice.password) == Credentials("alice", alice.key)


def test_login_with_a_wrong_password_is_not_authenticated(api_server, alice):
    with pytest.raises(NotAuthenticated, match="do not match"):
        account_service.login("alice", "wrong")


def test_images_come_back_typed_with_their_page(creds, alice, make_image):
    make_image(alice, "web", tags=["latest", "v1"], description="Front")

    page = image_service.list_images(creds, search="web")

    assert page.total == 1 and not page.has_next
    image = page.items[0]
    assert image == image_service.Image(
        name=f"{H}/alice/web",
        description="Front",
        state="Success",
        is_private=True,
        jumpstart=False,
        registry_host=H,
        last_build_date=datetime(2013, 11, 8, 0, 22, 26, tzinfo=UTC),
        tag_count=2,
        pull_tag=None,  # the API says it for one image only
        categories=[],
        build_source=None,
    )


def test_an_image_comes_without_its_tag_uris_but_with_its_count_and_pull_tag(
    creds, alice, make_image
):
    make_image(alice, "web", tags=["v2", "v1"])

    image = image_service.get_image(creds, f"{H}/alice/web")

    assert (image.tag_count, image.pull_tag) == (2, "v1")


def test_an_image_from_another_tutum_server_is_counted_from_its_tag_uris():
    data = {"name": "example.com/app", "tags": ["/api/v1/image/example.com/app/tag/v2/"] * 2}
    data["tags"].append("/api/v1/image/example.com/app/tag/latest/")

    image = image_service._image(data)

    assert (image.tag_count, image.pull_tag) == (3, "latest")


def test_tags_come_back_typed_with_their_layer(creds, alice, make_image):
    image = make_image(alice, "web")

    tag = image_service.list_tags(creds, image.name).items[0]

    assert tag.name == "latest" and tag.state == "Success"
    assert tag.layer.ports == [image_service.Port(80, "tcp")]
    assert tag.layer.envvars[0] == ("HOME", "/")
    assert tag.layer.short_id == tag.layer.docker_id[:12]
    assert image_service.get_tag(creds, image.name, "latest") == tag


def test_a_missing_image_is_not_found(creds):
    with pytest.raises(NotFound, match="No image named"):
        image_service.get_image(creds, f"{H}/alice/ghost")


def test_a_wrong_key_is_not_authenticated(api_server):
    with pytest.raises(NotAuthenticated):
        image_service.list_images(Credentials("alice", "0" * 40))


def test_validation_errors_carry_the_fields(creds):
    with pytest.raises(Invalid) as raised:
        image_service.register_image(creds, {"name": "Bad Name"})

    assert "name" in raised.value.fields


def test_a_duplicate_is_a_conflict(creds, alice, make_image):
    make_image(alice, "web")

    with pytest.raises(Conflict, match="already registered"):
        image_service.register_image(creds, {"name": f"{H}/alice/web"})


def test_an_unreachable_api_is_reported_not_hidden(settings):
    settings.TUTUM_API_URL = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(ApiUnavailable, match="cannot be reached"):
        image_service.list_images(Credentials("a", "b"))


def test_writes_round_trip(creds):
    created = image_service.register_image(
        creds,
        {
            "name": f"{H}/alice/app",
            "build_source": {
                "owner": "acme",
                "repository": "app",
                "build_settings": [{"tag": "latest", "branch": "main", "dockerfile": "/"}],
            },
        },
    )
    updated = image_service.update_image(creds, created.name, {"description": "Changed"})
    image_service.delete_image(creds, created.name)

    assert created.build_source.build_settings == [
        image_service.BuildSetting(tag="latest", branch="main", dockerfile="/", autobuild=False)
    ]
    assert updated.description == "Changed"
    with pytest.raises(NotFound):
        image_service.get_image(creds, created.name)
