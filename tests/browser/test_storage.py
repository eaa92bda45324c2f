"""Storage in a real browser (staff): the last collection in words, tidying up now while the page
follows the run, and the history, at desktop and phone widths, light and dark."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from lifecycle.tasks import BACKUP
from records.models import Collection
from tests.browser.pages import (
    assert_accessible,
    fits,
    header,
    new_page,
    shoot,
    sign_in,
    small_targets,
)
from tests.fixtures.collections import run_queued_collection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def earlier_runs() -> None:
    """A week of history: a run that freed a lot while a push went on, one a backup stopped."""
    now = timezone.now()
    Collection.objects.create(
        trigger="schedule",
        state=Collection.State.DONE,
        started=now - timedelta(days=6, seconds=14),
        finished=now - timedelta(days=6),
        seconds=14.2,
        bytes_before=5_400_000_000,
        bytes_after=4_200_000_000,
        bytes_freed=1_200_000_000,
        repositories=40,
        manifests=310,
        blobs_deleted=57,
        blobs_deferred=3,
        blobs_restored=1,
    )
    Collection.objects.create(
        trigger="after a purge",
        state=Collection.State.FAILED,
        started=now - timedelta(days=2),
        finished=now - timedelta(days=2),
        error=BACKUP,
    )


@pytest.mark.parametrize(
    "viewport, scheme",
    [((1280, 900), "light"), ((1280, 900), "dark"), ((375, 812), "light"), ((375, 812), "dark")],
    ids=["desktop", "desktop-dark", "phone", "phone-dark"],
)
def test_staff_tidy_up_and_the_page_follows_the_run_to_its_end(
    browser, api_server, make_account, garbage, viewport, scheme
):
    width, height = viewport
    root = make_account("root", staff=True)
    earlier_runs()
    page = new_page(
        browser, api_server, viewport={"width": width, "height": height}, color_scheme=scheme
    )
    sign_in(page, root)
    header(page, "Storage").click()
    expect(page.get_by_role("heading", name="Storage")).to_be_visible()
    expect(page.get_by_text("Last tidied 6 days ago: freed 1.2 GB in 14 seconds")).to_be_visible()
    expect(page.get_by_text("4.2 GB", exact=True)).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("a backup was copying")

    page.get_by_role("button", name="Tidy up now").click()
    tidying = page.get_by_role("status")
    expect(tidying).to_contain_text("Tidying up… pushes and pulls go on as usual.")
    expect(page.get_by_role("button", name="Tidy up now")).to_have_count(0)
    fits(page, width)
    assert_accessible(page)
    suffix = ("" if width > 640 else "-phone") + ("-dark" if scheme == "dark" else "")
    shoot(page, f"storage-tidying{suffix}")

    run_queued_collection()

    expect(page.get_by_text("Last tidied just now: freed")).to_be_visible()
    expect(page.get_by_role("button", name="Tidy up now")).to_be_visible()
    history = page.get_by_role("table", name="Garbage collections, newest first")
    expect(history.locator("tbody tr")).to_have_count(3)
    expect(history.locator("tbody tr").first).to_contain_text("root")
    expect(history.locator("tbody tr").first).to_contain_text("3 deleted, 0 waiting")
    fits(page, width)
    assert_accessible(page)
    if width < 640:
        assert not small_targets(page), small_targets(page)
    shoot(page, f"storage{suffix}")
    page.context.close()
