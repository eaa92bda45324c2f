"""The image list's pages: total_count and the counts the database keeps for it (and for
tag lists), next and previous, and pages found after or before a name."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils.http import urlencode

from api.core import pagination
from records import counting
from records.models import Image, ImageCount, Layer, Tag, TagCount

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


def test_a_migration_that_rebuilds_a_counted_table_gets_its_counting_back(alice, make_image):
    make_image(alice, "one")
    with connection.cursor() as cursor:
        # What Django's SQLite schema editor does to a table it alters: the triggers go.
        for name in ("image_count_insert", "image_count_delete", "image_count_update"):
            cursor.execute(f"DROP TRIGGER {name}")
        for name in ("tag_count_insert", "tag_count_delete", "tag_count_update"):
            cursor.execute(f"DROP TRIGGER {name}")
        cursor.execute("DROP TRIGGER image_count_change")
    two = make_image(alice, "two", tags=())  # not counted
    Tag.objects.create(image=two, name="latest")  # nor this
    assert kept() != recounted() and kept_tags() != recounted_tags()

    counting.repair()  # post_migrate

    before = changes()
    make_image(alice, "three")
    Tag.objects.create(image=two, name="v1")
    assert kept() == recounted() == {alice.user.pk: 3}
    assert kept_tags() == recounted_tags() and recounted_tags()[two.pk] == 2
    Image.objects.filter(name=two.name).update(description="only words")  # not a change
    assert changes()[alice.user.pk] > before[alice.user.pk]
    after = changes()
    Image.objects.filter(name=two.name).update(jumpstart=True)
    assert changes()[alice.user.pk] == after[alice.user.pk] + 1


def changes() -> dict[int, int]:
    return dict(ImageCount.objects.values_list("reach", "changes"))


def tag_changes() -> dict[int, int]:
    return dict(TagCount.objects.values_list("image_id", "changes"))


def test_every_change_a_list_can_see_grows_its_reachs_changes_and_nothing_else_does(
    alice, bob, make_image, make_team, our_registry_row
):
    team = make_team("web", alice="Owner")
    mine = make_image(alice, "mine")
    make_image(team, "ours")
    mine_reach, team_reach = alice.user.pk, -team.pk

    def grew(write) -> set[int]:
        """The reaches whose changes grew when `write` ran."""
        before = changes()
        write()
        after = changes()
        return {reach for reach, n in after.items() if n != before.get(reach)}

    mine_only = Image.objects.filter(pk=mine.pk)
    assert grew(lambda: make_image(alice, "another")) == {mine_reach}
    assert grew(lambda: mine_only.update(description="words")) == set()
    assert grew(lambda: mine_only.update(star_count=5)) == set()
    assert grew(lambda: mine_only.update(state="Failed")) == {mine_reach}
    assert grew(lambda: mine_only.update(last_build_date=datetime(2026, 1, 1, tzinfo=UTC))) == {
        mine_reach
    }
    assert grew(lambda: mine_only.update(last_build_date=datetime(2026, 1, 1, tzinfo=UTC))) == set()
    assert grew(lambda: mine_only.update(name=f"{H}/alice/renamed")) == {mine_reach}
    assert grew(lambda: mine_only.update(is_private_image=False)) == {mine_reach, 0}
    assert grew(lambda: mine_only.update(owner=None, team=team)) == {0}
    assert grew(lambda: mine_only.update(is_private_image=True)) == {0, team_reach}
    assert grew(lambda: mine_only.delete()) == {team_reach}
    assert grew(lambda: bob.user.delete()) == set()  # bob had no images


def test_every_change_to_an_images_tag_names_or_layers_grows_its_tag_changes(alice, make_image):
    image = make_image(alice, "one", tags=())
    other = make_image(alice, "two", tags=())
    layer = Layer.objects.create(docker_id="a" * 64)

    def grew(write) -> set[int]:
        before = tag_changes()
        write()
        after = tag_changes()
        return {key for key, n in after.items() if n != before.get(key)}

    tags = Tag.objects.filter(image=image)
    assert grew(lambda: Tag.objects.create(image=image, name="latest")) == {image.pk}
    assert grew(lambda: tags.update(state="Failed", size=10)) == set()
    assert grew(lambda: tags.update(layer=layer)) == {image.pk}
    assert grew(lambda: tags.update(name="v1")) == {image.pk}
    assert grew(lambda: tags.update(image=other)) == {image.pk, other.pk}
    assert grew(lambda: Tag.objects.filter(image=other).delete()) == {other.pk}


def test_counting_again_never_takes_a_changes_counter_back(alice, make_image):
    make_image(alice, "one")
    before = changes(), tag_changes()
    with connection.cursor() as cursor:
        for statement in [*counting.IMAGES.recount(), *counting.TAGS.recount()]:
            cursor.execute(statement)
    after = changes(), tag_changes()
    for old, new in zip(before, after, strict=True):
        assert all(new[key] > n for key, n in old.items())
    assert kept() == recounted() and kept_tags() == recounted_tags()


def kept_tags() -> dict[int, int]:
    return {c.image_id: c.tags for c in TagCount.objects.all() if c.tags}


def recounted_tags() -> dict[int, int]:
    rows = Tag.objects.values("image_id").annotate(n=Count("pk"))
    return {row["image_id"]: row["n"] for row in rows}


def test_the_kept_tag_counts_follow_every_way_of_writing_tags(alice, bob, make_image):
    one, two = make_image(alice, "one", tags=()), make_image(bob, "two", tags=())
    Tag.objects.create(image=one, name="latest")
    Tag.objects.bulk_create(Tag(image=two, name=f"v{i}") for i in range(5))
    assert kept_tags() == recounted_tags() == {one.pk: 1, two.pk: 5}

    Tag.objects.filter(image=two, name__in=["v0", "v1"]).update(image=one)
    Tag.objects.filter(image=two, name="v2").delete()
    assert kept_tags() == recounted_tags() == {one.pk: 3, two.pk: 2}

    bob.user.delete()  # a cascade takes his image and its tags
    assert kept_tags() == recounted_tags() == {one.pk: 3}


def test_a_tag_list_is_counted_exactly_at_any_size_unless_filtered(
    api, alice, make_image, monkeypatch
):
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 3)
    image = make_image(alice, "many", tags=())
    Tag.objects.bulk_create(Tag(image=image, name=f"v{i}") for i in range(6))
    tags = f"/api/v1/image/{image.name}/tag/?limit=2"

    whole = api.get(tags).json()["meta"]
    ordered = api.get(tags + "&order_by=-name").json()["meta"]
    filtered = api.get(tags + "&name=v").json()["meta"]

    assert whole["total_count"] == ordered["total_count"] == 6
    assert "total_count_exact" not in whole and "total_count_exact" not in ordered
    assert filtered["total_count"] == 3 and filtered["total_count_exact"] is False


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


def names(body) -> list[str]:
    return [image["name"].rsplit("/", 1)[1] for image in body["objects"]]


def test_pages_after_and_before_a_name_are_the_pages_offsets_give(api, alice, make_image):
    for i in range(7):
        make_image(alice, f"app{i}", private=i % 3 == 0)

    first = api.get("/api/v1/image/?limit=3").json()
    second = api.get(f"/api/v1/image/?limit=3&after={H}/alice/app2").json()
    last = api.get(second["meta"]["next"]).json()
    back = api.get(last["meta"]["previous"]).json()
    down = api.get(f"/api/v1/image/?limit=3&order_by=-name&after={H}/alice/app4").json()

    assert names(first) == ["app0", "app1", "app2"]
    assert names(second) == ["app3", "app4", "app5"]
    assert second["meta"]["next"] == "/api/v1/image/?" + urlencode(
        {"limit": 3, "after": f"{H}/alice/app5"}
    )
    assert (names(last), last["meta"]["next"]) == (["app6"], None)
    assert names(back) == ["app3", "app4", "app5"]
    assert names(down) == ["app3", "app2", "app1"]
    # The total is the whole list's, wherever the page starts.
    assert {second["meta"]["total_count"], last["meta"]["total_count"]} == {7}


def test_a_page_after_a_name_keeps_the_filters(api, alice, make_image):
    for i in range(5):
        make_image(alice, f"app{i}", private=i % 2 == 0, jumpstart=i != 1)

    public = api.get(f"/api/v1/image/?is_private_image=false&after={H}/alice/app1").json()
    jump = api.get(f"/api/v1/image/?jumpstart=true&limit=2&after={H}/alice/app0").json()

    assert names(public) == ["app3"]
    assert (names(jump), jump["meta"]["total_count"]) == (["app2", "app3"], 4)


def test_an_images_tags_page_after_and_before_a_tag_name(api, alice, make_image):
    image = make_image(alice, "many", tags=[f"v{i:02d}" for i in range(30)])
    tags = f"/api/v1/image/{image.name}/tag/"

    second = api.get(f"{tags}?limit=10&after=v09").json()
    last = api.get(second["meta"]["next"]).json()
    back = api.get(f"{tags}?limit=10&before=v20").json()
    searched = api.get(f"{tags}?name=v1&after=v12").json()
    by_date = api.get(f"{tags}?order_by=-creation&after=v01")

    assert [t["name"] for t in second["objects"]] == [f"v{i:02d}" for i in range(10, 20)]
    assert second["meta"]["next"] == f"{tags}?" + urlencode({"limit": 10, "after": "v19"})
    assert second["meta"]["previous"] == f"{tags}?" + urlencode({"limit": 10, "before": "v10"})
    assert [t["name"] for t in last["objects"]] == [f"v{i:02d}" for i in range(20, 30)]
    assert last["meta"]["next"] is None
    assert [t["name"] for t in back["objects"]] == [f"v{i:02d}" for i in range(10, 20)]
    assert [t["name"] for t in searched["objects"]] == [f"v{i}" for i in range(13, 20)]
    # The total is the whole list's (or the search's), wherever the page starts.
    assert (second["meta"]["total_count"], searched["meta"]["total_count"]) == (30, 10)
    assert by_date.status_code == 400
    assert by_date.json()["fields"] == {"after": ["Works with order_by=name or -name only."]}


def test_pages_after_and_before_an_image_in_build_date_order_are_the_pages_offsets_give(
    api, alice, bob, make_image
):
    # Built at different moments, two at the same moment, and three never built.
    built = [(2024, 1, 5), (2024, 1, 3), (2024, 1, 3), (2024, 1, 9), (2024, 1, 1)]
    for i, date in enumerate([*built, None, None, None]):
        image = make_image(alice, f"app{i}")
        when = datetime(*date, tzinfo=UTC) if date else None
        Image.objects.filter(pk=image.pk).update(last_build_date=when)
    make_image(bob, "hidden", private=True)  # another reach, which alice does not see

    for query in ("", "&name__icontains=app"):  # the reaches' ranges, and a narrowed list
        for order in ("last_build_date", "-last_build_date"):
            base = f"/api/v1/image/?order_by={order}{query}"
            everything = names(api.get(f"{base}&limit=100").json())
            for size in (1, 2, 3):
                forward = _walk(api, f"{base}&limit={size}", "next")
                last = everything[-1]
                backward = _walk(api, f"{base}&limit={size}&before={H}/alice/{last}", "previous")
                assert forward == everything, (order, query, size)
                assert backward == everything[:-1], (order, query, size)
            assert len(everything) == 8


def _walk(api, path: str, way: str) -> list[str]:
    """Every image from the page at `path` on, following `way` links (pages after or
    before a name, as the first page's last name starts them)."""
    body = api.get(path).json()
    seen = names(body)
    if way == "next" and body["meta"]["next"]:
        body = api.get(f"{path}&after={body['objects'][-1]['name']}").json()
        seen += names(body)
    while body["meta"][way]:
        body = api.get(body["meta"][way]).json()
        seen = seen + names(body) if way == "next" else names(body) + seen
    return seen


def test_a_cursor_in_build_date_order_names_an_image_of_the_list(api, alice, bob, make_image):
    make_image(bob, "secret", private=True)

    gone = api.get("/api/v1/image/?order_by=last_build_date&after=x")
    hidden = api.get(f"/api/v1/image/?order_by=-last_build_date&before={H}/bob/secret")

    assert gone.status_code == 400
    message = "No image named x in this list: start again from the first page."
    assert gone.json()["fields"] == {"after": [message]}
    # Another person's private image is no more there than one that does not exist.
    assert hidden.json()["fields"] == {
        "before": [f"No image named {H}/bob/secret in this list: start again from the first page."]
    }


def test_a_cursor_works_one_at_a_time(api):
    both = api.get("/api/v1/image/?after=a&before=b")
    huge = api.get("/api/v1/image/?offset=54444272794782371151872")

    assert both.json()["fields"] == {"before": ["Give either after or before, not both."]}
    assert huge.json()["fields"] == {
        "offset": ["'54444272794782371151872' is more than 1,000,000,000."]
    }
