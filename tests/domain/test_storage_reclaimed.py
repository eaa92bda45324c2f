"""Garbage collection really frees what the recycle bin purged, exactly, while pushes go on,
against our real registry and buildah (the collection under load: test_collection_under_load.py)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from io import StringIO

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from lifecycle import bin as recycle_bin
from lifecycle.collect import CollectFailed, collect
from records.models import BinEntry, Collection, Maintenance
from registry import client as oci
from registry import writers
from registry.locks import CollectionRunning
from registry.storage import open_storage
from registry.tokens import service_token
from tests.fixtures.api import ApiClient
from tests.fixtures.collections import collection_held_once_marked
from tests.fixtures.our_registry import collect_when_quiet, digest_served, until_nobody_writes
from tests.fixtures.registry import Buildah

pytestmark = [
    pytest.mark.registry,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("short_tokens"),
]


def registry_get(registry, repository: str, path: str, accept: str = oci.ACCEPT):
    token = service_token([f"repository:{repository}:pull"])
    return requests.get(
        f"{registry.url}/v2/{repository}/{path}",
        headers={"Authorization": f"Bearer {token}", "Accept": accept},
        timeout=10,
    )


def manifest_of(registry, repository: str, reference: str) -> tuple[dict, int]:
    response = registry_get(registry, repository, f"manifests/{reference}")
    response.raise_for_status()
    return json.loads(response.content), len(response.content)


def pulls_whole(registry, repository: str, reference: str) -> bool:
    """Whether the manifest and every blob it names are served, each matching its digest."""
    response = registry_get(registry, repository, f"manifests/{reference}")
    if response.status_code != 200:
        return False
    manifest = json.loads(response.content)
    for blob in [manifest["config"], *manifest["layers"]]:
        served = registry_get(registry, repository, f"blobs/{blob['digest']}")
        digest = "sha256:" + hashlib.sha256(served.content).hexdigest()
        if served.status_code != 200 or digest != blob["digest"]:
            return False
    return True


def fresh_pull(tmp_path, reference: str, creds: str):
    """`buildah pull` into empty storage, so every layer comes from the registry."""
    helper = Buildah(tmp_path / "fresh-buildah")
    (helper.root).mkdir()
    (helper.root / "auth.json").write_text('{"auths": {}}')
    return helper.run("pull", "--tls-verify=false", "--creds", creds, reference, check=False)


def assert_the_others_pull_whole(registry, three_tags, account, tmp_path) -> None:
    """After b went: a, c and d serve their digests and pull whole, c into empty storage too."""
    for tag in ("a", "c", "d"):
        assert digest_served(registry, "alice/app", tag) == three_tags[tag].digest
        assert pulls_whole(registry, "alice/app", tag), tag
    pulled = fresh_pull(tmp_path, f"{three_tags['c'].name}:c", f"alice:{account.key}")
    assert pulled.returncode == 0, pulled.stderr


def test_collecting_after_a_purge_frees_the_deleted_tags_own_blobs_and_the_rest_pulls(
    three_tags, our_registry, alice, tmp_path, scrape
):
    api = ApiClient(alice.basic())
    name = three_tags["b"].name
    # The registry is the session's: first purge and collect what earlier tests left (the bin
    # repositories of entries their database no longer has, tags they overwrote), so the
    # figure below is this tag's alone.
    recycle_bin.purge_expired()
    collect_when_quiet()
    b, b_manifest_bytes = manifest_of(our_registry, "alice/app", "b")
    a, _ = manifest_of(our_registry, "alice/app", "a")
    shared = {layer["digest"] for layer in a["layers"]}
    own = [layer for layer in b["layers"] if layer["digest"] not in shared]
    assert len(own) == 1 and own[0]["size"] > 200_000
    own_bytes = own[0]["size"] + b["config"]["size"]
    assert api.delete(f"/api/v1/image/{name}/tag/b/").status_code == 204
    BinEntry.objects.update(deleted_at=timezone.now() - timedelta(days=settings.RECYCLE_DAYS + 1))
    assert recycle_bin.purge_expired().entries == 1
    freed_before = scrape().value("tutumweb_gc_freed_bytes_total")
    until_nobody_writes()
    stored_before = blob_bytes()

    collected = collect()

    print(
        f"\nfreed {collected.bytes_freed} bytes ({collected.bytes_before} -> "
        f"{collected.bytes_after}); b's own layer + config {own_bytes}, manifest "
        f"{b_manifest_bytes}; {collected.blobs_deleted} blobs in {collected.seconds:.2f} s"
    )
    # b's layer, config and manifest blobs go, nothing else: what the storage lost is exactly
    # what the collection says it freed.
    assert collected.bytes_freed == own_bytes + b_manifest_bytes
    assert stored_before - blob_bytes() == collected.bytes_freed
    assert collected.blobs_deleted == 3
    assert collected.bin_repositories_removed == 1
    recorded = Collection.objects.first()  # the latest, kept for its history
    assert recorded.state == Collection.State.DONE and recorded.finished is not None
    assert (recorded.blobs_deleted, recorded.bytes_freed) == (3, collected.bytes_freed)
    freed = scrape().value("tutumweb_gc_freed_bytes_total") - freed_before
    assert freed == collected.bytes_freed
    assert registry_get(our_registry, "alice/app", f"blobs/{own[0]['digest']}").status_code == 404
    assert_the_others_pull_whole(our_registry, three_tags, alice, tmp_path)
    catalog = requests.get(
        f"{our_registry.url}/v2/_catalog",
        headers={"Authorization": f"Bearer {service_token(['registry:catalog:*'])}"},
        timeout=10,
    ).json()["repositories"]
    assert "alice/app" in catalog
    assert not any(r.startswith("recycle__bin/") for r in catalog)


def test_a_tag_in_the_bin_survives_a_collection_and_comes_back_whole(
    three_tags, our_registry, alice
):
    api = ApiClient(alice.basic())
    name = three_tags["b"].name
    assert api.delete(f"/api/v1/image/{name}/tag/b/").status_code == 204

    collected = collect_when_quiet()

    assert collected.blobs_deleted == 0
    entry = BinEntry.objects.get()
    assert api.post(f"/api/v1/deleted/{entry.pk}/restore/").status_code == 200
    assert digest_served(our_registry, "alice/app", "b") == three_tags["b"].digest
    assert pulls_whole(our_registry, "alice/app", "b")


def test_housekeeping_purges_the_expired_bin_and_collects_right_away(three_tags, alice):
    api = ApiClient(alice.basic())
    assert api.delete(f"/api/v1/image/{three_tags['c'].name}/tag/c/").status_code == 204
    BinEntry.objects.update(deleted_at=timezone.now() - timedelta(days=settings.RECYCLE_DAYS + 1))
    out = StringIO()
    until_nobody_writes()

    call_command("housekeeping", stdout=out)

    [report] = [line for line in out.getvalue().splitlines() if line.startswith("recycle bin:")]
    assert report.startswith("recycle bin: purged 1 expired entries"), report
    # c's layer, config and manifest at least (earlier tests may have left garbage too).
    blobs = int(re.search(r", (\d+) blobs,", report)[1])
    assert "garbage collection freed" in report and blobs >= 3, report
    assert Maintenance.objects.get().last_collected is not None
    assert not BinEntry.objects.exists()


CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"


def blob_bytes() -> int:
    """What the registry's blobs hold, walked on its storage."""
    return sum(blob.size for blob in open_storage(settings.REGISTRY_CONFIG).blobs())


