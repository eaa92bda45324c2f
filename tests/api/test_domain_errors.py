"""The domain's own errors (lib.errors) reach API clients with their status and the API's error
shape, {"error": ...} plus "fields" for invalid input: through real endpoints for each kind the
domain raises, and through the one handler (api/core/errors.py) for every kind."""

from __future__ import annotations

import pytest

from accounts.usernames import TEAM_RULE
from api.core.errors import exception_handler
from lib import errors
from tests.fixtures.api import ApiClient
from tests.fixtures.ports import free_port


def test_a_missing_api_key_is_a_404_saying_which(api):
    response = api.get("/api/v1/apikey/999999/")

    assert response.status_code == 404
    assert response.json() == {"error": "You have no API key 999999."}


def test_a_reader_changing_a_team_image_is_a_403_saying_who_can(alice, bob, make_team, make_image):
    team = make_team("web", alice="Owner", bob="Reader")
    image = make_image(team, "app")

    response = ApiClient(bob.basic()).patch(
        f"/api/v1/image/{image.name}/", {"description": "mine now"}
    )

    assert response.status_code == 403
    assert response.json() == {
        "error": f"You are a Reader in team web: only its Writers and Owners can change "
        f"{image.name}. Ask an Owner of web to make you a Writer."
    }


def test_deleting_a_team_that_holds_images_is_a_409_saying_what_to_do(
    api, alice, make_team, make_image
):
    team = make_team("web", alice="Owner")
    make_image(team, "app")

    response = api.delete("/api/v1/team/web/")

    assert response.status_code == 409
    assert response.json() == {
        "error": "Team web still holds 1 image: delete them first. A team can be deleted "
        "once it holds nothing."
    }


def test_a_team_name_the_rules_refuse_is_a_400_with_its_field(api):
    response = api.post("/api/v1/team/", {"name": "A--b"})

    assert response.status_code == 400
    assert response.json() == {"error": f"name: {TEAM_RULE}", "fields": {"name": [TEAM_RULE]}}


def test_a_public_registry_that_cannot_be_reached_is_a_502_naming_it(api, settings):
    settings.PUBLIC_REGISTRY_URL = f"http://127.0.0.1:{free_port()}"

    response = api.get("/api/v1/image/busybox/")

    assert response.status_code == 502
    assert response.json() == {
        "error": "Could not look busybox up: could not reach registry docker.io: check the "
        "name, and that it is a registry reachable from this server. Try again later."
    }


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (errors.NotFound("No such thing."), 404, {"error": "No such thing."}),
        (errors.Forbidden("Not yours."), 403, {"error": "Not yours."}),
        (errors.Conflict("Already there."), 409, {"error": "Already there."}),
        (
            errors.Invalid({"tag": ["Bad tag."], "branch": ["Bad branch."]}),
            400,
            {"error": "tag: Bad tag.", "fields": {"tag": ["Bad tag."], "branch": ["Bad branch."]}},
        ),
        (
            errors.Invalid("Bad as a whole."),
            400,
            {"error": "Bad as a whole.", "fields": {"non_field_errors": ["Bad as a whole."]}},
        ),
        (errors.Unavailable("Docker Hub is away."), 502, {"error": "Docker Hub is away."}),
        (errors.RegistryFailure(), 502, {"error": "The registry could not be reached."}),
        (errors.TryLater("Not now.", retry_after=30), 503, {"error": "Not now."}),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_each_kind_of_domain_error_has_its_status_and_the_error_shape(db, error, status, body):
    response = exception_handler(error, {})

    assert response.status_code == status
    assert response.data == body
    retry_after = getattr(error, "retry_after", None)
    assert response.headers.get("Retry-After") == (str(retry_after) if retry_after else None)
