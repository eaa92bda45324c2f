"""The notification sink: authenticated, strict about what it is sent, idempotent, and never
losing a push it could not read back (the registry sends again what is not taken)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.conf import settings
from django.test import Client

from records.models import AuditEvent, Image, Tag, UntaggedManifest
from registry import client as oci
from tests.fixtures.our_registry import digest_served, wait_for_tag

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


@pytest.mark.parametrize(
    ("events", "named"),
    [
        (["not an object"], "events[0] is not an object"),
        ([{"action": "push", "target": "str"}], "events[0].target is not an object"),
        ([{}, {"target": {"repository": 1}}], "events[1].target.repository is not a string"),
        ([{"action": ["push"]}], "events[0].action is not a string"),
        ([{"target": {"repository": "a/b"}, "actor": {"name": None}}], "actor.name"),
    ],
)
def test_a_malformed_event_is_a_400_that_says_what_is_wrong(events, named):
    response = post_events({"events": events})

    assert response.status_code == 400
    assert named in response.json()["error"]
    assert Image.objects.count() == 0


def test_events_we_do_not_track_are_accepted_and_ignored():
    events = [
        {"action": "pull", "target": {"repository": "a/b"}},
        {
            "action": "push",
            "target": {"repository": "a/b", "mediaType": "application/octet-stream"},
        },
        {"action": "push", "target": {}},
        {"action": "mount", "target": {"repository": "a/b", "size": 3}, "source": {"addr": "x"}},
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
def test_a_push_is_counted_once_however_often_its_notification_arrives(push_image, alice, scrape):
    pushed = push_image(alice, "counted")
    # The registry's own notification is counted in the transaction that audits it.
    audited = AuditEvent.objects.filter(action="tag.push", target=f"{pushed.name}:{pushed.tag}")
    deadline = time.monotonic() + 30
    while not audited.exists():
        assert time.monotonic() < deadline, "the push was never audited"
        time.sleep(0.1)
    before = scrape().value("tutumweb_registry_pushes_total")

    post_events({"events": [push_event(pushed), push_event(pushed)]})
    post_events({"events": [push_event(pushed)]})

    assert before >= 1
    assert scrape().value("tutumweb_registry_pushes_total") == before + 1


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


class FailingManifestReads:
    """A proxy in front of our registry answering 500 to the first `failures` manifest GETs,
    as the registry itself may while the same manifest is put under two tags at once."""

    def __init__(self, upstream: str, failures: int):
        self.failed = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if "/manifests/" in self.path and proxy.failed < failures:
                    proxy.failed += 1
                    self._answer(500, b'{"errors": [{"code": "UNKNOWN", "message": "busy"}]}', {})
                    return
                self._forward()

            do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = lambda self: self._forward()

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                response = requests.request(
                    self.command,
                    upstream + self.path,
                    headers=headers,
                    data=self.rfile.read(length) if length else None,
                    allow_redirects=False,
                    timeout=30,
                )
                self._answer(response.status_code, response.content, response.headers)

            def _answer(self, code: int, body: bytes, headers) -> None:
                self.send_response(code)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def read_through_the_registry(settings, tmp_path) -> None:
    """As when the registry runs on another machine: no storage to read here, so manifests
    and configs are read through its API (and the proxy)."""
    settings.REGISTRY_CONFIG = tmp_path / "elsewhere" / "config.yml"


@pytest.mark.registry
def test_a_push_whose_manifest_read_fails_at_first_is_recorded_when_the_registry_retries(
    push_image, alice, our_registry, buildah, settings, tmp_path
):
    push_image(alice, "flaky", tag="first")
    proxy = FailingManifestReads(our_registry.url, failures=2)
    # Only the API's reads go through the proxy; buildah pushes to the registry itself.
    settings.REGISTRY_URL = proxy.url
    read_through_the_registry(settings, tmp_path)
    try:
        ref = buildah.make_image("localhost/flaky:2", files={"/flaky": b"2"})
        name = f"{our_registry.host}/alice/flaky"
        digest = buildah.push(ref, f"{name}:second", f"alice:{alice.key}")

        assert wait_for_tag(name, "second", digest, seconds=20).state == "Success"
    finally:
        proxy.stop()
    assert proxy.failed == 2


@pytest.mark.registry
def test_a_push_event_whose_manifest_cannot_be_read_is_a_503_for_the_registry_to_retry(
    push_image, alice, our_registry, settings, tmp_path
):
    pushed = push_image(alice, "unread")
    Tag.objects.all().delete()
    proxy = FailingManifestReads(our_registry.url, failures=1)
    settings.REGISTRY_URL = proxy.url
    read_through_the_registry(settings, tmp_path)
    try:
        first = post_events({"events": [push_event(pushed)]})
        second = post_events({"events": [push_event(pushed)]})
    finally:
        proxy.stop()

    assert first.status_code == 503
    assert "error" in first.json()
    assert second.status_code == 200
    assert Tag.objects.get(image__name=pushed.name).digest == pushed.digest


def pull_event(repository: str, digest: str, tag: str = "", event_id: str = "p1") -> dict:
    target = {"mediaType": oci.OCI_MANIFEST, "repository": repository, "digest": digest}
    return {
        "id": event_id,
        "action": "pull",
        "target": {**target, **({"tag": tag} if tag else {})},
        "actor": {"name": "alice"},
    }


def test_a_pull_by_digest_of_an_untagged_manifest_is_noted_at_most_once_a_minute(make_image, alice):
    image = make_image(alice, "pinned")
    repository = image.name.removeprefix(f"{settings.REGISTRY_HOST}/")
    old = UntaggedManifest.objects.create(image=image, digest="sha256:old", last_tag="latest")
    other = UntaggedManifest.objects.create(image=image, digest="sha256:other")

    assert post_events({"events": [pull_event(repository, "sha256:old")]}).status_code == 200
    first = UntaggedManifest.objects.get(pk=old.pk).last_pulled
    post_events({"events": [pull_event(repository, "sha256:old", event_id="p2")]})
    # By tag, the pull is the tag's (no untagged manifest has a tag).
    post_events({"events": [pull_event(repository, "sha256:other", tag="latest")]})

    assert first is not None
    assert UntaggedManifest.objects.get(pk=old.pk).last_pulled == first
    assert UntaggedManifest.objects.get(pk=other.pk).last_pulled is None
