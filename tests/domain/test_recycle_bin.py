"""Deleting tags and images to the recycle bin and restoring them, against our real registry:
what stays must pull with the same digests, what is in the bin must not pull at all, and what
comes back must be exactly what went."""

from __future__ import annotations

import pytest
import requests

from records.models import BinEntry, Image, Tag
from registry import client as oci
from registry.names import BIN_NAMESPACE
from registry.sync import sync_registry
from registry.tokens import service_token
from tests.fixtures.api import ApiClient
from tests.fixtures.our_registry import digest_served, wait_for_tag

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]


def settle(push_image, account, repo: str) -> None:
    """Wait until the registry's events so far have reached the API: they arrive in order, so
    a new push being recorded means every earlier event was."""
    push_image(account, repo, tag="settle")


def test_a_deleted_tag_stops_pulling_while_the_others_pull_with_the_same_digests(
    three_tags, our_registry, buildah, alice, push_image
):
    api = ApiClient(alice.basic())
    name = three_tags["a"].name

    response = api.delete(f"/api/v1/image/{name}/tag/b/")

    assert response.status_code == 204
    assert digest_served(our_registry, "alice/app", "b") is None
    assert digest_served(our_registry, "alice/app", three_tags["b"].digest) is None
    for tag in ("a", "c", "d"):
        assert digest_served(our_registry, "alice/app", tag) == three_tags[tag].digest
    buildah.run("pull", "--tls-verify=false", "--creds", f"alice:{alice.key}", f"{name}:c")
    listed = api.get(f"/api/v1/image/{name}/tag/").json()["objects"]
    assert sorted(t["name"] for t in listed) == ["a", "c", "d"]
    # The registry's own events for the bin's moves change nothing the API recorded.
    settle(push_image, alice, "app")
    assert set(Tag.objects.filter(image__name=name).values_list("name", flat=True)) == {
        "a",
        "c",
        "d",
        "settle",
    }


def test_deleting_one_of_two_tags_on_a_manifest_keeps_the_other_on_that_digest(
    three_tags, our_registry, alice, push_image
):
    api = ApiClient(alice.basic())
    name = three_tags["a"].name

    assert api.delete(f"/api/v1/image/{name}/tag/d/").status_code == 204

    assert digest_served(our_registry, "alice/app", "d") is None
    assert digest_served(our_registry, "alice/app", "a") == three_tags["a"].digest
    settle(push_image, alice, "app")
    kept = Tag.objects.get(image__name=name, name="a")
    assert (kept.digest, kept.pushed_by) == (three_tags["a"].digest, "alice")


def test_a_sync_makes_no_image_of_what_is_in_the_bin(push_image, alice):
    pushed = push_image(alice, "binned", tag="old")
    api = ApiClient(alice.basic())
    assert api.delete(f"/api/v1/image/{pushed.name}/tag/old/").status_code == 204

    sync_registry()

    assert not Image.objects.filter(name__contains=f"/{BIN_NAMESPACE}/").exists()
    assert not Tag.objects.filter(image__name=pushed.name, name="old").exists()
    assert api.get(f"/api/v1/image/{pushed.name}/deleted/").json()["meta"]["total_count"] == 1


def test_a_restored_tag_pulls_again_with_its_digest_and_its_layer_details(
    three_tags, our_registry, buildah, alice
):
    api = ApiClient(alice.basic())
    name = three_tags["b"].name
    before = api.get(f"/api/v1/image/{name}/tag/b/").json()
    api.delete(f"/api/v1/image/{name}/tag/b/")
    [entry] = api.get(f"/api/v1/image/{name}/deleted/").json()["objects"]
    assert (entry["tag"], entry["digest"], entry["deleted_by"]) == (
        "b",
        three_tags["b"].digest,
        "alice",
    )
    assert api.get(f"/api/v1/image/{name}/tag/b/").status_code == 404

    response = api.post(f"/api/v1/deleted/{entry['id']}/restore/")

    assert response.status_code == 200, response.json()
    assert response.json()["tags"] == ["b"]
    assert digest_served(our_registry, "alice/app", "b") == three_tags["b"].digest
    buildah.run("pull", "--tls-verify=false", "--creds", f"alice:{alice.key}", f"{name}:b")
    after = api.get(f"/api/v1/image/{name}/tag/b/").json()
    for field in ("digest", "size", "layer", "pushed_by", "platforms"):
        assert after[field] == before[field], field
    assert api.get(f"/api/v1/image/{name}/deleted/").json()["objects"] == []
    assert not BinEntry.objects.exists()


def test_several_tags_go_at_once_and_the_bin_lists_them_newest_first(three_tags, alice):
    api = ApiClient(alice.basic())
    name = three_tags["a"].name

    response = api.post(f"/api/v1/image/{name}/deleted/", {"tags": ["a", "c"]})

    assert response.status_code == 201, response.json()
    assert [e["tag"] for e in response.json()] == ["a", "c"]
    listed = api.get("/api/v1/deleted/?namespace=alice").json()
    assert listed["meta"]["total_count"] == 2
    assert {e["tag"] for e in listed["objects"]} == {"a", "c"}


