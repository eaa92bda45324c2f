"""Manifests left untagged when a tag is pushed again: noted when it happens, removed by a
cleanup policy's untagged rule through the recycle bin, never while pulled by digest or
listed by an index that stays; against our real registry and buildah."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from lifecycle import bin as recycle_bin
from lifecycle import policies
from records.models import AuditEvent, BinEntry, Tag, UntaggedManifest
from registry.sync import sync_repository
from tests.domain.test_storage_reclaimed import (
    fresh_pull,
    manifest_of,
    pulls_whole,
    registry_get,
)
from tests.fixtures.api import ApiClient
from tests.fixtures.our_registry import collect_when_quiet, digest_served, wait_for_tag

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]
RULES = {"untagged_days": 7, "keep_pulled_days": 30}


def new_image(buildah, name: str, size: int = 200_000) -> str:
    """A local image with a layer of its own (random bytes: they do not compress)."""
    return buildah.make_image(f"localhost/untagged-{name}:1", files={f"/{name}": os.urandom(size)})


def untagged() -> set[str]:
    return set(UntaggedManifest.objects.values_list("digest", flat=True))


def age_untagged(days: int = 8) -> None:
    UntaggedManifest.objects.update(untagged_since=timezone.now() - timedelta(days=days))


def save_policy(api, name: str, rules: dict) -> None:
    path = f"/api/v1/image/{name}/cleanup-policy/"
    response = api.put(path, rules, content_type="application/json")
    assert response.status_code == 200, response.json()


def own_layers(registry, repository: str, digests: list[str], keeping: str) -> dict[str, int]:
    """The layers of `digests` that the manifest `keeping` does not hold, with their sizes."""
    kept = {layer["digest"] for layer in manifest_of(registry, repository, keeping)[0]["layers"]}
    own = {}
    for digest in digests:
        for layer in manifest_of(registry, repository, digest)[0]["layers"]:
            if layer["digest"] not in kept:
                own[layer["digest"]] = layer["size"]
    return own


def children(registry, repository: str, digest: str) -> list[str]:
    index = json.loads(registry_get(registry, repository, f"manifests/{digest}").content)
    return [entry["digest"] for entry in index["manifests"]]


def push_three_times(push_image, buildah, account, repo: str) -> list:
    """`latest` pushed three times with different content: the first two are left untagged."""
    return [
        push_image(account, repo, tag="latest", ref=new_image(buildah, f"{repo}-{n}"))
        for n in range(3)
    ]


def test_pushing_a_tag_again_leaves_its_old_manifest_untagged_until_a_tag_names_it_again(
    push_image, buildah, alice
):
    first = push_image(alice, "moved", ref=new_image(buildah, "moved-1"))
    second = push_image(alice, "moved", ref=new_image(buildah, "moved-2"))

    row = UntaggedManifest.objects.get()
    assert (row.digest, row.last_tag, row.pushed_by) == (first.digest, "latest", "alice")
    assert row.size and row.layer is not None and row.untagged_since <= timezone.now()

    push_image(alice, "moved", tag="v1", ref="localhost/untagged-moved-1:1")
    assert untagged() == set()

    third = push_image(alice, "moved", ref=new_image(buildah, "moved-3"))
    push_image(alice, "moved", tag="stable", ref="localhost/untagged-moved-3:1")
    push_image(alice, "moved", ref=new_image(buildah, "moved-4"))
    # latest left the second for the third (no tag left on it), then the third, which
    # `stable` still names.
    assert untagged() == {second.digest}
    assert Tag.objects.get(image__name=first.name, name="stable").digest == third.digest


def test_the_sync_notes_a_tag_it_finds_moved(push_image, buildah, alice):
    first = push_image(alice, "quiet", ref=new_image(buildah, "quiet-1"))
    tag = Tag.objects.filter(image__name=first.name, name="latest")
    fields = ("digest", "media_type", "size", "platforms", "layer", "pushed_at", "pushed_by")
    as_first = tag.values(*fields).get()
    second = push_image(alice, "quiet", ref=new_image(buildah, "quiet-2"))
    # As if the notification of the second push had never come.
    tag.update(**as_first)
    UntaggedManifest.objects.all().delete()

    report = sync_repository(first.repository)

    assert report.recorded == 1
    assert tag.get().digest == second.digest
    row = UntaggedManifest.objects.get()
    assert (row.digest, row.last_tag) == (first.digest, "latest")


@pytest.mark.usefixtures("short_tokens")
def test_the_untagged_rule_moves_the_old_manifests_to_the_bin_and_purging_frees_their_blobs(
    push_image, buildah, alice, our_registry
):
    pushes = push_three_times(push_image, buildah, alice, "ci")
    name, repository, latest = pushes[0].name, pushes[0].repository, pushes[2].digest
    old = [pushes[0].digest, pushes[1].digest]
    assert untagged() == set(old)
    age_untagged()
    own = own_layers(our_registry, repository, old, latest)
    assert len(own) == 2
    api = ApiClient(alice.basic())

    preview = api.post(f"/api/v1/image/{name}/cleanup-policy/preview/", RULES).json()
    save_policy(api, name, RULES)
    [run] = policies.run_all()

    assert (preview["count"], preview["untagged_count"]) == (0, 2)
    [item] = preview["images"]
    assert [u["digest"] for u in item["untagged"]] == old
    assert {u["last_tag"] for u in item["untagged"]} == {"latest"}
    # The bytes they free: each one's own layer; the base layer stays with latest.
    assert preview["untagged_freed"] == preview["freed"] == sum(own.values())
    assert [(r["tag"], r["digest"]) for r in run.removed] == [(None, d) for d in old]
    assert run.removed_bytes == preview["untagged_size"] > 0
    assert sorted(BinEntry.objects.values_list("kind", "digest")) == sorted(
        ("untagged", d) for d in old
    )
    for digest in old:
        assert digest_served(our_registry, repository, digest) is None
    assert digest_served(our_registry, repository, "latest") == latest
    assert untagged() == set()
    listed = api.get("/api/v1/deleted/?kind=untagged").json()["objects"]
    assert {(e["digest"], e["tag"], e["last_tag"]) for e in listed} == {
        (d, None, "latest") for d in old
    }

    BinEntry.objects.update(deleted_at=timezone.now() - timedelta(days=settings.RECYCLE_DAYS + 1))
    assert recycle_bin.purge_expired().entries == 2
    collect_when_quiet()

    for blob in own:
        assert registry_get(our_registry, repository, f"blobs/{blob}").status_code == 404
    assert pulls_whole(our_registry, repository, "latest")


def wait_for_pull(digest: str, seconds: float = 30) -> UntaggedManifest:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = UntaggedManifest.objects.filter(digest=digest, last_pulled__isnull=False).first()
        if row is not None:
            return row
        time.sleep(0.1)
    raise AssertionError(f"the pull of {digest} was never noted")


def test_a_digest_pulled_by_its_digest_recently_stays_and_still_pulls(
    push_image, buildah, alice, our_registry, tmp_path
):
    pushes = push_three_times(push_image, buildah, alice, "pinned")
    name, repository = pushes[0].name, pushes[0].repository
    pinned, dropped = pushes[0].digest, pushes[1].digest
    pulled = fresh_pull(tmp_path, f"{name}@{pinned}", f"alice:{alice.key}")
    assert pulled.returncode == 0, pulled.stderr
    wait_for_pull(pinned)
    age_untagged()
    api = ApiClient(alice.basic())
    save_policy(api, name, RULES)

    [run] = policies.run_all()

    assert [r["digest"] for r in run.removed] == [dropped]
    assert untagged() == {pinned}
    assert digest_served(our_registry, repository, pinned) == pinned
    assert pulls_whole(our_registry, repository, pinned)
    assert digest_served(our_registry, repository, dropped) is None


@pytest.mark.usefixtures("short_tokens")
def test_a_restored_untagged_manifest_pulls_by_digest_again_and_one_purged_is_freed(
    push_image, buildah, alice, our_registry, tmp_path
):
    pushes = push_three_times(push_image, buildah, alice, "back")
    name, repository = pushes[0].name, pushes[0].repository
    back, gone = pushes[0].digest, pushes[1].digest
    own_gone = own_layers(our_registry, repository, [gone], pushes[2].digest)
    age_untagged()
    api = ApiClient(alice.basic())
    save_policy(api, name, RULES)
    policies.run_all()
    entries = {entry.digest: entry for entry in BinEntry.objects.all()}

    restored = api.post(f"/api/v1/deleted/{entries[back].pk}/restore/")

    assert restored.status_code == 200, restored.json()
    assert restored.json()["tags"] == []
    assert digest_served(our_registry, repository, back) == back
    pulled = fresh_pull(tmp_path, f"{name}@{back}", f"alice:{alice.key}")
    assert pulled.returncode == 0, pulled.stderr
    row = UntaggedManifest.objects.get()
    assert (row.digest, row.last_tag) == (back, "latest")
    # Its days count again from the restore: the next run leaves it alone.
    assert row.untagged_since > timezone.now() - timedelta(minutes=5)
    assert AuditEvent.objects.filter(action="untagged.restore", target=f"{name}@{back}").exists()
    assert not Tag.objects.filter(image__name=name, digest=back).exists()

    assert api.delete(f"/api/v1/deleted/{entries[gone].pk}/").status_code == 204
    collect_when_quiet()

    for blob in own_gone:
        assert registry_get(our_registry, repository, f"blobs/{blob}").status_code == 404
    assert pulls_whole(our_registry, repository, back)
    assert not BinEntry.objects.exists()


def test_an_index_keeps_what_it_lists_and_an_untagged_index_goes_with_its_own_manifests(
    our_registry, buildah, alice
):
    creds = f"alice:{alice.key}"
    repository = "alice/multi-untagged"
    name = f"{our_registry.host}/{repository}"

    def push(ref: str, tag: str, *, index: list[str] | None = None) -> str:
        destination = f"{name}:{tag}"
        if index:
            digest = buildah.push_index(index, destination, creds)
        else:
            digest = buildah.push(ref, destination, creds)
        wait_for_tag(name, tag, digest)
        return digest

    one, two, three, four = (new_image(buildah, f"index-{n}", 20_000) for n in range(4))
    first = push("", "latest", index=[one, two])
    stable = push("", "stable", index=[one, three])
    shared = set(children(our_registry, repository, first)) & set(
        children(our_registry, repository, stable)
    )
    [only_first] = set(children(our_registry, repository, first)) - shared
    # One of stable's platforms was once a tag of its own, and is untagged now.
    solo = push(one, "solo")
    assert shared == {solo}
    push(four, "solo")
    push(four, "latest")
    assert untagged() == {solo, first}
    age_untagged()
    api = ApiClient(alice.basic())

    preview = api.post(f"/api/v1/image/{name}/cleanup-policy/preview/", RULES).json()
    save_policy(api, name, RULES)
    [run] = policies.run_all()

    assert [u["digest"] for u in preview["images"][0]["untagged"]] == [first]
    assert [r["digest"] for r in run.removed] == [first]
    assert digest_served(our_registry, repository, first) is None
    assert digest_served(our_registry, repository, only_first) is None
    assert untagged() == {solo}
    assert digest_served(our_registry, repository, "stable") == stable
    for child in children(our_registry, repository, stable):
        assert digest_served(our_registry, repository, child) == child
        assert pulls_whole(our_registry, repository, child)

    entry = BinEntry.objects.get()
    assert api.post(f"/api/v1/deleted/{entry.pk}/restore/").status_code == 200
    for digest in (first, only_first, solo):
        assert digest_served(our_registry, repository, digest) == digest
    assert untagged() == {solo, first}
