"""Offset pages walked in order (python-tutum's and the CLI's paging) go on from where the
last page ended (api.images.walks), and answer exactly what the offset page answers at that
moment, whatever was added, deleted or changed between two pages."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from api.images import views
from records.models import Category, Image, ListWalk
from tests.fixtures.api import ApiClient

H = settings.REGISTRY_HOST
LIMIT = 5
_references = itertools.count()


@pytest.fixture
def resumed(monkeypatch) -> list[str]:
    """The names pages went on from, in order: a page read by its offset adds nothing."""
    found: list[str] = []
    read = views._image_page

    def spy(request, reaches, after=None):
        if after is not None:
            found.append(after)
        return read(request, reaches, after)

    monkeypatch.setattr(views, "_image_page", spy)
    return found


@pytest.fixture
def catalogue(alice, bob, make_image, make_team):
    """Alice's 30 images (every third public), bob's 10 public ones, and 10 of team web
    (alice is a member), with build dates spread so that build-date order differs."""
    team = make_team("web", alice="Writer")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for n in range(30):
        make_image(alice, f"app{n:02d}", private=n % 3 != 0)
    for n in range(10):
        make_image(bob, f"pub{n:02d}", private=False)
    for n in range(10):
        make_image(team, f"site{n:02d}")
    for n, image in enumerate(Image.objects.order_by("name")):
        built = start + timedelta(hours=(n * 7) % 50) if n % 8 else None
        Image.objects.filter(pk=image.pk).update(last_build_date=built)
    return team


def names(answer) -> list[str]:
    return [image["name"] for image in answer.json()["objects"]]


def page(client: ApiClient, query: str, offset: int):
    response = client.get(f"/api/v1/image/?{query}&limit={LIMIT}&offset={offset}")
    assert response.status_code == 200, response.content
    return response


def reference(client: ApiClient, query: str, offset: int) -> dict:
    """The same offset page, read by its offset: a parameter of its own makes it the page
    of another list, which no walk has been through (and is left out of its links)."""
    marker = f"reference={next(_references)}"
    body = page(client, f"{query}&{marker}", offset).json()
    for link in ("next", "previous"):
        if body["meta"][link]:
            body["meta"][link] = re.sub(rf"{marker}&?", "", body["meta"][link])
    return body


def walk_checking(client: ApiClient, query: str, change_at: dict) -> int:
    """Walk the list by offset as python-tutum does (the first page without one), running
    `change_at[offset]` before the page at that offset is asked for, and check every page
    against the offset page read at the same moment. Returns the pages walked."""
    first = client.get(f"/api/v1/image/?{query}&limit={LIMIT}")
    offset, pages = LIMIT, 1
    meta = first.json()["meta"]
    while meta["next"]:
        if offset in change_at:
            change_at[offset]()
        walked = page(client, query, offset)
        expected = reference(client, query, offset)
        assert walked.json() == expected, f"the page at {offset} of ?{query}"
        meta, offset, pages = walked.json()["meta"], offset + LIMIT, pages + 1
    return pages


def test_a_walk_of_an_unchanged_list_goes_on_from_each_pages_last_image(alice, catalogue, resumed):
    client = ApiClient(alice.apikey())

    pages = walk_checking(client, "", {})

    # From the third page on (the second is read by its offset and remembered).
    assert len(resumed) == pages - 2 > 5
    everything = [n for o in range(0, LIMIT * pages, LIMIT) for n in names(page(client, "", o))]
    assert everything == sorted(everything) and len(everything) == len(set(everything)) == 50


@pytest.mark.parametrize(
    "query", ["", "order_by=-name", "order_by=-last_build_date", "order_by=last_build_date"]
)
def test_a_walk_answers_the_offset_page_whatever_changes_between_two_pages(
    alice, bob, catalogue, make_image, resumed, query
):
    client = ApiClient(alice.apikey())
    mine = Image.objects.filter(owner=alice.user)
    later = datetime(2026, 6, 1, tzinfo=UTC)
    changes = {
        # Added before the walk's position, and after it.
        10: lambda: make_image(alice, "aaa-first"),
        15: lambda: make_image(alice, "zzz-last"),
        # Deleted: the last image of the page before, and one far behind.
        20: lambda: mine.filter(name=resumed[-1] if resumed else "").delete(),
        25: lambda: mine.filter(name=f"{H}/alice/app01").delete(),
        # Seen no more (made private by another), and built again (moves in build order).
        30: lambda: Image.objects.filter(name=f"{H}/bob/pub03").update(is_private_image=True),
        35: lambda: mine.filter(name=f"{H}/alice/app05").update(last_build_date=later),
        # Team images, and a change nobody sees in the list (not a change of the walk).
        40: lambda: make_image(catalogue, "site-new"),
        45: lambda: mine.update(description="Described"),
    }

    pages = walk_checking(client, query, changes)

    assert pages >= 10
    # Between changes, pages went on from the last image of the page before.
    assert len(resumed) >= 2


def test_a_walk_of_a_filtered_list_answers_the_offset_page(alice, catalogue, make_image, resumed):
    client = ApiClient(alice.apikey())
    category = Category.objects.create(name="web")
    for image in Image.objects.filter(name__contains="app")[::2]:
        image.categories.add(category)
    flagged = Image.objects.filter(name=f"{H}/alice/app20")
    # The CLI's own list (is_user_image), read by an index of its own.
    walk_checking(client, "is_user_image=True", {10: lambda: make_image(alice, "app-new")})
    assert resumed
    # A list filtered by category is read by its offset, whatever changes.
    resumed.clear()
    changes = {
        10: lambda: flagged.get().categories.remove(category),
        15: lambda: Category.objects.filter(pk=category.pk).update(name="webs"),
    }
    walk_checking(client, "categories__name=web", changes)
    assert resumed == []


def test_staff_walk_every_image_and_any_change_anywhere_is_a_change_of_their_walk(
    make_account, bob, catalogue, make_image, resumed
):
    staff = make_account("root", staff=True)
    client = ApiClient(staff.apikey())
    changes = {
        10: lambda: make_image(bob, "aaa-private-of-bob"),
        20: lambda: Image.objects.filter(name__endswith="site03").delete(),
    }

    pages = walk_checking(client, "", changes)

    assert pages == 10 and len(resumed) >= 5


def test_a_walk_is_its_askers_own(alice, bob, catalogue, resumed):
    """Bob asking for the offset where alice's page ended reads his own list by offset."""
    alices, bobs = ApiClient(alice.apikey()), ApiClient(bob.apikey())
    page(alices, "", LIMIT)

    assert page(bobs, "", 2 * LIMIT).json() == reference(bobs, "", 2 * LIMIT)
    assert resumed == []
    page(alices, "", 2 * LIMIT)
    assert len(resumed) == 1


