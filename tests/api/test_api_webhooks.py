"""Webhooks through the API: who may see and change them, what a saved URL may point at, and
how a delivery goes (signed, retried as the schedule says, never retried when the answer will
not change, paused when it keeps failing), with a receiver started here and the queue run here
on a clock the test moves."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from records.models import AuditEvent, Webhook, WebhookDelivery
from tests.fixtures.api import ApiClient
from tests.fixtures.webhooks import run_queued_deliveries
from webhooks import delivery as webhook_delivery
from webhooks import events

pytestmark = pytest.mark.django_db


def add(api: ApiClient, url: str, **fields):
    """POST a webhook for alice's namespace with every event; a field given as None is left
    out."""
    body = {"namespace": "alice", "url": url, "events": list(events.EVENTS), **fields}
    return api.post("/api/v1/webhook/", {k: v for k, v in body.items() if v is not None})


def added(api: ApiClient, url: str, **fields) -> dict:
    response = add(api, url, **fields)
    assert response.status_code == 201, response.content
    return response.json()


def log_of(api: ApiClient, hook: dict) -> list[dict]:
    return api.get(f"{hook['resource_uri']}delivery/").json()["objects"]


def test_a_delivery_is_signed_so_the_standardwebhooks_library_verifies_it(
    api, receiver, make_image, alice
):
    hook = added(api, receiver.url)
    image = make_image(alice, "app")

    events.emit("tag.pushed", image, tag="v1", digest="sha256:" + "a" * 64, actor="alice")
    run_queued_deliveries()

    [call] = receiver.received
    body = json.loads(
        Verifier(hook["secret"]).verify(call.body, call.headers, json_parse=False) or call.body
    )
    assert body["type"] == "tag.pushed"
    assert body["data"]["tag"]["digest"] == "sha256:" + "a" * 64
    assert body["data"]["tag"]["pull"] == f"{image.name}@sha256:{'a' * 64}"
    assert body["data"]["image"]["resource_uri"] == f"/api/v1/image/{image.name}/"
    assert body["data"]["actor"] == {"name": "alice", "kind": "person"}
    changed = call.body.replace(b'"v1"', b'"v2"')
    with pytest.raises(WebhookVerificationError):
        Verifier(hook["secret"]).verify(changed, call.headers)
    with pytest.raises(WebhookVerificationError):
        Verifier("whsec_" + "A" * 43 + "=").verify(call.body, call.headers)


def test_the_secret_is_shown_once_and_a_new_one_signs_beside_the_old_for_a_day(
    api, receiver, make_image, alice
):
    hook = added(api, receiver.url)
    assert "secret" not in api.get(hook["resource_uri"]).json()
    assert "secret" not in json.dumps(api.get("/api/v1/webhook/").json())

    rotated = api.post(f"{hook['resource_uri']}secret/").json()
    events.emit("image.registered", make_image(alice, "app"), actor="alice")
    run_queued_deliveries()

    [call] = receiver.received
    Verifier(rotated["secret"]).verify(call.body, call.headers)
    Verifier(hook["secret"]).verify(call.body, call.headers)
    assert AuditEvent.objects.filter(action="webhook.secret").count() == 1


def test_a_receiver_failing_twice_gets_three_attempts_spaced_as_the_schedule_says(
    api, receiver, make_image, alice
):
    hook = added(api, receiver.url)
    receiver.answer(500, 500, 200)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        events.emit("tag.pushed", make_image(alice, "app"), tag="v1", digest="sha256:" + "b" * 64)
        run_queued_deliveries()
        assert len(receiver.received) == 1
        clock.shift(webhook_delivery.SCHEDULE[0] - timedelta(seconds=1))
        run_queued_deliveries()
        assert len(receiver.received) == 1  # not due yet
        clock.shift(timedelta(seconds=1))
        run_queued_deliveries()
        assert len(receiver.received) == 2
        clock.shift(webhook_delivery.SCHEDULE[1])
        run_queued_deliveries()

    assert len(receiver.received) == 3
    ids = {call.headers["webhook-id"] for call in receiver.received}
    assert len(ids) == 1  # the same message each time
    [delivery] = log_of(api, hook)
    assert delivery["state"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
    started = [WebhookDelivery.objects.get().attempts.get(number=n).started for n in (1, 2, 3)]
    assert started[1] - started[0] == webhook_delivery.SCHEDULE[0]
    assert started[2] - started[1] == webhook_delivery.SCHEDULE[1]
    assert "500 Internal Server Error" in delivery["attempts"][0]["error"]


def test_a_404_is_tried_once_and_says_to_check_the_url(api, receiver, make_image, alice):
    hook = added(api, receiver.url)
    receiver.answer((404, {}, b"no such hook"))

    events.emit("tag.deleted", make_image(alice, "app"), tag="v1")
    run_queued_deliveries()
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        run_queued_deliveries()

    assert len(receiver.received) == 1
    [delivery] = log_of(api, hook)
    assert delivery["state"] == "failed"
    assert delivery["outcome"] == "The server answered 404 Not Found: check the URL."
    assert delivery["attempts"][0]["response_excerpt"] == "no such hook"


def test_a_429_waits_as_long_as_retry_after_asks(api, receiver, make_image, alice):
    added(api, receiver.url)
    receiver.answer((429, {"Retry-After": "120"}, b""), 200)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        events.emit("tag.deleted", make_image(alice, "app"), tag="v1")
        run_queued_deliveries()
        clock.shift(timedelta(seconds=119))
        run_queued_deliveries()
        assert len(receiver.received) == 1
        clock.shift(timedelta(seconds=1))
        run_queued_deliveries()

    assert len(receiver.received) == 2
    assert WebhookDelivery.objects.get().state == "delivered"


def test_a_receiver_that_never_answers_times_out_and_is_tried_again_later(
    api, receiver, make_image, alice, settings
):
    settings.WEBHOOK_TIMEOUT = 1
    hook = added(api, receiver.url)
    receiver.answer(None)

    events.emit("tag.deleted", make_image(alice, "app"), tag="v1")
    run_queued_deliveries()

    [delivery] = log_of(api, hook)
    assert delivery["state"] == "pending"
    assert delivery["attempts"][0]["error"] == "The server did not answer within 1 seconds."
    assert delivery["attempts"][0]["status_code"] is None
    assert delivery["next_attempt"] is not None


def test_the_request_that_caused_an_event_sends_nothing_itself(api, receiver, alice, settings):
    hook = added(api, receiver.url, events=["image.registered"])
    receiver.answer(None)  # were it sent in the request, the request would hang

    response = api.post("/api/v1/image/", {"name": f"{settings.REGISTRY_HOST}/alice/new"})

    assert response.status_code == 201, response.content
    assert receiver.received == []
    [delivery] = log_of(api, hook)
    assert (delivery["event"], delivery["state"], delivery["attempts_made"]) == (
        "image.registered",
        "pending",
        0,
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://10.0.0.8/hook",
    ],
)
def test_a_url_on_loopback_link_local_or_a_private_network_is_refused_when_saved(api, url):
    response = add(api, url)

    assert response.status_code == 400
    [sentence] = response.json()["fields"]["url"]
    assert "not send requests to" in sentence
    assert not Webhook.objects.exists()


def test_our_own_api_is_refused_even_when_its_host_is_allowed(api, settings, live_server):
    host = live_server.url.split("//")[1]
    settings.API_PUBLIC_URL = live_server.url
    settings.OUTBOUND_ALLOW = []

    response = add(api, f"{live_server.url}/api/v1/image/")

    assert response.status_code == 400
    assert "this server itself" in response.json()["fields"]["url"][0]
    assert host


def test_a_url_allowed_when_saved_but_not_any_more_is_refused_at_delivery(
    api, receiver, make_image, alice, settings
):
    hook = added(api, receiver.url)
    settings.OUTBOUND_ALLOW = []

    events.emit("tag.deleted", make_image(alice, "app"), tag="v1")
    run_queued_deliveries()

    assert receiver.received == []
    [delivery] = log_of(api, hook)
    assert delivery["state"] == "failed"  # no retry will pass the policy
    assert "does not send requests to" in delivery["outcome"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["tag.exploded"]}, "events"),
        ({"events": []}, "events"),
        ({"url": "ftp://example.com/"}, "url"),
        ({"tag_pattern": "v 1"}, "tag_pattern"),
        ({"format": "xml"}, "format"),
        ({"colour": "red"}, "colour"),
        ({"namespace": None}, "namespace"),
        ({"namespace": "alice", "image": "127.0.0.1:5000/alice/app"}, "namespace"),
    ],
)
def test_bad_fields_are_a_400_naming_the_field(api, receiver, body, field):
    response = add(api, **{"url": receiver.url, **body})

    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]


def test_a_writer_gets_a_403_for_a_team_webhook_and_an_outsider_a_404(
    receiver, make_account, make_team
):
    owner, writer, outsider = (make_account(n) for n in ("olga", "wes", "otto"))
    make_team("web", olga="Owner", wes="Writer")
    hook = added(ApiClient(owner.basic()), receiver.url, namespace="web")
    uri = hook["resource_uri"]

    for who, status in ((writer, 403), (outsider, 404)):
        client = ApiClient(who.basic())
        assert client.get(uri).status_code == status
        assert client.patch(uri, {"enabled": False}).status_code == status
        assert client.delete(uri).status_code == status
        assert client.get(f"{uri}delivery/").status_code == status
        assert client.post(f"{uri}test/").status_code == status
        assert client.get("/api/v1/webhook/").json()["objects"] == []
    assert add(ApiClient(writer.basic()), receiver.url, namespace="web").status_code == 403
    assert add(ApiClient(outsider.basic()), receiver.url, namespace="web").status_code == 404
    assert Webhook.objects.get().enabled


def test_an_image_webhook_hears_only_its_image_and_a_tag_pattern_only_its_tags(
    api, receiver, make_image, alice
):
    app, other = make_image(alice, "app"), make_image(alice, "other")
    added(api, receiver.url, namespace=None, image=app.name, tag_pattern="v*")

    events.emit("tag.pushed", app, tag="v1", digest="sha256:" + "1" * 64)
    events.emit("tag.pushed", app, tag="latest", digest="sha256:" + "2" * 64)
    events.emit("tag.pushed", other, tag="v1", digest="sha256:" + "3" * 64)
    events.emit("image.deleted", app)
    run_queued_deliveries()

    sent = [json.loads(call.body) for call in receiver.received]
    assert sorted((b["type"], b["data"].get("tag", {}).get("name")) for b in sent) == [
        ("image.deleted", None),
        ("tag.pushed", "v1"),
    ]


def test_one_occurrence_is_one_delivery_even_when_emitted_again(api, receiver, make_image, alice):
    hook = added(api, receiver.url)
    image = make_image(alice, "app")

    events.emit("tag.deleted", image, key="entry-7", tag="v1")
    events.emit("tag.deleted", image, key="entry-7", tag="v1")
    run_queued_deliveries()

    assert len(receiver.received) == 1
    assert len(log_of(api, hook)) == 1


def test_a_chat_webhook_gets_one_line_of_text_with_a_link(api, receiver, make_image, alice):
    added(api, receiver.url, format="slack")
    image = make_image(alice, "app")

    events.emit("tag.pushed", image, tag="v1", digest="sha256:" + "c" * 64, actor="alice")
    run_queued_deliveries()

    body = json.loads(receiver.received[0].body)
    assert list(body) == ["text"]
    assert body["text"].startswith(f"alice pushed {image.name}:v1 (sha256:cccccccccccc)")
    assert body["text"].endswith(f"/images/{image.name}/-/tags/v1/|open>")


def test_a_test_event_and_send_again_reach_the_receiver_with_the_same_message_id(api, receiver):
    hook = added(api, receiver.url)

    assert api.post(f"{hook['resource_uri']}test/").status_code == 202
    run_queued_deliveries()
    [delivery] = log_of(api, hook)
    sent_again = api.post(f"{delivery['resource_uri']}send-again/")
    run_queued_deliveries()

    assert sent_again.status_code == 202
    first, second = receiver.received
    assert json.loads(first.body)["type"] == "webhook.test"
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    [delivery] = log_of(api, hook)
    assert [a["by_hand"] for a in delivery["attempts"]] == [False, True]


def test_a_webhook_failing_five_deliveries_in_a_row_is_paused_with_the_reason(
    api, receiver, make_image, alice
):
    hook = added(api, receiver.url)
    receiver.answer(404)
    image = make_image(alice, "app")

    for n in range(6):
        events.emit("tag.deleted", image, tag=f"t{n}")
        run_queued_deliveries()

    shown = api.get(hook["resource_uri"]).json()
    assert shown["paused"] is True and shown["enabled"] is False
    assert "404 Not Found: check the URL" in shown["paused_reason"]
    assert len(receiver.received) == 5  # the sixth event was not sent
    assert AuditEvent.objects.filter(action="webhook.pause").count() == 1
    resumed = api.patch(hook["resource_uri"], {"enabled": True}).json()
    assert (resumed["paused"], resumed["paused_reason"]) == (False, "")


def test_a_lost_attempt_is_queued_again_by_housekeeping_and_made_once(
    api, receiver, make_image, alice
):
    added(api, receiver.url)
    events.emit("tag.deleted", make_image(alice, "app"), tag="v1")
    # A worker took it and stopped: the attempt was counted, never made.
    WebhookDelivery.objects.update(
        attempts_made=0, next_attempt=timezone.now() - timedelta(minutes=11)
    )
    assert webhook_delivery.resume_lost() == 1

    run_queued_deliveries()

    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.get().state == "delivered"


def test_a_paused_team_webhook_emails_each_owner_the_reason_with_a_link(
    receiver, make_account, make_team, make_image, mailbox, settings
):
    settings.WEBHOOK_PAUSE_AFTER = 2
    owners = [make_account(n) for n in ("olga", "oscar")]
    make_account("wes")
    for account in [*owners, "wes"]:
        name = getattr(account, "username", account)
        get_user_model().objects.filter(username=name).update(email=f"{name}@example.test")
    team = make_team("web", olga="Owner", oscar="Owner", wes="Writer")
    hook = added(ApiClient(owners[0].basic()), receiver.url, namespace="web")
    receiver.answer(410)

    for n in range(2):
        events.emit("tag.deleted", make_image(team, f"app{n}"), tag="v1")
        run_queued_deliveries()

    for owner in owners:
        [message] = mailbox.wait_for(f"{owner.username}@example.test")
        body = message.get_body(("plain",)).get_content()
        assert receiver.url in body
        assert "410 Gone: the receiver is gone" in body
        links = re.findall(r"https?://\S+", body)
        assert any(link.endswith(f"/{hook['uuid']}/") for link in links), links
    assert mailbox.to("wes@example.test") == []


def test_attempts_and_overdue_deliveries_show_in_the_metrics(
    api, receiver, make_image, alice, scrape
):
    added(api, receiver.url)
    receiver.answer(503, 200)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        events.emit("tag.deleted", make_image(alice, "app"), tag="v1")
        run_queued_deliveries()
        clock.shift(webhook_delivery.SCHEDULE[0] + timedelta(seconds=60))
        # The retry was due a minute ago and no worker took it.
        late = scrape()
        run_queued_deliveries()
    done = scrape()

    assert late.value("tutumweb_webhook_deliveries_pending") == 1
    assert late.value("tutumweb_webhook_deliveries_overdue_seconds") == 60
    assert done.value("tutumweb_webhook_deliveries_pending") == 0
    assert done.value("tutumweb_webhook_deliveries_overdue_seconds") == 0
    assert done.value("tutumweb_webhook_attempts_total", outcome="failed") == 1
    assert done.value("tutumweb_webhook_attempts_total", outcome="delivered") == 1