def test_asking_to_delete_a_missing_tag_deletes_none_and_says_which(three_tags, alice):
    api = ApiClient(alice.basic())
    name = three_tags["a"].name

    response = api.post(f"/api/v1/image/{name}/deleted/", {"tags": ["a", "nope"]})

    assert response.status_code == 404
    assert "nope" in response.json()["error"]
    assert Tag.objects.filter(image__name=name, name="a").exists()
    assert not BinEntry.objects.exists()


def test_other_people_neither_see_nor_restore_nor_delete_what_is_in_alices_bin(
    three_tags, alice, bob
):
    api = ApiClient(alice.basic())
    name = three_tags["a"].name
    api.delete(f"/api/v1/image/{name}/tag/c/")
    entry = BinEntry.objects.get()
    stranger = ApiClient(bob.basic())

    assert stranger.get(f"/api/v1/deleted/{entry.pk}/").status_code == 404
    assert stranger.post(f"/api/v1/deleted/{entry.pk}/restore/").status_code == 404
    assert stranger.delete(f"/api/v1/deleted/{entry.pk}/").status_code == 404
    assert stranger.get("/api/v1/deleted/").json()["objects"] == []
    assert stranger.delete(f"/api/v1/image/{name}/tag/a/").status_code == 404


def test_a_deleted_image_comes_back_with_its_tags_and_digests(three_tags, our_registry, alice):
    api = ApiClient(alice.basic())
    name = three_tags["a"].name
    assert api.patch(f"/api/v1/image/{name}/", {"description": "kept"}).status_code == 200

    assert api.delete(f"/api/v1/image/{name}/").status_code == 204

    assert api.get(f"/api/v1/image/{name}/").status_code == 404
    for tag in ("a", "b", "c", "d"):
        assert digest_served(our_registry, "alice/app", tag) is None
    [entry] = api.get("/api/v1/deleted/?kind=image").json()["objects"]
    assert sorted(t["name"] for t in entry["tags"]) == ["a", "b", "c", "d"]

    assert api.post(f"/api/v1/deleted/{entry['id']}/restore/").status_code == 200

    image = api.get(f"/api/v1/image/{name}/").json()
    assert image["description"] == "kept"
    for tag in ("a", "b", "c", "d"):
        assert digest_served(our_registry, "alice/app", tag) == three_tags[tag].digest


def test_a_two_platform_index_goes_to_the_bin_whole_and_comes_back_whole(
    our_registry, buildah, alice
):
    refs = [
        buildah.make_image("localhost/bin-multi:one", files={"/one": b"1"}),
        buildah.make_image("localhost/bin-multi:two", files={"/two": b"2"}),
    ]
    name = f"{our_registry.host}/alice/multi"
    digest = buildah.push_index(refs, f"{name}:1", f"alice:{alice.key}")
    wait_for_tag(name, "1", digest)
    token = service_token(["repository:alice/multi:pull"])
    index = requests.get(
        f"{our_registry.url}/v2/alice/multi/manifests/{digest}",
        headers={"Authorization": f"Bearer {token}", "Accept": oci.OCI_INDEX},
        timeout=10,
    ).json()
    children = [m["digest"] for m in index["manifests"]]
    api = ApiClient(alice.basic())

    assert api.delete(f"/api/v1/image/{name}/tag/1/").status_code == 204

    for reference in (digest, *children):
        assert digest_served(our_registry, "alice/multi", reference) is None
    entry = BinEntry.objects.get()
    assert api.post(f"/api/v1/deleted/{entry.pk}/restore/").status_code == 200
    for reference in (digest, *children):
        assert digest_served(our_registry, "alice/multi", reference) == reference


def test_deleting_a_tag_that_an_index_lists_leaves_the_index_whole(our_registry, buildah, alice):
    refs = [
        buildah.make_image("localhost/bin-listed:one", files={"/one": b"one"}),
        buildah.make_image("localhost/bin-listed:two", files={"/two": b"two"}),
    ]
    name = f"{our_registry.host}/alice/listed"
    creds = f"alice:{alice.key}"
    index = buildah.push_index(refs, f"{name}:latest", creds)
    wait_for_tag(name, "latest", index)
    one = buildah.push(refs[0], f"{name}:one", creds)
    wait_for_tag(name, "one", one)
    api = ApiClient(alice.basic())

    assert api.delete(f"/api/v1/image/{name}/tag/one/").status_code == 204

    assert digest_served(our_registry, "alice/listed", "one") is None
    # The platform stays by its digest, for the index that lists it.
    assert digest_served(our_registry, "alice/listed", one) == one
    assert digest_served(our_registry, "alice/listed", "latest") == index
    pulled = buildah.run("pull", "--tls-verify=false", "--creds", creds, f"{name}:latest")
    assert pulled.returncode == 0