def test_a_page_asked_again_or_with_another_limit_still_goes_on(alice, catalogue, resumed):
    client = ApiClient(alice.apikey())
    page(client, "", LIMIT)

    again = [page(client, "", 2 * LIMIT).json() for _ in range(3)]
    wider = client.get(f"/api/v1/image/?limit=12&offset={2 * LIMIT}&tags=none").json()

    assert again[0] == again[1] == again[2] == reference(client, "", 2 * LIMIT)
    assert [i["name"] for i in wider["objects"]][:LIMIT] == names(page(client, "", 2 * LIMIT))
    assert len(resumed) == 5


def test_a_walk_is_remembered_for_ten_idle_minutes_then_starts_again(alice, catalogue, resumed):
    client = ApiClient(alice.apikey())
    page(client, "", LIMIT)

    [remembered] = ListWalk.objects.all()
    now = timezone.now()
    # Written in plain SQL, read back by the ORM (housekeeping deletes by `until`).
    assert now + timedelta(minutes=9) < remembered.until <= now + timedelta(minutes=10)
    assert ListWalk.objects.filter(until__gt=now).count() == 1

    ListWalk.objects.update(until=now - timedelta(seconds=1))
    assert page(client, "", 2 * LIMIT).json() == reference(client, "", 2 * LIMIT)
    assert resumed == []  # idle too long: read by its offset, and remembered anew
    assert ListWalk.objects.get(key=remembered.key).until > now
