"""Recording a push reads its manifest and image config back: from our registry's storage
when this machine can read it (two file reads instead of two requests to a registry busy with
the pushes themselves), else through the registry's API; the same fields either way."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from urllib.parse import urlsplit

import pytest

from records.models import Tag
from registry import client as oci
from registry.storage import FilesystemStorage, local_storage

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def registry_reads(monkeypatch) -> Counter:
    """The manifest and blob reads the registry client sends, by kind (then sent for real)."""
    counted: Counter = Counter()
    send = oci.RegistryClient._send

    def counting_send(self, method, url, headers, **kwargs):
        path = urlsplit(url).path
        for kind in ("manifests", "blobs"):
            if f"/{kind}/" in path:
                counted[f"{kind} {method}"] += 1
        return send(self, method, url, headers, **kwargs)

    monkeypatch.setattr(oci.RegistryClient, "_send", counting_send)
    return counted


def test_a_push_is_recorded_from_the_storage_without_asking_the_registry(
    push_image, alice, registry_reads
):
    pushed = push_image(alice, "stored", env={"READ": "in place"}, labels={"kind": "stored"})

    tag = Tag.objects.get(image__name=pushed.name, name=pushed.tag)
    assert registry_reads == Counter()
    assert {"key": "READ", "value": "in place"} in tag.layer.envvars
    assert {"key": "kind", "value": "stored"} in tag.layer.labels
    assert tag.size and tag.media_type == oci.OCI_MANIFEST


def test_without_its_storage_a_push_is_read_back_through_the_registry(
    push_image, alice, registry_reads, settings, tmp_path
):
    # As when the registry runs on another machine: no config, no storage to read here.
    settings.REGISTRY_CONFIG = tmp_path / "elsewhere" / "config.yml"

    pushed = push_image(alice, "asked", env={"READ": "by request"})

    tag = Tag.objects.get(image__name=pushed.name, name=pushed.tag)
    assert registry_reads == Counter({"manifests GET": 1, "blobs GET": 1})
    assert {"key": "READ", "value": "by request"} in tag.layer.envvars


def test_the_storage_gives_a_blob_only_to_a_repository_that_links_it(push_image, alice, buildah):
    pushed = push_image(alice, "holder")
    other = buildah.make_image("localhost/read-back-other:1", files={"/o": os.urandom(100)})
    push_image(alice, "other", ref=other)
    storage = local_storage()

    manifest = storage.linked_blob("alice/holder", pushed.digest, manifest=True)

    assert hashlib.sha256(manifest).hexdigest() == pushed.digest.removeprefix("sha256:")
    config = json.loads(manifest)["config"]["digest"]
    assert storage.linked_blob("alice/holder", config, manifest=False) is not None
    # Stored, but not linked so in these repositories: the registry would not serve them.
    assert storage.linked_blob("alice/other", pushed.digest, manifest=True) is None
    assert storage.linked_blob("alice/holder", pushed.digest, manifest=False) is None
    assert storage.linked_blob("alice/other/../holder", pushed.digest, manifest=True) is None
    image = Tag.objects.get(digest=pushed.digest).image
    oci.client_for_image(image).delete_manifest("alice/holder", pushed.digest)
    assert storage.linked_blob("alice/holder", pushed.digest, manifest=True) is None


def test_bytes_that_do_not_hash_to_their_digest_are_not_read_from_the_storage(tmp_path):
    storage = FilesystemStorage(tmp_path)
    root = storage.repositories
    content = b'{"architecture": "amd64"}'
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    link = root / "alice" / "app" / "_layers" / "sha256" / digest[7:] / "link"
    link.parent.mkdir(parents=True)
    link.write_text(digest)
    data = root.parent / "blobs" / "sha256" / digest[7:9] / digest[7:] / "data"
    data.parent.mkdir(parents=True)
    data.write_bytes(content)
    assert storage.linked_blob("alice/app", digest, manifest=False) == content

    data.write_bytes(b'{"architecture": "arm64"}')

    assert storage.linked_blob("alice/app", digest, manifest=False) is None


def test_a_registry_on_s3_is_asked_not_its_bucket(tmp_path):
    # A GET to the bucket costs what the request to the registry does: nothing to read here.
    config = tmp_path / "config.yml"
    config.write_text(json.dumps({"storage": {"s3": {"bucket": "b", "region": "us-east-1"}}}))

    assert local_storage(config) is None
    assert local_storage(tmp_path / "missing.yml") is None
