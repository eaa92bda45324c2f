"""Tags deleted, found in Recently deleted, restored; a cleanup policy previewed and saved, in a
real browser."""

from __future__ import annotations

import os

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

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.registry
@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "phone"])
def test_tags_are_deleted_found_in_recently_deleted_restored_and_a_policy_is_previewed_and_saved(
    browser, api_server, alice, buildah, push_image, width
):
    suffix = "" if width > 640 else "-phone"
    for tag in ("latest", "nightly-1", "nightly-2", "nightly-3"):
        ref = buildah.make_image(f"localhost/flow-{tag}:1", files={f"/{tag}": os.urandom(64)})
        pushed = push_image(alice, f"app{width}", tag=tag, ref=ref)
    name = pushed.name
    page = new_page(browser, api_server, viewport={"width": width, "height": 900})
    sign_in(page, alice)

    # Two tags ticked, confirmed by name, deleted.
    page.goto(f"/images/{name}/-/")
    page.get_by_label("Choose nightly-1").check()
    page.get_by_label("Choose nightly-2").check()
    page.get_by_role("button", name="Delete chosen tags…").click()
    expect(page.get_by_role("heading", name="Delete these 2 tags?")).to_be_visible()
    expect(page.get_by_text(f"{name}:nightly-1")).to_be_visible()
    fits(page, width)
    assert_accessible(page)
    shoot(page, f"tags-delete{suffix}")
    page.get_by_role("button", name="Delete 2 tags").click()
    expect(page.get_by_text("Deleted nightly-1, nightly-2.")).to_be_visible()

    # Both wait in Recently deleted; one comes back.
    page.get_by_role("link", name="Recently deleted tags").click()
    bin_rows = page.get_by_role("table", name="Recently deleted")
    expect(bin_rows).to_contain_text("nightly-1")
    expect(bin_rows).to_contain_text("nightly-2")
    fits(page, width)
    assert_accessible(page)
    if width < 640:
        assert not small_targets(page), small_targets(page)
    shoot(page, f"recently-deleted{suffix}")
    page.get_by_role("button", name=f"Restore {name}:nightly-1").click()
    expect(page.get_by_text(f"{name}:nightly-1 is back, with the same digest.")).to_be_visible()

    # A policy, read before it is saved.
    page.goto(f"/images/{name}/-/")
    page.get_by_role("link", name="Cleanup policy").click()
    page.get_by_label("Keep the most recent").fill("1")
    page.get_by_label("Always keep tags named").fill("latest")
    page.get_by_role("button", name="Preview what would go").click()
    preview = page.locator("#preview")
    expect(preview.get_by_role("heading", level=2)).to_contain_text("This tag,")
    expect(preview).to_contain_text("nightly-1")
    fits(page, width)
    assert_accessible(page)
    if width < 640:
        assert not small_targets(page), small_targets(page)
    shoot(page, f"cleanup-preview{suffix}")
    page.get_by_role("button", name="Save this policy").click()
    expect(page.get_by_text("Saved. It runs once a day.")).to_be_visible()
    expect(page.get_by_label("Keep the most recent")).to_have_value("1")
    page.context.close()