def served(registry, repository: str, digest: str) -> bool:
    return registry_get(registry, repository, f"blobs/{digest}").status_code == 200


@pytest.fixture
def purged_b(three_tags, our_registry, alice):
    """b deleted and purged: b's own layer is garbage, still linked in alice/app (a push there
    may be told it exists)."""
    b, _ = manifest_of(our_registry, "alice/app", "b")
    a, _ = manifest_of(our_registry, "alice/app", "a")
    [own] = [layer["digest"] for layer in b["layers"] if layer not in a["layers"]]
    response = ApiClient(alice.basic()).delete(f"/api/v1/image/{three_tags['b'].name}/tag/b/")
    assert response.status_code == 204
    BinEntry.objects.update(deleted_at=timezone.now() - timedelta(days=settings.RECYCLE_DAYS + 1))
    recycle_bin.purge_expired()
    until_nobody_writes()
    return own


def test_a_blob_a_repository_being_pushed_to_links_waits_for_a_later_run(purged_b, our_registry):
    writers.note(["alice/app"], timezone.now() + timedelta(seconds=3))

    first = collect()

    assert first.blobs_deferred >= 1 and served(our_registry, "alice/app", purged_b)
    second = collect_when_quiet()
    assert second.blobs_deleted >= 1 and not served(our_registry, "alice/app", purged_b)


