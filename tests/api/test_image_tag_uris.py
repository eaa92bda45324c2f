"""An image's tag URIs (the spec's `tags`) at any number of tags: kept ready for an image
with many (api.images.kept), always what the tags are now; `?tags=none` leaves them out, and
`tag_count` and `pull_tag` say what the web admin needs instead."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches

from api.images import kept
from records.models import Image, Layer, Tag

H = settings.REGISTRY_HOST


@pytest.fixture
def keep_from_three(monkeypatch):
    """Images of 3 tags or more have their tag URIs kept (100,000 would be slow to make)."""
    monkeypatch.setattr(kept, "KEEP_FROM", 3)
    caches["kept"].clear()


def uris(image: Image, *names: str) -> list[str]:
    return [f"/api/v1/image/{image.name}/tag/{name}/" for name in names]


def test_an_image_with_many_tags_answers_every_tag_uri_in_name_order(
    api, alice, make_image, keep_from_three
):
    image = make_image(alice, "many", tags=("v2", "latest", "v10", "v1"))

    shown = api.get(f"/api/v1/image/{image.name}/").json()
    listed = api.get("/api/v1/image/").json()["objects"][0]

    assert shown["tags"] == uris(image, "latest", "v1", "v10", "v2")
    assert listed["tags"] == shown["tags"]
    assert shown["tag_count"] == listed["tag_count"] == 4


def test_the_kept_tag_uris_follow_every_change_of_the_tags(api, alice, make_image, keep_from_three):
    image = make_image(alice, "many", tags=("a", "b", "c"))
    url = f"/api/v1/image/{image.name}/"
    assert api.get(url).json()["tags"] == uris(image, "a", "b", "c")

    Tag.objects.create(image=image, name="d")
    assert api.get(url).json()["tags"] == uris(image, "a", "b", "c", "d")
    Tag.objects.filter(image=image, name="a").update(name="e")  # no save(), no signal
    assert api.get(url).json()["tags"] == uris(image, "b", "c", "d", "e")
    Tag.objects.filter(image=image, name="b").delete()
    assert api.get(url).json()["tags"] == uris(image, "c", "d", "e")
    Tag.objects.filter(image=image, name__in=["c", "d"]).delete()  # below KEEP_FROM
    assert api.get(url).json()["tags"] == uris(image, "e")
    assert api.get(url).json()["tag_count"] == 1


def test_a_list_with_images_of_many_and_of_few_tags_answers_each_its_own(
    api, alice, make_image, keep_from_three, monkeypatch
):
    make_image(alice, "a-few", tags=("latest",))
    make_image(alice, "b-many", tags=("x", "y", "z", "w"))
    make_image(alice, "c-none", tags=())
    make_image(alice, "d-many", tags=("1", "2", "3"))
    kept_answer = api.get("/api/v1/image/")

    monkeypatch.setattr(kept, "KEEP_FROM", 10**9)
    made_answer = api.get("/api/v1/image/")

    assert kept_answer.json() == made_answer.json()
    assert [len(i["tags"]) for i in kept_answer.json()["objects"]] == [1, 4, 0, 3]


def test_the_storage_of_an_image_with_many_tags_follows_its_layers(
    api, alice, make_image, keep_from_three
):
    image = make_image(alice, "many", tags=())

    def layer(name: str, *blobs: tuple[str, int]) -> Layer:
        layers = [{"digest": d, "size": s, "media_type": "gzip"} for d, s in blobs]
        return Layer.objects.create(docker_id=name * 64, layers=layers)

    shared = layer("a", ("sha256:base", 100), ("sha256:app", 10))
    for name in ("v1", "v2", "v3"):
        Tag.objects.create(image=image, name=name, layer=shared)
    url = f"/api/v1/image/{image.name}/"
    assert api.get(url).json()["storage_size"] == 110

    Tag.objects.filter(image=image, name="v3").update(
        layer=layer("b", ("sha256:base", 100), ("sha256:new", 7))
    )
    assert api.get(url).json()["storage_size"] == 117


def test_tags_none_leaves_the_tag_uris_out_and_says_how_many(api, alice, make_image):
    image = make_image(alice, "app", tags=("latest", "v1"))

    shown = api.get(f"/api/v1/image/{image.name}/?tags=none").json()
    listed = api.get("/api/v1/image/?tags=none").json()["objects"][0]
    everything = api.get(f"/api/v1/image/{image.name}/?tags=all").json()

    assert "tags" not in shown and "tags" not in listed
    assert shown["tag_count"] == listed["tag_count"] == 2
    assert everything["tags"] == uris(image, "latest", "v1")
    assert {k: v for k, v in everything.items() if k != "tags"} == shown


def test_tags_other_than_all_or_none_is_a_400_naming_it(api, alice, make_image):
    image = make_image(alice, "app")

    for url in (f"/api/v1/image/{image.name}/?tags=some", "/api/v1/image/?tags=1"):
        response = api.get(url)
        assert response.status_code == 400
        assert response.json()["fields"] == {"tags": [response.json()["fields"]["tags"][0]]}
        assert "is not one of: all, none" in response.json()["fields"]["tags"][0]


@pytest.mark.parametrize(
    ("tags", "pulled"),
    [
        (("v2", "latest", "a1"), "latest"),
        (("v2", "v10", "1.0"), "1.0"),
        ((), None),
    ],
)
def test_pull_tag_is_latest_or_else_the_first_tag_by_name(api, alice, make_image, tags, pulled):
    image = make_image(alice, "app", tags=tags)

    assert api.get(f"/api/v1/image/{image.name}/?tags=none").json()["pull_tag"] == pulled


def test_a_description_that_looks_like_a_kept_list_stays_as_written(
    api, alice, make_image, keep_from_three
):
    description = "\x00kept:" + "0" * 32 + "\x00 and more"
    image = make_image(alice, "many", tags=("a", "b", "c"), description=description)

    shown = api.get(f"/api/v1/image/{image.name}/").json()

    assert shown["description"] == description
    assert shown["tags"] == uris(image, "a", "b", "c")
