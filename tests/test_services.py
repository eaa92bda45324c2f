"""images.services against a real API server: typed results and typed, readable errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.conf import settings

from images import services
from tests.fixtures_registry import free_port

H = settings.REGISTRY_HOST
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def creds(api_server, alice) -> services.Credentials:
    return services.login(alice.username, alice.password)


def test_login_returns_a_sign_in_of_its_own_that_works_until_logout(api_server, alice):
    creds = services.login("alice", alice.password)

    assert creds.username == "alice" and creds.key != alice.key
    assert services.list_images(creds).total == 0
    assert [k.prefix for k in services.list_api_keys(creds)] == [alice.key[:8]]
    services.logout(creds)
    with pytest.raises(services.NotAuthenticated):
        services.list_images(creds)


def test_login_falls_back_to_tutums_key_exchange_on_another_server(api_server, alice, settings):
    # A Tutum-compatible server without our sign-in endpoint answers it with 404.
    settings.ROOT_URLCONF = "tests.urls_without_sessions"

    assert services.login("alice", alice.password) == services.Credentials("alice", alice.key)


def test_login_with_a_wrong_password_is_not_authenticated(api_server, alice):
    with pytest.raises(services.NotAuthenticated, match="do not match"):
        services.login("alice", "wrong")


def test_images_come_back_typed_with_their_page(creds, alice, make_image):
    make_image(alice, "web", tags=["latest", "v1"], description="Front")

    page = services.list_images(creds, search="web")

    assert page.total == 1 and not page.has_next
    image = page.items[0]
    assert image == services.Image(
        name=f"{H}/alice/web",
        description="Front",
        state="Success",
        is_private=True,
        jumpstart=False,
        registry_host=H,
        last_build_date=datetime(2013, 11, 8, 0, 22, 26, tzinfo=UTC),
        tag_names=["latest", "v1"],
        categories=[],
        build_source=None,
    )


def test_tags_come_back_typed_with_their_layer(creds, alice, make_image):
    image = make_image(alice, "web")

    tag = services.list_tags(creds, image.name).items[0]

    assert tag.name == "latest" and tag.state == "Success"
    assert tag.layer.ports == [services.Port(80, "tcp")]
    assert tag.layer.envvars[0] == ("HOME", "/")
    assert tag.layer.short_id == tag.layer.docker_id[:12]
    assert services.get_tag(creds, image.name, "latest") == tag


def test_a_missing_image_is_not_found(creds):
    with pytest.raises(services.NotFound, match="No image named"):
        services.get_image(creds, f"{H}/alice/ghost")


def test_a_wrong_key_is_not_authenticated(api_server):
    with pytest.raises(services.NotAuthenticated):
        services.list_images(services.Credentials("alice", "0" * 40))


def test_validation_errors_carry_the_fields(creds):
    with pytest.raises(services.Invalid) as raised:
        services.register_image(creds, {"name": "Bad Name"})

    assert "name" in raised.value.fields


def test_a_duplicate_is_a_conflict(creds, alice, make_image):
    make_image(alice, "web")

    with pytest.raises(services.Conflict, match="already registered"):
        services.register_image(creds, {"name": f"{H}/alice/web"})


def test_an_unreachable_api_is_reported_not_hidden(settings):
    settings.TUTUM_API_URL = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(services.ApiUnavailable, match="cannot be reached"):
        services.list_images(services.Credentials("a", "b"))


def test_writes_round_trip(creds):
    created = services.register_image(
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
    updated = services.update_image(creds, created.name, {"description": "Changed"})
    services.delete_image(creds, created.name)

    assert created.build_source.build_settings == [
        services.BuildSetting(tag="latest", branch="main", dockerfile="/", autobuild=False)
    ]
    assert updated.description == "Changed"
    with pytest.raises(services.NotFound):
        services.get_image(creds, created.name)
