"""What a team's webhook hears from real work: a buildah push, a build by a real worker, a tag
deleted and restored, each exactly one delivery with its event and digest, signed so that the
standardwebhooks library verifies it with the secret shown once."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.conf import settings
from standardwebhooks.webhooks import Webhook as Verifier

from records.models import BinEntry, Tag
from tests.fixtures.api import ApiClient
from tests.fixtures.builds import wait_for_build
from tests.fixtures.webhooks import run_queued_deliveries
from webhooks import events

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]


def heard(receiver, secret: str) -> list[dict]:
    """Every delivery the receiver got so far, verified."""
    run_queued_deliveries()
    return [Verifier(secret).verify(call.body, call.headers) for call in receiver.received]


def only(bodies: list[dict], event: str, tag: str | None = None) -> dict:
    found = [
        b for b in bodies if b["type"] == event and (tag is None or b["data"]["tag"]["name"] == tag)
    ]
    assert len(found) == 1, (event, tag, [b["type"] for b in bodies])
    return found[0]


def test_a_push_a_build_a_delete_and_a_restore_are_one_delivery_each(
    receiver, alice, push_image, git_server, build_worker
):
    api = ApiClient(alice.basic())
    hook = api.post(
        "/api/v1/webhook/",
        {"namespace": "alice", "url": receiver.url, "events": list(events.EVENTS)},
    ).json()
    secret = hook["secret"]

    # A push with buildah: the image appears, its tag is pushed.
    pushed = push_image(alice, "hooked", tag="v1")
    bodies = heard(receiver, secret)
    assert only(bodies, "image.registered")["data"]["image"]["name"] == pushed.name
    push = only(bodies, "tag.pushed", "v1")["data"]
    assert push["tag"]["digest"] == pushed.digest
    assert push["tag"]["pull"] == f"{pushed.name}@{pushed.digest}"
    assert push["actor"] == {"name": "alice", "kind": "person"}

    # A build by a real worker: started, the tag pushed once (by the build and the registry's
    # event both), succeeded with the same digest.
    git_server.push_app("acme", "hello")
    name = f"{settings.REGISTRY_HOST}/alice/built"
    registered = api.post(
        "/api/v1/image/",
        {
            "name": name,
            "build_source": {
                "owner": "acme",
                "repository": "hello",
                "build_settings": [{"tag": "latest", "branch": "main", "dockerfile": "/"}],
            },
        },
    )
    assert registered.status_code == 201, registered.content
    started = api.post(f"/api/v1/image/{name}/tag/latest/build/")
    done = wait_for_build(started["Location"].split("/")[-2])
    assert done.state == "Success", done.log
    push_image(alice, "built", tag="settle")  # every event of the build's push has come
    bodies = heard(receiver, secret)
    only(bodies, "build.started")
    succeeded = only(bodies, "build.succeeded")["data"]
    built = only(bodies, "tag.pushed", "latest")["data"]
    assert succeeded["tag"]["digest"] == built["tag"]["digest"] == done.digest
    assert succeeded["build"]["state"] == "Success"
    assert succeeded["build"]["commit"] == done.commit_sha
    assert succeeded["build"]["log_url"].endswith("/-/tags/latest/#build-log")

    # Deleted to the recycle bin, then restored.
    assert api.delete(f"/api/v1/image/{pushed.name}/tag/v1/").status_code == 204
    entry = BinEntry.objects.get(image_name=pushed.name, tag_name="v1")
    restored = api.post(f"/api/v1/deleted/{entry.pk}/restore/")
    assert restored.status_code == 200, restored.content
    push_image(alice, "hooked", tag="settle")
    bodies = heard(receiver, secret)
    assert only(bodies, "tag.deleted", "v1")["data"]["tag"]["digest"] == pushed.digest
    assert only(bodies, "tag.restored", "v1")["data"]["tag"]["digest"] == pushed.digest
    assert Tag.objects.get(image__name=pushed.name, name="v1").digest == pushed.digest

    # Nothing twice: the registry's events for the bin's own moves tell nobody.
    counted = Counter(
        (b["type"], b["data"]["image"]["name"], (b["data"].get("tag") or {}).get("name"))
        for b in bodies
    )
    assert max(counted.values()) == 1, counted
    assert json.loads(receiver.received[0].body)["type"] in events.EVENTS


def test_an_image_webhook_hears_its_image_deleted_waits_in_the_bin_and_goes_with_a_purge(
    receiver, alice, push_image
):
    api = ApiClient(alice.basic())
    pushed = push_image(alice, "binned", tag="v1")
    hook = api.post(
        "/api/v1/webhook/",
        {"image": pushed.name, "url": receiver.url, "events": ["image.deleted", "tag.pushed"]},
    ).json()

    assert api.delete(f"/api/v1/image/{pushed.name}/").status_code == 204
    [deleted] = heard(receiver, hook["secret"])
    assert (deleted["type"], deleted["data"]["tags"]) == ("image.deleted", ["v1"])
    assert api.get(hook["resource_uri"]).status_code == 200  # kept while it can come back

    entry = BinEntry.objects.get(image_name=pushed.name, kind="image")
    assert api.delete(f"/api/v1/deleted/{entry.pk}/").status_code == 204

    assert api.get(hook["resource_uri"]).status_code == 404
