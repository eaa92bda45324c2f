"""What an attacker tried and must not get: public images from a Writer, staff answered two
ways, request bodies that crash the parser, scopes on names the registry would clean up,
secrets in the run banner and links built from a request's Host."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core.management import call_command

from records.models import Image
from tests.domain.test_registry_token import access_of, token_for
from tests.fixtures.api import ApiClient

H = settings.REGISTRY_HOST
pytestmark = pytest.mark.django_db


@pytest.fixture
def writer_and_owner(alice, bob, make_team):
    return make_team("web", alice="Owner", bob="Writer")


def test_a_team_writer_cannot_register_a_public_image(bob, writer_and_owner):
    made = ApiClient(bob.basic()).post(
        "/api/v1/image/", {"name": f"{H}/web/app", "is_private_image": False}
    )

    assert made.status_code == 400
    assert made.json()["fields"]["is_private_image"] == [
        "Only the Owners of team web can make a public image. Register it private, then ask "
        "an Owner to make it public."
    ]
    assert not Image.objects.filter(name=f"{H}/web/app").exists()


def test_a_team_writer_still_registers_a_private_image(bob, writer_and_owner):
    made = ApiClient(bob.basic()).post("/api/v1/image/", {"name": f"{H}/web/app"})

    assert made.status_code == 201, made.json()
    assert made.json()["is_private_image"] is True


def test_an_owner_and_a_person_in_their_own_namespace_register_public_images(
    alice, writer_and_owner
):
    client = ApiClient(alice.basic())
    team_image = client.post("/api/v1/image/", {"name": f"{H}/web/site", "is_private_image": 0})
    own_image = client.post("/api/v1/image/", {"name": f"{H}/alice/blog", "is_private_image": 0})

    assert team_image.status_code == own_image.status_code == 201
    assert team_image.json()["is_private_image"] is own_image.json()["is_private_image"] is False


def test_staff_read_another_persons_private_image_as_the_registry_lets_them(
    alice, make_account, make_image
):
    root = make_account("root", staff=True)
    image = make_image(alice, "secret")
    staff = ApiClient(root.basic())

    shown = staff.get(f"/api/v1/image/{image.name}/")
    listed = staff.get("/api/v1/image/", {"limit": 100}).json()["objects"]
    granted = access_of(token_for(staff, "repository:alice/secret:pull,push"))

    assert shown.status_code == 200
    assert image.name in [row["name"] for row in listed]
    assert granted == {"alice/secret": ["pull", "push"]}


def test_someone_else_still_gets_a_404_for_a_private_image(alice, bob, make_image):
    image = make_image(alice, "secret")

    assert ApiClient(bob.basic()).get(f"/api/v1/image/{image.name}/").status_code == 404


DEEP = b"[" * 5000 + b"]" * 5000


@pytest.mark.parametrize(
    "path",
    ["/api/v1/signup/", "/api/v1/password-reset/", "/api/v1/image/", "/api/v1/team/"],
)
def test_deeply_nested_json_is_a_400_naming_the_limit(path, alice):
    response = ApiClient(alice.basic()).generic("POST", path, DEEP, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"error": "The request body nests arrays or objects deeper than 64."}


def test_a_body_larger_than_the_limit_is_a_400_naming_it(settings, alice):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = b'{"description": "' + b"x" * 2000 + b'"}'

    response = ApiClient(alice.basic()).generic(
        "POST", "/api/v1/image/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"error": "The request body is larger than 1000 bytes."}


def test_brackets_inside_strings_are_not_nesting(alice):
    description = "[" * 200
    made = ApiClient(alice.basic()).post(
        "/api/v1/image/", {"name": f"{H}/alice/brackets", "description": description}
    )

    assert made.status_code == 201, made.json()
    assert made.json()["description"] == description


def test_deeply_nested_registry_notifications_are_a_400(settings, client):
    settings.REGISTRY_NOTIFICATION_SECRET = "s3cret"
    response = client.generic(
        "POST",
        "/api/v1/registry-events/",
        b'{"events": ' + DEEP + b"}",
        content_type="application/vnd.docker.distribution.events.v1+json",
        headers={"Authorization": "Bearer s3cret"},
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    "name",
    ["dave/../alice/priv", "dave/./x", "alice//priv", "Alice/priv", "/alice/priv", "alice/priv/"],
)
def test_no_scope_is_granted_on_a_name_the_registry_would_clean_up(name, alice, make_account):
    dave = make_account("dave")

    response = token_for(ApiClient(dave.basic()), f"repository:{name}:pull,push")

    assert response.status_code == 200
    assert access_of(response) == {}


def test_the_run_banner_prints_no_api_key(settings, monkeypatch, live_server, make_account):
    admin = make_account("admin", staff=True)
    # Every server the banner waits for answers here at once.
    settings.API_PUBLIC_URL = settings.REGISTRY_URL = live_server.url
    monkeypatch.setenv("ADMIN_BIND", live_server.url.removeprefix("http://"))
    out = io.StringIO()

    call_command("banner", "--no-wait", stdout=out)

    assert "tutumweb is running" in out.getvalue()
    assert admin.key not in out.getvalue()
    assert "ApiKey admin:<your API key>" in out.getvalue()
