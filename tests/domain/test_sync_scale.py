"""Syncing our registry reads only what changed, counted at the registry client's transport
against a real docker-registry holding 10,000 repositories.

The registry here is configured as ours (token auth from the live API) but sends no push
notifications, so whatever is pushed or deleted is a notification the API missed: only the
sync can find it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from records.models import Image, State, Tag
from registry import client as oci
from registry import config as registry_config
from registry import tokens as registry_token
from registry.storage import REPOSITORIES
from registry.sync import SyncReport, sync_registry
from tests.fixtures.registry import RegistryProcess, free_port, start_registry
from tests.fixtures.sync_counts import copy_names, our_name, record_as

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]

REPOSITORY_COUNT = 10_000
# In memory where there is some: on the test machine's disk, 10,000 copies took ~40 s to
# make and ~150 s to remove.
FAST_TMP = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


@dataclass
class UnnotifiedRegistry:
    process: RegistryProcess
    repositories: Path

    def push(self, buildah, account, repository: str, ref: str | None = None) -> str:
        """Push `ref` (the base image by default) as `repository:v1`; its digest."""
        destination = f"{self.process.host}/{repository}:v1"
        creds = f"{account.username}:{account.key}"
        return buildah.push(ref or buildah.build_base(), destination, creds)

    def copy(self, source: str, target: str) -> None:
        """A copy of its own: pushes and deletes in it leave `source` alone."""
        shutil.copytree(self.repositories / source, self.repositories / target)

    def link_copies(self, source: str, targets: list[str]) -> None:
        """Repositories that are `source` under other names: the registry lists, serves and
        pulls them as repositories of their own, but they share `source`'s layer, manifest
        and tag links (3 file operations each instead of ~20), so never push to them."""
        for target in targets:
            directory = self.repositories / target
            directory.mkdir(parents=True)
            for part in ("_layers", "_manifests"):
                (directory / part).symlink_to(self.repositories / source / part)


@pytest.fixture
def unnotified_registry(live_server, settings, tmp_path) -> Iterator[UnnotifiedRegistry]:
    registry_token.ensure_signing_key()
    storage = Path(tempfile.mkdtemp(prefix="sync-scale-", dir=FAST_TMP or tmp_path))
    port = free_port()
    config = registry_config.registry_config(
        addr=f"127.0.0.1:{port}",
        storage_dir=storage,
        realm=f"{live_server.url}/api/v1/registry-token/",
        notify_url="",
        secret="",
        cert_path=django_settings.REGISTRY_TOKEN_KEY.with_suffix(".crt"),
    )
    extra = {key: config[key] for key in ("auth", "storage", "log")}
    process = start_registry(tmp_path / "registry", extra, port=port)
    # The sync talks to this registry, and reads its storage, under our registry's name.
    settings.REGISTRY_URL = process.url
    settings.REGISTRY_CONFIG = tmp_path / "registry" / "config.yml"
    yield UnnotifiedRegistry(process, storage / REPOSITORIES)
    process.stop()
    shutil.rmtree(storage)


def test_a_first_sync_records_every_copy_as_it_records_the_original(
    unnotified_registry, buildah, alice
):
    digest = unnotified_registry.push(buildah, alice, "alice/app")
    unnotified_registry.copy("alice/app", "alice/own-copy")
    copies = ["alice/own-copy", *copy_names(20)]
    unnotified_registry.link_copies("alice/app", copies[1:])

    report = sync_registry()

    assert report == SyncReport(repositories=22, recorded=22, read_from_storage=22)
    original = Tag.objects.select_related("image").get(image__name=our_name("alice/app"))
    assert (original.digest, original.state) == (digest, State.SUCCESS)
    assert original.image.owner == alice.user
    fields = ("digest", "media_type", "size", "platforms", "layer_id", "state", "pushed_by")
    for copy in copies:
        tag = Tag.objects.select_related("image").get(image__name=our_name(copy), name="v1")
        assert [getattr(tag, f) for f in fields] == [getattr(original, f) for f in fields]
        assert (tag.image.owner, tag.image.state) == (alice.user, State.SUCCESS)


def test_a_sync_of_10000_unchanged_repositories_reads_only_the_catalog(
    unnotified_registry, buildah, alice, registry_requests, timed
):
    unnotified_registry.push(buildah, alice, "alice/app")
    sync_registry()
    copies = copy_names(REPOSITORY_COUNT - 1)
    started = time.monotonic()
    unnotified_registry.link_copies("alice/app", copies)
    timed(f"{len(copies)} repositories made on disk", started)
    started = time.monotonic()
    record_as("alice/app", copies)
    timed(f"{len(copies)} repositories recorded in bulk", started)
    registry_requests.clear()

    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        report = sync_registry()
    timed(f"a sync of {REPOSITORY_COUNT} unchanged repositories", started)

    assert report == SyncReport(
        repositories=REPOSITORY_COUNT,
        unchanged=REPOSITORY_COUNT,
        read_from_storage=REPOSITORY_COUNT,
    )
    pages = REPOSITORY_COUNT // 1000  # the client asks for 1,000 a page
    assert registry_requests == {"catalog": pages}
    # The registry's row, then per page its images and their tags.
    assert len(queries) <= 1 + 2 * pages


def test_a_tag_pushed_again_costs_only_reading_its_own_manifest_and_config(
    unnotified_registry, buildah, alice, registry_requests
):
    original = unnotified_registry.push(buildah, alice, "alice/app")
    unnotified_registry.copy("alice/app", "alice/moved")
    unnotified_registry.link_copies("alice/app", copy_names(20))
    sync_registry()
    other = buildah.make_image("localhost/sync-scale-other:1", env={"PUSHED": "again"})
    digest = unnotified_registry.push(buildah, alice, "alice/moved", ref=other)
    registry_requests.clear()

    report = sync_registry()

    assert (report.recorded, report.unchanged) == (1, 21)
    # Its manifest and config are read from the storage too (without it: the last test).
    assert registry_requests == {"catalog": 1}
    tag = Tag.objects.get(image__name=our_name("alice/moved"), name="v1")
    assert tag.digest == digest
    assert {"key": "PUSHED", "value": "again"} in tag.layer.envvars
    assert Tag.objects.get(image__name=our_name("alice/app"), name="v1").digest == original


def test_a_tag_deleted_from_the_registry_is_removed(
    unnotified_registry, buildah, alice, registry_requests
):
    digest = unnotified_registry.push(buildah, alice, "alice/app")
    unnotified_registry.copy("alice/app", "alice/emptied")
    sync_registry()
    image = Image.objects.get(name=our_name("alice/emptied"))
    oci.client_for_image(image).delete_manifest("alice/emptied", digest)
    registry_requests.clear()

    report = sync_registry()

    assert (report.removed, report.unchanged, report.recorded) == (1, 1, 0)
    assert registry_requests == {"catalog": 1}
    assert not Tag.objects.filter(image=image).exists()
    image.refresh_from_db()
    assert image.state == State.EMPTY
    assert Tag.objects.filter(image__name=our_name("alice/app"), name="v1").exists()


def test_a_tag_caught_while_the_registry_rewrites_its_link_is_kept(
    unnotified_registry, buildah, alice
):
    digest = unnotified_registry.push(buildah, alice, "alice/app")
    unnotified_registry.copy("alice/app", "alice/rewritten")
    sync_registry()
    link = unnotified_registry.repositories / "alice/rewritten/_manifests/tags/v1/current/link"
    # The registry rewrites a link in place, truncating it first: the moment in between.
    link.write_text("")

    report = sync_registry()

    assert (report.unchanged, report.removed, report.failed) == (1, 0, 1)
    assert Tag.objects.get(image__name=our_name("alice/rewritten"), name="v1").digest == digest


def test_without_its_storage_a_sync_asks_one_head_per_unchanged_tag(
    unnotified_registry, buildah, alice, registry_requests, settings, tmp_path
):
    unnotified_registry.push(buildah, alice, "alice/app")
    unnotified_registry.copy("alice/app", "alice/moved")
    unnotified_registry.link_copies("alice/app", copy_names(20))
    sync_registry()
    other = buildah.make_image("localhost/sync-scale-other:2", env={"PUSHED": "elsewhere"})
    digest = unnotified_registry.push(buildah, alice, "alice/moved", ref=other)
    # As when the registry runs on another machine: no config, no storage to read here.
    settings.REGISTRY_CONFIG = tmp_path / "elsewhere" / "config.yml"
    registry_requests.clear()

    report = sync_registry()

    assert report == SyncReport(repositories=22, recorded=1, unchanged=21)
    assert registry_requests == {
        "catalog": 1,
        "tags": 22,
        "manifest HEAD": 22,
        "manifest GET": 1,
        "blob GET": 1,
    }
    assert Tag.objects.get(image__name=our_name("alice/moved"), name="v1").digest == digest
