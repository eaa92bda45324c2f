"""Webhook pages through images/services/ against a real API server: the lists, adding one (its
secret shown once), changing and removing it, its state, a test event and the delivery log
(delivered to a real receiver on this machine), sending again, and who may see them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook as Verifier

from records.models import Webhook, WebhookDelivery
from tests.admin.test_admin_pages import text
from tests.admin.test_admin_teams import browser_for
from tests.fixtures.webhooks import run_queued_deliveries
from webhooks.messages import admin_link

pytestmark = pytest.mark.django_db(transaction=True)
HTMX = {"HX-Request": "true"}
EVENTS = ["tag.pushed", "build.failed"]


def add(browser, url: str, path: str = "/webhooks/alice/new/", **fields):
    form = {"url": url, "events": EVENTS, "format": "standard", "enabled": "on", **fields}
    return browser.post(path, form)


def words(response) -> str:
    """The page's text without its tags."""
    return re.sub(r"<[^>]+>", "", text(response))


def secret_on(page: str) -> str:
    return re.search(r'data-copy="(whsec_[^"]+)"', page).group(1)


def test_the_form_offers_every_event_in_words_grouped_by_what_it_is_about(signed_in):
    page = text(signed_in.get("/webhooks/alice/new/"))

    assert "<legend>Tags</legend>" in page and "<legend>Builds</legend>" in page
    assert "A tag is pushed (by anyone, or by a build)" in page
    assert 'value="cleanup.ran"' in page
    assert "Events about no tag (an image deleted, a cleanup) always go." in page
    assert "Chat (Slack, Mattermost, Rocket.Chat)" in page


def test_adding_a_webhook_shows_its_secret_once(signed_in, receiver):
    added = add(signed_in, receiver.url, tag_pattern="v*", description="Deploys")

    page = text(added)
    webhook = Webhook.objects.get()
    assert added.status_code == 200 and added["Cache-Control"] == "no-store"
    assert "you will not see it again" in page
    assert secret_on(page) == webhook.secret
    assert 'Webhook(os.environ["WEBHOOK_SECRET"]).verify(body, headers)' in page
    assert (webhook.namespace, webhook.events, webhook.tag_pattern) == ("alice", EVENTS, "v*")
    shown_again = text(signed_in.get(f"/webhooks/-/{webhook.uuid}/"))
    assert webhook.secret not in shown_again and "whsec_" not in shown_again
    listed = text(signed_in.get("/webhooks/alice/"))
    assert receiver.url in listed and "Every image" in listed and "Deploys" in listed


def test_a_loopback_url_gets_the_policys_sentence_on_the_url_field(signed_in):
    refused = add(signed_in, "http://127.0.0.1:9/hooks")

    page = text(refused)
    assert refused.status_code == 400
    field = page.split('for="id_url"')[1].split("</div>")[0]
    assert "is a loopback, link-local or private address" in field
    assert not Webhook.objects.exists()


def test_the_form_says_what_is_wrong_in_words_before_asking_the_api(signed_in):
    refused = signed_in.post(
        "/webhooks/alice/new/", {"url": "deploy.example.com", "tag_pattern": "v 1"}
    )

    page = text(refused)
    assert refused.status_code == 400
    assert "Use an http:// or https:// URL with a host name" in page
    assert "Choose at least one event." in page
    assert "Use a tag, or a pattern with * (any characters)" in page


def test_an_owner_changes_a_webhook_and_its_page_says_so(signed_in, receiver):
    add(signed_in, receiver.url)
    webhook = Webhook.objects.get()
    edit = f"/webhooks/-/{webhook.uuid}/edit/"

    form = text(signed_in.get(edit))
    saved = signed_in.post(
        edit,
        {"url": receiver.url, "events": ["tag.deleted"], "format": "slack", "tag_pattern": "rel-?"},
        follow=True,
    )

    assert 'value="tag.pushed" id="id_events_0" checked' in form
    page = text(saved)
    assert "Saved." in page
    assert "A tag is deleted (to the recycle bin)" in page
    assert "Only tags matching <code>rel-?</code>" in page
    assert "Chat (Slack, Mattermost, Rocket.Chat)" in page
    assert "Turned off: nothing is sent until you turn it on." in page  # "On" left unticked
    assert not Webhook.objects.get().enabled


def test_removing_a_webhook_asks_first_then_it_is_gone_with_its_log(signed_in, receiver):
    add(signed_in, receiver.url)
    webhook = Webhook.objects.get()
    path = f"/webhooks/-/{webhook.uuid}/remove/"

    asked = text(signed_in.get(path))
    assert "Remove the webhook to 127.0.0.1" in asked and Webhook.objects.exists()

    removed = signed_in.post(path, follow=True)

    assert removed.redirect_chain == [("/webhooks/alice/", 302)]
    assert f"The webhook to {receiver.host_port} is removed, with its log." in text(removed)
    assert "No webhooks yet." in text(removed)
    assert not Webhook.objects.exists()


