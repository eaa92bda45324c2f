"""The Storage page (staff) and what the bin's pages say of space coming back, through
images/services/ against a real API server, over real collections of a real registry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from images.templatetags.admin_format import filesize, tidied
from lifecycle.collect import collect
from records.models import BinEntry
from tests.admin.test_admin_pages import text
from tests.admin.test_admin_teams import browser_for, csrf_checking_browser_for
from tests.fixtures.collections import run_queued_collection

pytestmark = pytest.mark.django_db(transaction=True)
HTMX = {"HX-Request": "true"}


def test_the_page_says_what_is_stored_and_what_the_last_collection_did(staff_browser, garbage):
    run = collect("schedule")

    page = text(staff_browser.get("/storage/"))

    took = "under a second" if run.seconds < 1 else f"{round(run.seconds)} second"
    assert f"Last tidied just now: freed {filesize(garbage.freed_bytes)} in {took}" in page
    assert f"<strong>{filesize(run.bytes_after)}</strong>" in page
    assert "Housekeeping (schedule)" in page
    assert f"{garbage.blobs} deleted, 0 waiting, 0 put back" in page
    assert "Tidy up now" in page and 'name="csrfmiddlewaretoken"' in page
    assert "minute" not in re.sub(r"<time[^>]*>[^<]*</time>", "", page)


def test_before_any_collection_the_page_says_nothing_was_measured(staff_browser):
    page = text(staff_browser.get("/storage/"))

    assert "Not measured yet: the first tidy-up measures it." in page
    assert "The registry has not been tidied up yet." in page
    assert "No collection has run yet." in page


def test_tidy_up_now_queues_a_run_that_the_page_follows_until_it_is_done(staff_browser, garbage):
    started = staff_browser.post("/storage/tidy/", headers=HTMX)

    assert started.status_code == 200
    assert "Tidying up… pushes and pulls go on as usual." in text(started)
    assert 'hx-trigger="every 2s"' in text(started)
    assert "No build worker is running, so it waits" in text(started)
    still = staff_browser.get("/storage/", headers=HTMX)
    assert still.status_code == 200 and 'hx-trigger="every 2s"' in text(still)

    run_queued_collection()
    done = staff_browser.get("/storage/", headers=HTMX)

    assert done.status_code == 286  # htmx stops polling
    assert "hx-trigger" not in text(done)
    assert f"Last tidied just now: freed {filesize(garbage.freed_bytes)}" in text(done)
    assert "root" in text(done)  # who asked, in the history
    assert "Tidy up now" in text(done)


def test_without_javascript_the_button_posts_and_the_page_says_it_is_tidying_up(
    staff_browser,
):
    response = staff_browser.post("/storage/tidy/", follow=True)

    assert response.redirect_chain == [("/storage/", 302)]
    assert "Tidying up… pushes and pulls go on as usual." in text(response)
    assert '<a href="/storage/">Check again</a>' in text(response)
    assert "Tidy up now" not in text(response)


def test_a_second_tidy_up_is_refused_in_words_on_the_page(staff_browser):
    staff_browser.post("/storage/tidy/", headers=HTMX)

    again = staff_browser.post("/storage/tidy/", headers=HTMX)
    plain = staff_browser.post("/storage/tidy/", follow=True)

    assert again.status_code == 200
    assert "is waiting for a worker to start it" in text(again)
    assert "is waiting for a worker to start it" in text(plain)


def test_a_failed_try_is_shown_with_its_reason(staff_browser, settings, tmp_path):
    settings.REGISTRY_CONFIG = tmp_path / "nowhere.yml"
    staff_browser.post("/storage/tidy/", headers=HTMX)
    run_queued_collection()

    page = text(staff_browser.get("/storage/"))

    assert "failed:</strong> Nothing was collected: the worker that took this run has no" in page
    assert "Failed</span>" in page
    assert "Not measured yet" in page


def test_people_who_are_not_staff_cannot_see_the_page_nor_tidy_up(signed_in):
    page = signed_in.get("/storage/")
    tidy = signed_in.post("/storage/tidy/")

    assert page.status_code == 403
    assert "Only staff can see and start the registry&#x27;s garbage collections." in text(page)
    assert tidy.status_code == 403
    assert 'href="/storage/"' not in text(signed_in.get("/"))


def test_staff_find_the_page_in_the_header(staff_browser):
    assert '<a href="/storage/">Storage</a>' in text(staff_browser.get("/"))


def test_the_button_needs_the_csrf_token(api_server, make_account):
    client = csrf_checking_browser_for(make_account("root", staff=True))

    response = client.post("/storage/tidy/")

    assert response.status_code == 403
    assert "No collection has run yet." in text(client.get("/storage/"))


@pytest.fixture
def deleted(alice, make_image) -> BinEntry:
    image = make_image(alice, "app", tags=["latest", "old"])
    return BinEntry.objects.create(
        kind=BinEntry.Kind.TAG,
        image=image,
        image_name=image.name,
        namespace="alice",
        owner=alice.user,
        tag_name="old",
        digest="sha256:" + "ab" * 32,
        size=48_000_000,
        deleted_by="alice",
    )


def test_the_bin_pages_say_the_space_comes_back_at_the_next_tidy_up(signed_in, deleted):
    for path in ("/deleted/", f"/images/{deleted.image_name}/-/deleted/"):
        page = text(signed_in.get(path))
        assert "the registry frees" in page and "when it next tidies up." in page
        assert "Storage: tidy up now" not in page  # alice is not staff
    purge = text(signed_in.get(f"/deleted/{deleted.pk}/delete/"))
    assert "freed when the registry next tidies up, at least every 24 hours" in purge


def test_staff_read_on_the_bin_pages_what_the_last_collection_freed(
    api_server, make_account, alice, deleted, garbage
):
    root = make_account("root", staff=True)
    deleted.owner = root.user
    deleted.namespace = "root"
    deleted.save()
    run = collect("after a purge")
    browser = browser_for(root)

    for path in ("/deleted/", f"/deleted/{deleted.pk}/delete/"):
        page = text(browser.get(path))
        assert f"Last tidied just now: freed {filesize(run.bytes_freed)}" in page, path
        assert '<a href="/storage/">Storage: tidy up now</a>' in page


@dataclass
class Run:
    finished: object
    seconds: float
    bytes_freed: int
    blobs_deferred: int
    blobs_restored: int


@pytest.mark.parametrize(
    "run, sentence",
    [
        (
            Run(timedelta(hours=3), 14.2, 1_200_000_000, 3, 0),
            "Last tidied 3 hours ago: freed 1.2 GB in 14 seconds; 3 layers were in use by a "
            "push and wait for the next run.",
        ),
        (
            Run(timedelta(days=1), 125, 532, 1, 1),
            "Last tidied 1 day ago: freed 532 B in 2 minutes 5 seconds; 1 layer was in use by a "
            "push and waits for the next run; 1 layer a push used meanwhile was put back.",
        ),
        (
            Run(timedelta(minutes=5), 0.3, 0, 0, 2),
            "Last tidied 5 minutes ago, in under a second: nothing needed freeing; 2 layers a "
            "push used meanwhile were put back.",
        ),
    ],
)
def test_the_last_collection_reads_as_one_sentence(run, sentence):
    run.finished = timezone.now() - run.finished

    assert tidied(run) == sentence
