"""The API's interactive reference in a real browser, served by this server alone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.pages import SCREENSHOTS, new_page
from tests.fixtures.api import ApiClient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_reference_renders_every_operation_from_this_server_alone(browser, live_server):
    schema = ApiClient().get("/api/schema/?format=json").json()
    operations = sum(
        method in ("get", "post", "put", "patch", "delete")
        for path in schema["paths"].values()
        for method in path
    )
    page = new_page(browser, live_server)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto("/api/docs/")

    expect(page.get_by_text("List images", exact=True)).to_be_visible()
    expect(page.locator(".opblock")).to_have_count(operations)
    # Every request went to this server (the images Swagger UI's stylesheet carries inline,
    # as data: URLs, are no requests to anyone).
    elsewhere = [
        url
        for url in requested
        if not url.startswith(f"{live_server.url}/") and not url.startswith("data:")
    ]
    assert requested and not elsewhere, elsewhere
    assert f"{live_server.url}/api/schema/" in requested
    # The first screen only: the whole page lists every operation and every schema.
    page.screenshot(path=str(SCREENSHOTS / "api-docs.png"))
    page.context.close()