def test_a_new_secret_is_asked_for_then_shown_once_and_the_old_one_still_signs_a_day(
    signed_in, receiver
):
    old = secret_on(text(add(signed_in, receiver.url)))
    webhook = Webhook.objects.get()
    path = f"/webhooks/-/{webhook.uuid}/secret/"

    asked = text(signed_in.get(path))
    made = signed_in.post(path)

    assert "The old one keeps signing beside it for 24 hours" in asked
    new = secret_on(text(made))
    assert new != old and new == Webhook.objects.get().secret
    assert made["Cache-Control"] == "no-store"
    assert "The old secret keeps signing beside the new one until" in text(made)


def test_a_test_event_is_delivered_signed_and_the_log_follows_it_until_it_is(signed_in, receiver):
    secret = secret_on(text(add(signed_in, receiver.url)))
    uuid = Webhook.objects.get().uuid

    sent = signed_in.post(f"/webhooks/-/{uuid}/test/", headers=HTMX)

    assert sent.status_code == 200
    assert 'hx-trigger="every 2s"' in text(sent)
    assert "Waiting to be sent: due" in text(sent) and "<code>webhook.test</code>" in text(sent)
    assert run_queued_deliveries() == 1
    done = signed_in.get(f"/webhooks/-/{uuid}/", headers=HTMX)
    assert done.status_code == 286  # htmx stops polling
    page = text(done)
    assert "hx-trigger" not in page
    assert "Delivered" in page and "200 OK" in page
    assert '<pre class="excerpt">ok</pre>' in page
    [arrived] = receiver.received
    message = Verifier(secret).verify(arrived.body, arrived.headers)
    assert message["type"] == "webhook.test"


def test_a_refused_delivery_says_why_and_send_again_tries_once_more(signed_in, receiver):
    receiver.answer((404, {}, b"no hook here"), (200, {}, b"ok now"))
    add(signed_in, receiver.url)
    uuid = Webhook.objects.get().uuid
    signed_in.post(f"/webhooks/-/{uuid}/test/")
    run_queued_deliveries()
    failed = text(signed_in.get(f"/webhooks/-/{uuid}/"))
    delivery = WebhookDelivery.objects.get()

    again = signed_in.post(f"/webhooks/-/{uuid}/deliveries/{delivery.pk}/send-again/", headers=HTMX)
    following = text(again)
    run_queued_deliveries()
    after = signed_in.get(again_url(following), headers=HTMX)

    assert "Failed" in failed and "404 Not Found" in failed
    assert "The server answered 404 Not Found: check the URL." in failed
    assert '<pre class="excerpt">no hook here</pre>' in failed
    assert "Sent again: waiting for its answer…" in following
    assert 'hx-trigger="every 2s"' in following
    assert after.status_code == 286
    assert "(sent again)" in text(after) and "200 OK" in text(after)
    assert "Sent again: waiting" not in text(after)
    assert len(receiver.received) == 2


