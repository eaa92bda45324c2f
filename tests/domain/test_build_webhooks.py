"""GitHub's push webhook: HMAC-signed with the image's secret, builds autobuild settings."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlsplit

import pytest
from django.test import Client

from records.models import Build, Image
from tests.domain.test_builds import register
from tests.fixtures.api import ApiClient

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = [
    {"tag": "latest", "branch": "main", "autobuild": True},
    {"tag": "edge", "branch": "main", "autobuild": False},
    {"tag": "staging", "branch": "staging", "autobuild": True},
]


@pytest.fixture
def hooked(api, git_server, builds_env):
    git_server.push_app("acme", "hello")
    name = register(api, "hooked", rows=ROWS)
    hook = api.get(f"/api/v1/hooks/github/{name}/").json()
    return name, hook


def deliver(hook: dict, payload: dict, *, secret: str | None = None, event: str = "push"):
    body = json.dumps(payload).encode()
    key = (secret if secret is not None else hook["secret"]).encode()
    signature = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    return Client().post(
        urlsplit(hook["url"]).path,
        body,
        content_type="application/json",
        headers={"X-GitHub-Event": event, "X-Hub-Signature-256": signature},
    )


def push_to(branch: str) -> dict:
    return {
        "ref": f"refs/heads/{branch}",
        "after": "0" * 40,
        "repository": {"full_name": "acme/hello"},
    }


def test_the_owner_sees_the_webhook_url_and_secret(hooked, bob):
    name, hook = hooked

    assert hook["url"].endswith(f"/api/v1/hooks/github/{name}/")
    assert len(hook["secret"]) >= 32
    assert hook["events"] == ["push"]
    assert ApiClient(bob.basic()).get(f"/api/v1/hooks/github/{name}/").status_code == 404
    assert hook["secret"] not in Image.objects.get(name=name).webhook_secret_encrypted


def test_a_signed_push_builds_the_autobuild_settings_of_that_branch(hooked):
    name, hook = hooked

    response = deliver(hook, push_to("main"))

    assert response.status_code == 202, response.content
    assert response.json()["built"] == [f"/api/v1/image/{name}/tag/latest/"]
    build = Build.objects.get(tag__image__name=name)
    assert build.tag.name == "latest"
    assert build.trigger == "WEBHOOK"
    assert build.triggered_by.username == "alice"


def test_a_wrong_signature_is_401_and_builds_nothing(hooked):
    _, hook = hooked

    response = deliver(hook, push_to("main"), secret="not-the-secret")

    assert response.status_code == 401
    assert "X-Hub-Signature-256" in response.json()["error"]
    assert not Build.objects.exists()


def test_an_unsigned_push_is_401(hooked):
    _, hook = hooked
    path = urlsplit(hook["url"]).path

    response = Client().post(path, json.dumps(push_to("main")), content_type="application/json")

    assert response.status_code == 401


def test_an_unknown_image_answers_like_a_wrong_signature(hooked):
    _, hook = hooked
    hook = {**hook, "url": hook["url"].replace("/hooked/", "/nothing-here/")}

    assert deliver(hook, push_to("main")).status_code == 401


def test_a_push_to_a_branch_without_autobuild_is_202_with_nothing_built(hooked):
    _, hook = hooked

    response = deliver(hook, push_to("feature/x"))

    assert response.status_code == 202
    assert response.json()["built"] == []
    assert "nothing to build" in response.json()["message"]
    assert not Build.objects.exists()


def test_tag_pushes_and_pings_build_nothing(hooked):
    _, hook = hooked

    assert deliver(hook, {"ref": "refs/tags/v1"}).json()["built"] == []
    assert deliver(hook, {"zen": "hi"}, event="ping").json() == {"ok": "pong"}
    assert not Build.objects.exists()


def test_a_second_push_while_building_is_reported_as_skipped(hooked):
    name, hook = hooked
    deliver(hook, push_to("main"))

    again = deliver(hook, push_to("main"))

    assert again.status_code == 202
    assert "already building" in again.json()["skipped"]["latest"]
    assert Build.objects.filter(tag__image__name=name).count() == 1


def test_the_webhook_url_answers_a_verb_it_does_not_take_with_405_without_credentials(
    alice, make_image
):
    image = make_image(alice, "hooked")
    url = f"/api/v1/hooks/github/{image.name}/"

    refused = Client().put(url, "{}", content_type="application/json")
    options = Client().options(url)

    assert refused.status_code == 405
    assert set(refused["Allow"].replace(" ", "").split(",")) == {"GET", "POST", "OPTIONS"}
    assert options.status_code == 200
