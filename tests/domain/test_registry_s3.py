"""Our registry on S3-compatible object storage (Distribution's `s3` driver on SeaweedFS's S3
gateway): pushes and pulls, the sync reading tags' digests from the bucket, garbage
collection, the recycle bin and the uploads under way, with real buildah pushes to a live API.

Each test gets a registry of its own on a fresh root directory of the session's bucket, so
what one pushes is not in another's catalog. A second registry on the same root directory,
sending no notifications, stands for a push the API missed: only a sync can find it.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import time
from collections import Counter
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from lifecycle import bin as recycle_bin
from lifecycle.collect import collect
from records.models import BinEntry, Image, State, Tag
from registry import storage_s3
from registry.storage import open_storage
from registry.sync import SyncReport, sync_registry
from registry.tokens import service_token
from tests.domain.test_collection_under_load import (
    Load,
    assert_a_quiet_collection_frees_exactly_what_nothing_names,
    assert_whole,
    collect_under_load,
)
from tests.domain.test_storage_reclaimed import (
    assert_the_others_pull_whole,
    blob_bytes,
    fresh_pull,
    manifest_of,
    pulls_whole,
    registry_get,
)
from tests.fixtures.api import ApiClient
from tests.fixtures.our_registry import (
    collect_when_quiet,
    digest_served,
    serving_as_ours,
    start_our_registry,
    until_nobody_writes,
)
from tests.fixtures.ports import free_port
from tests.fixtures.sync_counts import copy_names, record_as

pytestmark = [
    pytest.mark.registry,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("short_tokens"),
]

_roots = itertools.count()


@pytest.fixture
def bucket_root():
    """A root directory of the bucket no other test's registry uses."""
    return f"/s3-test-{os.getpid()}-{next(_roots)}"


@pytest.fixture
def our_registry(live_server, seaweedfs, bucket_root, tmp_path):
    """Ours for this test (the settings say so): on the bucket, notifying the API."""
    storage = seaweedfs.storage(rootdirectory=bucket_root)
    registry = start_our_registry(tmp_path / "ours", live_server.url, free_port(), storage)
    with serving_as_ours(registry):
        yield registry
    registry.stop()


@pytest.fixture
def quiet_registry(our_registry, live_server, seaweedfs, bucket_root, tmp_path):
    """Another registry on the same root directory that notifies nobody."""
    storage = seaweedfs.storage(rootdirectory=bucket_root)
    registry = start_our_registry(
        tmp_path / "quiet", live_server.url, free_port(), storage, notify=False
    )
    yield registry
    registry.stop()


@pytest.fixture
def bucket_requests(monkeypatch) -> Counter:
    """The requests our storage reader sends to the bucket, by S3 operation."""
    counted: Counter = Counter()
    make_client = storage_s3.make_client

    def counting_client(parameters):
        client = make_client(parameters)
        # A handler must answer None: anything else would stand for the bucket's answer.
        client.meta.events.register(
            "before-call.s3", lambda model, **_: counted.update([model.name])
        )
        return client

    monkeypatch.setattr(storage_s3, "make_client", counting_client)
    return counted


def repositories_prefix(bucket_root: str) -> str:
    return f"{bucket_root.strip('/')}/docker/registry/v2/repositories/"


def push_quietly(buildah, registry, account, repository: str, tag: str, ref: str) -> str:
    creds = f"{account.username}:{account.key}"
    return buildah.push(ref, f"{registry.host}/{repository}:{tag}", creds)


def test_an_image_pushed_to_the_bucket_pulls_back_whole(
    push_image, our_registry, seaweedfs, bucket_root, alice, tmp_path
):
    pushed = push_image(alice, "app")

    assert pulls_whole(our_registry, "alice/app", "latest")
    pulled = fresh_pull(tmp_path, f"{pushed.name}:latest", f"alice:{alice.key}")
    assert pulled.returncode == 0, pulled.stderr
    tag = Tag.objects.get(image__name=pushed.name, name="latest")
    assert (tag.digest, tag.state) == (pushed.digest, State.SUCCESS)
    # The registry's storage is the bucket alone: nothing was written on this machine.
    assert not (our_registry.root / "storage").exists()
    link = f"{repositories_prefix(bucket_root)}alice/app/_manifests/tags/latest/current/link"
    stored = seaweedfs.client().get_object(Bucket=seaweedfs.bucket, Key=link)
    assert stored["Body"].read().decode() == pushed.digest
    # The ETag the sync compares is the MD5 of the digest (SeaweedFS as AWS S3).
    assert stored["ETag"].strip('"') == storage_s3.link_etag(pushed.digest)