def again_url(page: str) -> str:
    return re.search(r'hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")


def test_a_retry_says_when_it_is_tried_next(signed_in, receiver):
    receiver.answer((503, {}, b"busy"))
    add(signed_in, receiver.url)
    uuid = Webhook.objects.get().uuid
    signed_in.post(f"/webhooks/-/{uuid}/test/")
    run_queued_deliveries()

    shown = signed_in.get(f"/webhooks/-/{uuid}/")

    page = words(shown)
    assert 'hx-trigger="every 2s"' in text(shown)
    assert "Retrying" in page
    assert "Tried 1 time; the next try is in under a minute." in page
    assert "it failed on its side; it will be tried again." in page
    assert "Check again" in page  # without JavaScript


def test_a_retry_hours_away_is_followed_less_often(signed_in, receiver):
    add(signed_in, receiver.url)
    uuid = Webhook.objects.get().uuid
    signed_in.post(f"/webhooks/-/{uuid}/test/")
    WebhookDelivery.objects.update(next_attempt=timezone.now() + timedelta(hours=2))

    page = signed_in.get(f"/webhooks/-/{uuid}/", headers=HTMX)

    assert 'hx-trigger="every 30s"' in text(page)
    assert "Waiting to be sent: due in 1 hour." in words(page)


def test_a_paused_webhook_says_why_in_words_and_resumes(signed_in, receiver):
    add(signed_in, receiver.url)
    webhook = Webhook.objects.get()
    reason = "Paused after 5 deliveries in a row failed. The last: The server answered 404."
    Webhook.objects.update(enabled=False, paused_at=timezone.now(), paused_reason=reason)

    paused = text(signed_in.get(f"/webhooks/-/{webhook.uuid}/"))
    listed = text(signed_in.get("/webhooks/alice/"))
    resumed = signed_in.post(f"/webhooks/-/{webhook.uuid}/resume/", headers=HTMX)

    assert "Paused" in paused and reason in paused
    assert ">Resume</button>" in paused and "Send a test event" not in paused
    assert "Paused" in listed
    assert resumed.status_code == 286
    assert "Events are sent as they happen." in text(resumed)
    assert "Send a test event" in text(resumed)
    assert Webhook.objects.get().enabled and not Webhook.objects.get().paused_reason


def test_the_log_is_paged_25_deliveries_at_a_time(signed_in, receiver):
    add(signed_in, receiver.url)
    webhook = Webhook.objects.get()
    for n in range(30):
        WebhookDelivery.objects.create(
            webhook=webhook,
            message_id=f"msg_{n}",
            event="tag.pushed",
            event_key=f"tag.pushed {n}",
            payload={"data": {"image": {"name": "h/alice/app"}, "tag": {"name": f"v{n}"}}},
            state=WebhookDelivery.State.DELIVERED,
        )

    first = text(signed_in.get(f"/webhooks/-/{webhook.uuid}/"))
    second = text(signed_in.get(f"/webhooks/-/{webhook.uuid}/?offset=25"))

    assert first.count('class="delivery"') == 25 and "1–25 of 30" in first
    assert f'href="/webhooks/-/{webhook.uuid}/?offset=25"' in first
    assert second.count('class="delivery"') == 5 and "26–30 of 30" in second


def test_without_javascript_send_again_goes_back_to_the_page_which_follows_it(signed_in, receiver):
    add(signed_in, receiver.url)
    uuid = Webhook.objects.get().uuid
    signed_in.post(f"/webhooks/-/{uuid}/test/")
    run_queued_deliveries()
    delivery = WebhookDelivery.objects.get()

    again = signed_in.post(f"/webhooks/-/{uuid}/deliveries/{delivery.pk}/send-again/", follow=True)

    [(url, status)] = again.redirect_chain
    assert status == 302 and url.startswith(f"/webhooks/-/{uuid}/?again={delivery.pk}-1-")
    assert "Sent again: its new attempt shows in the log in a moment." in text(again)
    assert "Sent again: waiting for its answer…" in text(again)
    assert "Check again" in text(again)


def test_an_images_webhooks_are_linked_from_its_page_for_its_owner(
    signed_in, receiver, make_image, alice
):
    image = make_image(alice, "app")

    detail = text(signed_in.get(f"/images/{image.name}/-/"))
    add(signed_in, receiver.url, path=f"/images/{image.name}/-/webhooks/new/")
    listed = text(signed_in.get(f"/images/{image.name}/-/webhooks/"))
    account = text(signed_in.get("/account/"))

    assert f'href="/images/{image.name}/-/webhooks/">Webhooks</a>' in detail
    assert Webhook.objects.get().image_name == image.name
    assert receiver.url in listed
    assert 'href="/webhooks/alice/">Webhooks of alice</a>' in account


def test_a_writer_sees_no_webhook_link_and_a_friendly_403_page(
    receiver, signed_in, make_team, make_image, bob
):
    team = make_team("web", alice="Owner", bob="Writer")
    image = make_image(team, "site")
    add(signed_in, receiver.url, path="/webhooks/web/new/")
    uuid = Webhook.objects.get().uuid
    writer = browser_for(bob)

    image_page = text(writer.get(f"/images/{image.name}/-/"))
    team_page = text(writer.get("/teams/web/"))
    listed = writer.get("/webhooks/web/")
    new_form = writer.get("/webhooks/web/new/")
    one = writer.get(f"/webhooks/-/{uuid}/")
    tested = writer.post(f"/webhooks/-/{uuid}/test/")

    assert "Webhooks</a>" not in image_page and "/webhooks/" not in team_page
    for answer in (listed, new_form, one, tested):
        assert answer.status_code == 403
        assert "You are a Writer in team web: only its Owners see and change its webhooks." in (
            text(answer)
        )
    assert 'href="/webhooks/web/">Webhooks</a>' in text(signed_in.get("/teams/web/"))
    assert not WebhookDelivery.objects.exists()


def test_an_outsider_finds_no_webhook(receiver, signed_in, make_account):
    add(signed_in, receiver.url)
    uuid = Webhook.objects.get().uuid
    outsider = browser_for(make_account("dave"))

    assert outsider.get("/webhooks/alice/").status_code == 404
    assert outsider.get(f"/webhooks/-/{uuid}/").status_code == 404


def test_the_link_in_a_paused_webhooks_email_opens_its_page(signed_in, receiver, settings):
    add(signed_in, receiver.url)
    uuid = str(Webhook.objects.get().uuid)

    link = admin_link("images:webhook", uuid)

    assert link == f"{settings.ADMIN_PUBLIC_URL}/webhooks/-/{uuid}/"
    assert "Send a test event" in text(signed_in.get(link.removeprefix(settings.ADMIN_PUBLIC_URL)))
