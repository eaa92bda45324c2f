"""The notification sink: authenticated, tolerant of bad events, idempotent; a delete is
a hint to read the repository again, never a deletion of what the registry still serves."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client

from records.models import Image, Tag
from registry import client as oci
from tests.fixtures_our_registry import digest_served

pytestmark = pytest.mark.django_db(transaction=True)
EVENTS = "application/vnd.docker.distribution.events.v1+json"


def post_events(body, secret: str | None = None, content_type: str = EVENTS):
    secret = settings.REGISTRY_NOTIFICATION_SECRET if secret is None else secret
    return Client().post(
        "/api/v1/registry-events/",
        body if isinstance(body, str) else json.dumps(body),
        content_type=content_type,
        headers={"Authorization": f"Bearer {secret}"},
    )


def push_event(pushed, action: str = "push") -> dict:
    return {
        "id": "e1",
        "action": action,
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "repository": pushed.repository,
            "digest": pushed.digest,
            "tag": pushed.tag,
            "url": f"http://x/v2/{pushed.repository}/manifests/{pushed.digest}",
        },
        "actor": {"name": pushed.repository.split("/")[0]},
    }


@pytest.mark.parametrize("secret", ["wrong", ""])
def test_a_wrong_or_missing_secret_is_a_401(secret):
    assert post_events({"events": []}, secret=secret).status_code == 401


@pytest.mark.parametrize("body", ["{not json", json.dumps({"events": "x"}), json.dumps([1])])
def test_a_malformed_body_is_a_400(body):
    response = post_events(body)

    assert response.status_code == 400
    assert "error" in response.json()


def test_events_we_do_not_track_are_accepted_and_ignored():
    events = [
        {"action": "pull", "target": {"repository": "a/b"}},
        {
            "action": "push",
            "target": {"repository": "a/b", "mediaType": "application/octet-stream"},
        },
        {"action": "push", "target": {}},
    ]

    response = post_events({"events": events})

    assert response.json() == {"accepted": 0}
    assert Image.objects.count() == 0


@pytest.mark.registry
def test_a_repeated_push_event_changes_nothing(push_image, alice):
    pushed = push_image(alice, "again")
    before = list(Tag.objects.values("id", "digest", "layer_id"))

    response = post_events(
        {"events": [push_event(pushed), push_event(pushed)]}, content_type="application/json"
    )

    assert response.status_code == 200
    assert list(Tag.objects.values("id", "digest", "layer_id")) == before


@pytest.mark.registry
def test_a_push_event_for_a_missed_tag_records_it(push_image, alice):
    pushed = push_image(alice, "missed")
    Tag.objects.all().delete()

    post_events({"events": [push_event(pushed)]})

    assert Tag.objects.get(image__name=pushed.name).digest == pushed.digest


@pytest.mark.registry
def test_a_delete_event_forgets_the_tags_of_a_manifest_the_registry_deleted(
    push_image, alice, our_registry
):
    pushed = push_image(alice, "gone")
    image = Image.objects.get(name=pushed.name)
    # As the API itself deletes (the registry's own event for it is the API's, so ignored).
    oci.client_for_image(image).delete_manifest(pushed.repository, pushed.digest)
    event = push_event(pushed, "delete")
    del event["target"]["tag"]

    response = post_events({"events": [event]})

    assert response.status_code == 200
    assert not Tag.objects.filter(image__name=pushed.name).exists()
    assert Image.objects.get(name=pushed.name).state == "Empty"


@pytest.mark.registry
@pytest.mark.parametrize("by", ["tag", "digest"])
def test_a_delete_event_for_a_tag_the_registry_still_serves_keeps_it(
    push_image, alice, our_registry, by
):
    pushed = push_image(alice, "served")
    event = push_event(pushed, "delete")
    del event["target"]["digest" if by == "tag" else "tag"]

    response = post_events({"events": [event]})

    assert response.status_code == 200
    assert digest_served(our_registry, pushed.repository, pushed.tag) == pushed.digest
    assert Tag.objects.get(image__name=pushed.name, name=pushed.tag).digest == pushed.digest
