"""Garbage collection really frees what the recycle bin purged, inside a maintenance window
during which pushes are refused with our message, against our real registry and buildah."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from lifecycle import bin as recycle_bin
from lifecycle.collect import collect
from records.models import BinEntry, Collection, Maintenance
from registry import client as oci
from registry import maintenance
from registry.storage import FilesystemStorage
from registry.tokens import service_token
from tests.fixtures.api import ApiClient
from tests.fixtures.our_registry import digest_served, wait_for_tag
from tests.fixtures.registry import Buildah

pytestmark = [
    pytest.mark.registry,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("short_window"),
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
    collect()
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

    collected = collect()

    print(
        f"\nfreed {collected.bytes_freed} bytes ({collected.bytes_before} -> "
        f"{collected.bytes_after}); b's own layer + config {own_bytes}, manifest "
        f"{b_manifest_bytes}; {collected.blobs_deleted} blobs; window "
        f"{collected.window_seconds:.2f} s, collection {collected.gc_seconds:.2f} s"
    )
    # Sizes of files (not disk blocks): b's layer, config and manifest blobs go, and the bin
    # repository's link files (71 bytes each) with it; nothing else.
    assert own_bytes <= collected.bytes_freed <= own_bytes + b_manifest_bytes + 1024
    assert collected.blobs_deleted == 3
    assert collected.bin_repositories_removed == 1
    recorded = Collection.objects.first()  # the latest, kept for its history
    assert recorded.bytes_before - recorded.bytes_after == collected.bytes_freed
    assert (recorded.blobs_deleted, recorded.seconds) == (3, collected.window_seconds)
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

    collected = collect()

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

    call_command("housekeeping", stdout=out)

    [report] = [line for line in out.getvalue().splitlines() if line.startswith("recycle bin:")]
    assert report.startswith("recycle bin: purged 1 expired entries"), report
    # c's layer, config and manifest at least (earlier tests may have left garbage too).
    blobs = int(re.search(r", (\d+) blobs,", report)[1])
    assert "garbage collection freed" in report and blobs >= 3, report
    assert Maintenance.objects.get().last_collected is not None
    assert not BinEntry.objects.exists()


def token_request(live_server, account, scope: str | None):
    params = {"service": settings.REGISTRY_TOKEN_SERVICE}
    if scope:
        params["scope"] = scope
    return requests.get(
        f"{live_server.url}/api/v1/registry-token/",
        params=params,
        auth=(account.username, account.key),
        timeout=10,
    )


def test_during_the_window_pushes_are_refused_with_our_message_and_pulls_go_on(
    push_image, our_registry, buildah, alice, live_server, tmp_path
):
    pushed = push_image(alice, "app", tag="one")
    ref = buildah.make_image("localhost/window:1", files={"/w": os.urandom(1000)})
    creds = f"alice:{alice.key}"
    maintenance.begin()
    try:
        refused = token_request(live_server, alice, "repository:alice/app:pull,push")
        pull_token = token_request(live_server, alice, "repository:alice/app:pull")
        login = token_request(live_server, alice, None)
        push = buildah.push(ref, f"{pushed.name}:two", creds, check=False)
        pull = fresh_pull(tmp_path, f"{pushed.name}:one", creds)
    finally:
        maintenance.end()

    assert refused.status_code == 401
    assert refused.json()["errors"] == [{"code": "UNAUTHORIZED", "message": maintenance.MESSAGE}]
    assert refused.headers["Retry-After"] == "60"
    assert (pull_token.status_code, login.status_code) == (200, 200)
    assert push.returncode != 0
    assert "try again in a minute" in push.stderr
    assert pull.returncode == 0, pull.stderr
    digest = buildah.push(ref, f"{pushed.name}:two", creds)
    wait_for_tag(pushed.name, "two", digest)
    assert pulls_whole(our_registry, "alice/app", "two")


@pytest.mark.parametrize("head_start", [0.0, 0.3])
def test_a_push_racing_a_collection_is_stored_whole_or_refused_clearly(
    push_image, our_registry, buildah, alice, head_start
):
    pushed = push_image(alice, "app", tag="base")
    ref = buildah.make_image("localhost/race:1", files={"/r": os.urandom(300_000)})
    outcome = {}

    def push():
        creds = f"alice:{alice.key}"
        outcome["result"] = buildah.push(ref, f"{pushed.name}:race", creds, check=False)

    thread = threading.Thread(target=push)
    thread.start()
    time.sleep(head_start)
    collect()
    thread.join(timeout=60)

    result = outcome["result"]
    print(f"\nhead start {head_start} s: push exited {result.returncode}")
    tags = registry_get(our_registry, "alice/app", "tags/list").json()["tags"]
    if result.returncode == 0:
        assert "race" in tags
        assert pulls_whole(our_registry, "alice/app", "race")
    else:
        assert "try again in a minute" in result.stderr, result.stderr
        assert "race" not in tags


def test_the_window_waits_for_push_tokens_issued_before_it(tmp_path):
    maintenance.note_write_token(timezone.now() + timedelta(seconds=2))
    opened = time.monotonic()

    with maintenance.window(FilesystemStorage(tmp_path)):
        waited = time.monotonic() - opened
        assert maintenance.is_on()
        assert not maintenance.note_write_token(timezone.now() + timedelta(seconds=3))

    assert waited >= 2 + maintenance.REGISTRY_LEEWAY.total_seconds() - 0.1
    assert not maintenance.is_on()


def test_a_stale_window_ends_by_itself_and_a_live_one_refuses_another():
    maintenance.begin()
    with pytest.raises(maintenance.Busy):
        maintenance.begin()
    assert maintenance.is_on()

    Maintenance.objects.update(started=timezone.now() - maintenance.STALE - timedelta(minutes=1))

    assert not maintenance.is_on()
    assert Maintenance.objects.get().started is None
    assert maintenance.note_write_token(timezone.now() + timedelta(seconds=3))
    maintenance.begin()
    assert maintenance.is_on()
    maintenance.end()
