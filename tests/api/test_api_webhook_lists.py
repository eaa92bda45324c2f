"""Listing webhooks by namespace or image answers as each webhook does (a Writer is told why
not, an outsider sees nothing), and the events a webhook may choose come with their words."""

from __future__ import annotations

import pytest

from api.core.shapes import mismatches
from api.webhooks.shapes import EventSerializer, event_json
from tests.fixtures.api import ApiClient
from webhooks.events import EVENTS

pytestmark = pytest.mark.django_db

HOOK = {"url": "http://127.0.0.1:9/in", "events": ["tag.pushed"]}


@pytest.fixture
def web_team(make_team, make_account, alice, bob):
    make_account("carol")
    return make_team("web", alice="Owner", bob="Writer")


def add_webhook(client: ApiClient, **target) -> dict:
    created = client.post("/api/v1/webhook/", {**HOOK, **target})
    assert created.status_code == 201, created.json()
    return created.json()


@pytest.fixture(autouse=True)
def receivers_on_this_machine_allowed(settings):
    """The outbound policy refuses loopback unless allowed: the receiver's host is."""
    settings.OUTBOUND_ALLOW = ["127.0.0.1"]


def test_owners_list_a_teams_webhooks_by_namespace(web_team, alice):
    owner = ApiClient(alice.basic())
    made = add_webhook(owner, namespace="web")

    listed = owner.get("/api/v1/webhook/", {"namespace": "web"})

    assert listed.status_code == 200
    assert [w["uuid"] for w in listed.json()["objects"]] == [made["uuid"]]


def test_a_writer_listing_a_teams_webhooks_is_told_only_owners_may(web_team, alice, bob):
    add_webhook(ApiClient(alice.basic()), namespace="web")

    listed = ApiClient(bob.basic()).get("/api/v1/webhook/", {"namespace": "web"})

    assert listed.status_code == 403
    assert "only its Owners see and change its webhooks" in listed.json()["error"]


def test_an_outsider_listing_a_teams_webhooks_finds_no_such_namespace(web_team, make_account):
    outsider = make_account("dave")

    listed = ApiClient(outsider.basic()).get("/api/v1/webhook/", {"namespace": "web"})

    assert listed.status_code == 404


def test_a_writer_listing_an_images_webhooks_is_refused_and_an_outsider_finds_no_image(
    web_team, alice, bob, make_account, make_image
):
    image = make_image(web_team, "site")
    add_webhook(ApiClient(alice.basic()), image=image.name)
    outsider = make_account("dave")

    as_writer = ApiClient(bob.basic()).get("/api/v1/webhook/", {"image": image.name})
    as_outsider = ApiClient(outsider.basic()).get("/api/v1/webhook/", {"image": image.name})
    as_owner = ApiClient(alice.basic()).get("/api/v1/webhook/", {"image": image.name})

    assert as_writer.status_code == 403
    assert as_outsider.status_code == 404
    assert [w["image"] for w in as_owner.json()["objects"]] == [image.name]


def test_the_events_a_webhook_may_choose_are_listed_with_their_words(alice):
    listed = ApiClient(alice.basic()).get("/api/v1/webhook-event/")

    assert listed.status_code == 200
    objects = listed.json()["objects"]
    assert [(e["name"], e["label"]) for e in objects] == list(EVENTS.items())
    assert listed.json()["meta"]["total_count"] == len(EVENTS)
    assert mismatches(EventSerializer(), event_json("tag.pushed", "A tag is pushed")) == []