def test_a_sync_of_unchanged_repositories_lists_each_once_and_reads_no_link(
    push_image, seaweedfs, bucket_root, alice, bucket_requests, registry_requests, timed
):
    count = 200
    push_image(alice, "app")
    copies = copy_names(count - 1)
    started = time.monotonic()
    copy_repository(seaweedfs, bucket_root, "alice/app", copies)
    timed(f"{len(copies)} repositories copied in the bucket", started)
    record_as("alice/app", copies)
    bucket_requests.clear()
    registry_requests.clear()

    started = time.monotonic()
    report = sync_registry()
    timed(
        f"a sync of {count} unchanged repositories on S3 ({sum(bucket_requests.values())} "
        "requests to the bucket)",
        started,
    )

    assert report == SyncReport(repositories=count, unchanged=count, read_from_storage=count)
    assert bucket_requests == {"ListObjectsV2": count}
    assert registry_requests == {"catalog": math.ceil(count / 1000)}


def copy_repository(seaweedfs, bucket_root: str, source: str, targets: list[str]) -> None:
    """Copies of `source`'s files (links to the same blobs) under other names, in the bucket."""
    client = seaweedfs.client()
    prefix = repositories_prefix(bucket_root)
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=seaweedfs.bucket, Prefix=f"{prefix}{source}/"
    )
    keys = [item["Key"] for page in pages for item in page.get("Contents", ())]
    for target in targets:
        for key in keys:
            client.copy_object(
                Bucket=seaweedfs.bucket,
                Key=key.replace(f"{prefix}{source}/", f"{prefix}{target}/", 1),
                CopySource={"Bucket": seaweedfs.bucket, "Key": key},
            )


def test_a_tag_pushed_where_the_api_did_not_hear_is_read_from_its_link_alone(
    push_image, quiet_registry, buildah, alice, bucket_requests, registry_requests
):
    push_image(alice, "app", tag="v1")
    push_image(alice, "other", tag="v1")
    ref = buildah.make_image("localhost/s3-sync-again:1", env={"PUSHED": "quietly"})
    digest = push_quietly(buildah, quiet_registry, alice, "alice/app", "v1", ref)
    bucket_requests.clear()
    registry_requests.clear()

    report = sync_registry()

    assert (report.recorded, report.unchanged, report.read_from_storage) == (1, 1, 2)
    # A LIST each, and one link read: the one whose ETag is not the MD5 of the digest
    # recorded. The changed repository is read again under its lock (registry.sync).
    assert bucket_requests == {"ListObjectsV2": 2 + 1, "GetObject": 1 + 1}
    assert registry_requests == {"catalog": 1, "manifest GET": 1, "blob GET": 1}
    tag = Tag.objects.get(image__name=f"{settings.REGISTRY_HOST}/alice/app", name="v1")
    assert tag.digest == digest
    assert {"key": "PUSHED", "value": "quietly"} in tag.layer.envvars