def test_a_push_that_starts_while_a_blob_is_set_aside_gets_it_back_at_once(purged_b, our_registry):
    seen = []

    def a_push_token_for_alice_app_arrives(step: str, digest: str) -> None:
        # A client got a token and was told the blob exists just before it was set aside.
        if step == "set aside" and digest == purged_b:
            seen.append(served(our_registry, "alice/app", purged_b))
            writers.note(["alice/app"], timezone.now() + timedelta(seconds=3))

    collected = collect(checkpoint=a_push_token_for_alice_app_arrives)

    assert seen == [False]  # out of the registry's sight while set aside
    assert collected.blobs_restored >= 1
    assert served(our_registry, "alice/app", purged_b)


def test_a_manifest_written_after_its_check_passed_gets_its_blob_back(purged_b, our_registry):
    storage = open_storage(settings.REGISTRY_CONFIG)
    root = storage.root / "docker/registry/v2"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": purged_b,
                "size": 1,
            },
            "layers": [],
        }
    ).encode()
    digest = hashlib.sha256(manifest).hexdigest()

    def the_registry_writes_a_manifest_it_checked_a_moment_ago(step: str, named: str) -> None:
        # What the registry does after its check of the blobs passed: the manifest's bytes,
        # then its revision link (here without the registry, which would check again).
        if step == "set aside" and named == purged_b:
            blob = root / "blobs/sha256" / digest[:2] / digest / "data"
            blob.parent.mkdir(parents=True)
            blob.write_bytes(manifest)
            link = root / "repositories/alice/late/_manifests/revisions/sha256" / digest / "link"
            link.parent.mkdir(parents=True)
            link.write_text(f"sha256:{digest}")

    collected = collect(checkpoint=the_registry_writes_a_manifest_it_checked_a_moment_ago)

    assert collected.blobs_restored == 1
    assert served(our_registry, "alice/app", purged_b)
    assert purged_b not in storage.set_aside_digests()


def test_what_a_run_that_stopped_set_aside_is_put_back_by_the_next(three_tags, our_registry):
    storage = open_storage(settings.REGISTRY_CONFIG)
    a, _ = manifest_of(our_registry, "alice/app", "a")
    layer = a["layers"][0]["digest"]
    assert storage.set_aside(layer, unless=lambda digest: False)
    assert not served(our_registry, "alice/app", layer)

    collect_when_quiet()

    assert served(our_registry, "alice/app", layer)
    assert pulls_whole(our_registry, "alice/app", "a")


def test_a_blob_written_within_the_grace_period_is_kept(purged_b, our_registry, settings):
    settings.GC_GRACE_MINUTES = 60

    collected = collect()

    assert collected.blobs_deleted == 0 and served(our_registry, "alice/app", purged_b)


def test_only_one_collection_runs_at_a_time(three_tags, our_registry):
    with collection_held_once_marked() as first:
        assert Collection.objects.filter(state=Collection.State.RUNNING).count() == 1
        with pytest.raises(CollectionRunning):
            collect()

    assert first["run"].state == Collection.State.DONE


def test_a_run_that_fails_half_way_puts_back_what_it_set_aside(purged_b, our_registry):
    def the_storage_fails_once_a_blob_is_set_aside(step: str, digest: str) -> None:
        if step == "set aside":
            raise OSError("the disk went away")

    with pytest.raises(CollectFailed, match="the disk went away"):
        collect(checkpoint=the_storage_fails_once_a_blob_is_set_aside)

    assert served(our_registry, "alice/app", purged_b)
    assert open_storage(settings.REGISTRY_CONFIG).set_aside_digests() == []
    failed = Collection.objects.first()
    assert (failed.state, failed.error) == (Collection.State.FAILED, "the disk went away")
