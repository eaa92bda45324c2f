"""Every main page at phone width, light and dark: it fits, and what a finger presses is big
enough."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from records.models import BinEntry
from tests.browser.pages import (
    PHONE,
    assert_accessible,
    header,
    new_page,
    shoot,
    sign_in,
    small_targets,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_main_page_fits_a_phone(
    browser, api_server, make_account, make_image, make_team, scheme
):
    root = make_account("root", staff=True)
    team = make_team("web", root="Owner")
    for i in range(3):
        make_image(root, f"service-{i}", tags=["latest", "v1.2.3"], description=f"Service {i} " * 8)
    site = make_image(team, "site", description="The team's website")
    BinEntry.objects.create(
        kind=BinEntry.Kind.TAG,
        image=site,
        image_name=site.name,
        namespace="web",
        team=team,
        tag_name="v0.9",
        digest="sha256:" + "ab" * 32,
        size=48_000_000,
        deleted_by="root",
    )
    suffix = "" if scheme == "light" else "-dark"
    page = new_page(browser, api_server, viewport=PHONE, color_scheme=scheme)

    checked = [
        ("login", "/login/"),
        ("list", "/"),
        ("image", f"/images/{site.name}/-/"),
        ("tag", f"/images/{site.name}/-/tags/latest/"),
        ("register", "/images/new/"),
        ("account", "/account/"),
        ("start", "/getting-started/"),
        ("teams-list", "/teams/"),
        ("team-page", "/teams/web/"),
        ("activity-list", "/activity/"),
        ("people-list", "/people/"),
        ("storage", "/storage/"),
        ("deleted", "/deleted/"),
        ("cleanup", f"/images/{site.name}/-/cleanup/"),
    ]
    for label, path in checked:
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], label
        assert_accessible(page)
        assert not small_targets(page), (label, small_targets(page))
        shoot(page, f"phone-{label}{suffix}")
        if label == "login":
            sign_in(page, root)

    # Folded: the header's links behind Menu, the list's filters behind Filters.
    page.goto("/")
    expect(page.locator("header").get_by_role("link", name="Teams")).to_be_hidden()
    expect(page.get_by_label("State")).to_be_hidden()
    page.get_by_text("Filters").click()
    page.get_by_label("State").select_option("Success")
    expect(page).to_have_url(re.compile(r"state=Success"))
    header(page, "Teams")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page)
    shoot(page, f"phone-menu-and-filters{suffix}")
    page.context.close()