def delete_quietly(registry, repository: str, digest: str) -> None:
    """Delete a manifest (and every tag on it) through `registry`, which tells nobody."""
    token = service_token([f"repository:{repository}:delete"])
    response = requests.delete(
        f"{registry.url}/v2/{repository}/manifests/{digest}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 202, response.text


def test_tags_deleted_where_the_api_did_not_hear_are_removed_and_a_repository_may_hold_none(
    push_image, quiet_registry, buildah, alice, bucket_requests, registry_requests
):
    kept = push_image(alice, "app", tag="kept")
    other = buildah.make_image("localhost/s3-sync-gone:1", env={"GOING": "yes"})
    gone = push_image(alice, "app", tag="gone", ref=other)
    emptied = push_image(alice, "emptied", tag="only")
    for pushed in (gone, emptied):
        delete_quietly(quiet_registry, pushed.repository, pushed.digest)
    bucket_requests.clear()
    registry_requests.clear()

    report = sync_registry()

    assert (report.removed, report.unchanged, report.read_from_storage) == (2, 1, 2)
    # The emptied repository's tags listing is empty: one more LIST finds its layers. Both
    # changed, so both are read again under their locks (registry.sync).
    assert bucket_requests == {"ListObjectsV2": 2 * (1 + 2)}
    assert registry_requests == {"catalog": 1}
    assert set(Tag.objects.filter(image__name=kept.name).values_list("name", flat=True)) == {"kept"}
    assert Image.objects.get(name=emptied.name).state == State.EMPTY


def test_collecting_on_s3_frees_a_purged_tags_blobs_by_what_the_bucket_lost(
    three_tags, our_registry, seaweedfs, bucket_root, alice, tmp_path
):
    api = ApiClient(alice.basic())
    name = three_tags["b"].name
    b, _ = manifest_of(our_registry, "alice/app", "b")
    b_bytes = registry_get(our_registry, "alice/app", "manifests/b").content
    a, _ = manifest_of(our_registry, "alice/app", "a")
    shared = {layer["digest"] for layer in a["layers"]}
    [own] = [layer for layer in b["layers"] if layer["digest"] not in shared]
    assert api.delete(f"/api/v1/image/{name}/tag/b/").status_code == 204
    BinEntry.objects.update(deleted_at=timezone.now() - timedelta(days=settings.RECYCLE_DAYS + 1))
    assert recycle_bin.purge_expired().entries == 1
    root = bucket_root.strip("/") + "/"
    until_nobody_writes()
    bucket_before = seaweedfs.stored_bytes(prefix=root)
    blobs_before = blob_bytes()

    collected = collect()

    lost = bucket_before - seaweedfs.stored_bytes(prefix=root)
    print(
        f"\nfreed {collected.bytes_freed} bytes ({collected.bytes_before} -> "
        f"{collected.bytes_after}), the bucket lost {lost}; {collected.blobs_deleted} blobs "
        f"in {collected.seconds:.2f} s"
    )
    # The blobs' bytes the bucket lost are exactly what the collection says it freed; the
    # bucket also lost the bin repository's links.
    assert blobs_before - blob_bytes() == collected.bytes_freed
    assert collected.bytes_before - collected.bytes_after == lost
    assert collected.bytes_before == bucket_before
    assert collected.bytes_freed == own["size"] + b["config"]["size"] + len(b_bytes)
    assert collected.blobs_deleted == 3
    assert collected.bin_repositories_removed == 1
    assert registry_get(our_registry, "alice/app", f"blobs/{own['digest']}").status_code == 404
    assert_the_others_pull_whole(our_registry, three_tags, alice, tmp_path)


def test_a_tag_deleted_to_the_bin_on_s3_restores_and_pulls_with_its_digest(
    three_tags, our_registry, alice, tmp_path
):
    api = ApiClient(alice.basic())
    name = three_tags["c"].name
    assert api.delete(f"/api/v1/image/{name}/tag/c/").status_code == 204
    assert digest_served(our_registry, "alice/app", "c") is None
    collect_when_quiet()

    entry = BinEntry.objects.get()
    assert api.post(f"/api/v1/deleted/{entry.pk}/restore/").status_code == 200

    assert digest_served(our_registry, "alice/app", "c") == three_tags["c"].digest
    pulled = fresh_pull(tmp_path, f"{name}:c", f"alice:{alice.key}")
    assert pulled.returncode == 0, pulled.stderr


def test_an_upload_to_the_bucket_in_progress_counts_its_repository_as_being_written(
    push_image, our_registry, alice
):
    push_image(alice, "app")
    storage = open_storage()
    token = service_token(["repository:alice/app:pull,push,delete"])
    headers = {"Authorization": f"Bearer {token}"}
    started = requests.post(
        f"{our_registry.url}/v2/alice/app/blobs/uploads/", headers=headers, timeout=10
    )
    assert started.status_code == 202, started.text
    upload = requests.compat.urljoin(our_registry.url, started.headers["Location"])
    assert storage.repositories_uploading(time.time() - 10) == {"alice/app"}
    # The bucket's times are whole seconds: the next second is after the upload's start.
    time.sleep(1.1)
    before_patch = math.floor(time.time())
    time.sleep(1.1)
    assert storage.repositories_uploading(before_patch) == set()

    # More than the driver's 10 MB chunk: a part reaches the bucket.
    patched = requests.patch(
        upload,
        data=os.urandom(11 << 20),
        headers={**headers, "Content-Type": "application/octet-stream"},
        timeout=30,
    )
    assert patched.status_code == 202, patched.text

    assert storage.repositories_uploading(before_patch) == {"alice/app"}
    cancelled = requests.delete(
        requests.compat.urljoin(our_registry.url, patched.headers["Location"]),
        headers=headers,
        timeout=10,
    )
    assert cancelled.status_code == 204, cancelled.text
    assert storage.repositories_uploading(before_patch) == set()


def test_with_keys_the_bucket_refuses_a_sync_asks_the_registry_instead(
    push_image, our_registry, alice, registry_requests, settings, tmp_path
):
    push_image(alice, "app", tag="v1")
    push_image(alice, "other", tag="v1")
    # As on a machine given a config whose keys are wrong or revoked.
    config = json.loads(our_registry.root.joinpath("config.yml").read_text())
    config["storage"]["s3"]["secretkey"] = "not-the-key"
    settings.REGISTRY_CONFIG = tmp_path / "elsewhere.yml"
    settings.REGISTRY_CONFIG.write_text(json.dumps(config))
    registry_requests.clear()

    report = sync_registry()

    assert report == SyncReport(repositories=2, unchanged=2)
    assert registry_requests == {"catalog": 1, "tags": 2, "manifest HEAD": 2}


@pytest.mark.scale
def test_pushes_go_on_during_collections_on_s3_and_everything_pushed_stays_whole(
    our_registry, live_server, alice, buildah
):
    load = Load(our_registry, live_server.url, alice, buildah, seed=3100)

    collections = collect_under_load(load, 4)

    deleted = sum(c.blobs_deleted for c in collections)
    print(
        f"\n4 collections on S3, {len(load.outcomes)} pushes during them, none refused; "
        f"{deleted} blobs deleted, {sum(c.blobs_restored for c in collections)} put back"
    )
    assert deleted >= 8 * 2
    assert_whole(load)
    assert_a_quiet_collection_frees_exactly_what_nothing_names()
