"""Webhooks in a real browser: add one to an image, send it a test event, read the delivery log
as it follows the delivery, and send one again, at desktop and phone widths, light and dark.
The deliveries go to a real receiver on this machine."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    assert_accessible,
    fits,
    new_page,
    shoot,
    sign_in,
    small_targets,
)
from tests.fixtures.webhooks import run_queued_deliveries

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def checked(page, width: int, name: str) -> None:
    """Checked and shot in light, then in dark: the flow runs once per width (a run costs
    10 s), each page seen in both schemes."""
    for scheme, suffix in (("light", ""), ("dark", "-dark")):
        page.emulate_media(color_scheme=scheme)
        fits(page, width)
        assert_accessible(page)
        if width < 640:
            assert not small_targets(page), small_targets(page)
        shoot(page, name + suffix)
    page.emulate_media(color_scheme="light")


@pytest.mark.parametrize("viewport", [(1280, 900), (375, 812)], ids=["desktop", "phone"])
def test_an_owner_adds_a_webhook_sends_a_test_event_reads_the_log_and_sends_it_again(
    browser, api_server, alice, make_image, receiver, viewport
):
    width, height = viewport
    suffix = "" if width > 640 else "-phone"
    image = make_image(alice, "shop")
    page = new_page(browser, api_server, viewport={"width": width, "height": height})
    sign_in(page, alice)
    # The first delivery is refused, the next one arrives: the log shows both.
    receiver.answer((404, {}, b"No hook here: see /hooks/v2"), (200, {}, b"thanks"))
    page.goto(f"/images/{image.name}/-/")
    page.get_by_role("link", name="Webhooks", exact=True).click()
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()
    page.get_by_role("link", name="Add a webhook").click()
    page.get_by_label("URL", exact=True).fill(receiver.url)
    page.get_by_label("A tag is pushed (by anyone, or by a build)").check()
    page.get_by_label("A build fails").check()
    page.get_by_label("Only tags matching (optional)").fill("v*")
    page.get_by_label("Description (optional)").fill("Deploys the shop to staging")
    checked(page, width, f"webhook-form{suffix}")
    page.get_by_role("button", name="Add the webhook").click()

    expect(page.get_by_text("Copy its secret now: you will not see it again.")).to_be_visible()
    expect(page.get_by_role("button", name="Copy the webhook's secret")).to_be_visible()
    checked(page, width, f"webhook-secret{suffix}")
    page.get_by_role("link", name="Go to the webhook").click()

    expect(page.get_by_role("heading", name=f"Webhook to {receiver.host_port}")).to_be_visible()
    page.get_by_role("button", name="Send a test event").click()
    delivery = page.locator(".delivery").first
    expect(delivery).to_contain_text("Waiting to be sent")
    run_queued_deliveries()
    expect(delivery).to_contain_text("Failed")
    expect(delivery).to_contain_text("The server answered 404 Not Found: check the URL.")
    expect(delivery.locator("pre")).to_have_text("No hook here: see /hooks/v2")

    delivery.get_by_role("button", name="Send again").click()
    expect(page.get_by_role("status")).to_contain_text("Sent again: waiting for its answer")
    run_queued_deliveries()
    expect(delivery).to_contain_text("(sent again)")
    expect(delivery).to_contain_text("200 OK")
    expect(delivery).to_contain_text("Delivered")
    expect(page.get_by_role("status")).to_have_count(0)
    checked(page, width, f"webhook{suffix}")

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Webhooks").click()
    webhooks = page.get_by_role("table", name=f"Webhooks of {image.name}")
    expect(webhooks).to_contain_text("Deploys the shop to staging")
    expect(webhooks).to_contain_text("Delivered, just now")
    checked(page, width, f"webhooks{suffix}")
    assert len(receiver.received) == 2
    page.context.close()
