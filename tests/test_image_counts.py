"""total_count: what it promises, and the counts the database keeps for it."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.models import Count

from api import pagination
from records import counting
from records.models import Image, ImageCount

H = settings.REGISTRY_HOST


def kept() -> dict[int, int]:
    return {c.reach: c.images for c in ImageCount.objects.all() if c.images}


def recounted() -> dict[int, int]:
    rows = Image.objects.exclude(reach=None).values("reach").annotate(n=Count("pk"))
    return {row["reach"]: row["n"] for row in rows}


def test_the_kept_counts_follow_every_way_of_writing_images(
    alice, bob, make_image, make_team, our_registry_row
):
    team = make_team("web", alice="Owner")
    make_image(alice, "mine")
    make_image(alice, "shown", private=False)
    make_image(team, "ours")
    Image.objects.bulk_create(
        Image(name=f"{H}/bob/b{i}", owner=bob.user, registry=our_registry_row) for i in range(5)
    )
    assert kept() == recounted() == {alice.user.pk: 1, 0: 1, -team.pk: 1, bob.user.pk: 5}

    Image.objects.filter(name__startswith=f"{H}/bob/").update(is_private_image=False)
    Image.objects.filter(name=f"{H}/alice/mine").update(owner=None, team=team)
    Image.objects.filter(name=f"{H}/web/ours").delete()
    assert kept() == recounted() == {0: 6, -team.pk: 1}

    bob.user.delete()  # a cascade takes his images
    assert kept() == recounted() == {0: 1, -team.pk: 1}


def test_a_migration_that_rebuilds_the_image_table_gets_its_counting_back(alice, make_image):
    make_image(alice, "one")
    with connection.cursor() as cursor:
        # What Django's SQLite schema editor does to a table it alters: the triggers go.
        for name in ("image_count_insert", "image_count_delete", "image_count_update"):
            cursor.execute(f"DROP TRIGGER {name}")
    make_image(alice, "two")  # not counted
    assert kept() != recounted()

    counting.repair()  # post_migrate

    make_image(alice, "three")
    assert kept() == recounted() == {alice.user.pk: 3}


def test_the_unfiltered_list_is_counted_exactly_at_any_size(api, alice, make_image, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 3)
    for i in range(6):
        make_image(alice, f"app{i}", private=i % 2 == 0)

    meta = api.get("/api/v1/image/?limit=2").json()["meta"]
    public = api.get("/api/v1/image/?limit=2&is_private_image=false").json()["meta"]

    assert meta["total_count"] == 6 and "total_count_exact" not in meta
    assert public["total_count"] == 3 and "total_count_exact" not in public


def test_a_filtered_count_past_the_limit_says_it_is_a_floor(api, alice, make_image, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 3)
    for i in range(6):
        make_image(alice, f"app{i}", jumpstart=True)

    first = api.get("/api/v1/image/?jumpstart=true&limit=2").json()["meta"]
    deep = api.get("/api/v1/image/?jumpstart=true&limit=2&offset=4").json()["meta"]
    searched = api.get("/api/v1/image/?name__icontains=app&limit=2").json()["meta"]

    assert (first["total_count"], first["total_count_exact"]) == (3, False)
    assert first["next"] is not None
    # The last page knows the total exactly: nothing after it.
    assert (deep["total_count"], deep["next"]) == (6, None)
    assert "total_count_exact" not in deep
    assert (searched["total_count"], searched["total_count_exact"]) == (3, False)


def test_next_is_exact_at_the_last_full_page(api, alice, make_image):
    for i in range(4):
        make_image(alice, f"app{i}")

    second = api.get("/api/v1/image/?limit=2&offset=2").json()
    beyond = api.get("/api/v1/image/?limit=2&offset=4").json()

    assert second["meta"]["next"] is None
    assert second["meta"]["total_count"] == 4
    assert beyond["objects"] == []
    assert (beyond["meta"]["total_count"], beyond["meta"]["next"]) == (4, None)
    assert beyond["meta"]["previous"] == "/api/v1/image/?limit=2&offset=2"
