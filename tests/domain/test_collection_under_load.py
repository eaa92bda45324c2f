"""Garbage collection while clients push for its whole duration: no push refused, and afterwards
every tag the API lists pulls with its digest and every blob of every manifest exists.

Each run makes garbage first (images pushed to alice/old and to a repository nobody pushes to
again, then deleted by digest: their blobs stay linked there, as the recycle bin's purges leave
them), then collects while two clients
push without pause (new layers; the garbage pushed again, which the registry may say it still
has; the garbage mounted from alice/old into alice/copy; `latest` overwritten) and, every fifth
run, buildah pushes a new image and a multi-platform index. The collection waits a random
moment at each blob it sets aside, so the pushes fall at different points of each run, and one
push per run is forced between two of its steps (FORCED). The S3 variant is in
test_registry_s3.py.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
from collections.abc import Callable

import pytest
import requests
from django.conf import settings

from lifecycle.collect import collect
from records.models import Tag
from registry.storage import open_storage
from registry.sync import sync_registry
from registry.tokens import service_token
from tests.fixtures.our_registry import collect_when_quiet
from tests.fixtures.pushing import (
    Image,
    Outcome,
    Pusher,
    digest_of,
    missing_blobs,
    unreferenced_blobs,
)

pytestmark = [
    pytest.mark.registry,
    pytest.mark.scale,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("short_tokens"),
]

# More by hand: GC_LOAD_RUNS=200 .venv/bin/pytest tests/domain/test_collection_under_load.py
# Two rounds of the forced interleavings (FORCED); buildah's pushes fall on three of them.
RUNS = int(os.environ.get("GC_LOAD_RUNS", "14"))


class Load:
    """The pushes of one test, and what each did."""

    def __init__(self, registry, api_url: str, account, buildah, seed: int):
        self.registry = registry
        self.pusher = Pusher(registry.url, api_url, account.username, account.key)
        self.creds = f"{account.username}:{account.key}"
        self.buildah = buildah
        self.random = random.Random(seed)
        self.outcomes: list[Outcome] = []
        self.counter = itertools.count()
        self.garbage: list[Image] = []

    def push(self, image: Image, repository: str, tag: str, **options) -> Outcome:
        outcome = self.pusher.push(image, repository, tag, **options)
        self.outcomes.append(outcome)
        return outcome

    def make_garbage(self, run: int) -> None:
        """Three images pushed to alice/old, which the clients keep pushing to, and two to a
        repository of their own, alice/cold-<run>, which nobody pushes to again; all deleted
        by digest."""
        self.garbage = [Image.random(size=self.random.choice([512, 4096, 70_000])) for _ in "abc"]
        cold = [Image.random(size=2048) for _ in "ab"]
        for repository, images in (("alice/old", self.garbage), (f"alice/cold-{run}", cold)):
            headers = {"Authorization": f"Bearer {service_token([f'repository:{repository}:*'])}"}
            for index, image in enumerate(images):
                pushed = self.push(image, repository, f"g{run}-{index}")
                assert not pushed.refused, pushed
                deleted = requests.delete(
                    f"{self.registry.url}/v2/{repository}/manifests/{pushed.digest}",
                    headers=headers,
                    timeout=30,
                )
                assert deleted.status_code == 202, deleted.text

    def one_more(self) -> None:
        """One push of the mix the clients keep sending."""
        n = next(self.counter)
        kind = self.random.choice(["new", "again", "mount", "latest"])
        if kind == "new":
            self.push(Image.random(), "alice/fresh", f"f{n}")
        elif kind == "again":
            self.push(self.random.choice(self.garbage), "alice/old", f"again{n}")
        elif kind == "mount":
            self.push(
                self.random.choice(self.garbage), "alice/copy", f"m{n}", mount_from="alice/old"
            )
        else:
            self.push(Image.random(layers=1), "alice/fresh", "latest")

    def with_buildah(self, run: int) -> None:
        files = {"/f": os.urandom(20_000)}
        ref = self.buildah.make_image(f"localhost/load-{run}:1", files=files)
        other = self.buildah.make_image(f"localhost/load-{run}:2", files={"/g": os.urandom(9000)})
        pushed = self.buildah.push(ref, f"{self.host}/alice/built:r{run}", self.creds, check=False)
        refused = pushed.stderr if pushed.returncode else ""
        self.outcomes.append(Outcome("alice/built", f"r{run}", refused=refused))
        try:
            self.buildah.push_index([ref, other], f"{self.host}/alice/multi:r{run}", self.creds)
        except Exception as error:  # noqa: BLE001 - what buildah said is the outcome
            self.outcomes.append(Outcome("alice/multi", f"r{run}", refused=str(error)))
        else:
            self.outcomes.append(Outcome("alice/multi", f"r{run}"))

    @property
    def host(self) -> str:
        return self.registry.host


# -- pushes forced between two steps of the collection --------------------------------------
# Each gets the load, the step and digest the collection is at, and the step it waits for.


def _layer(image: Image) -> str:
    return digest_of(image.layers[0])


def again_once_marked(load: Load, step: str, digest: str) -> None:
    """The garbage pushed again after the marking: the registry says it has the blobs; the
    manifest is new to the collection, which leaves its blobs (alice/old is being written)."""
    if step == "marked":
        outcome = load.push(load.garbage[0], "alice/old", "forced-again")
        assert outcome.skipped == 3, outcome


def again_while_set_aside(load: Load, step: str, digest: str) -> None:
    """Pushed while its layer is set aside: the registry says it lacks it, so it is uploaded."""
    if step == "set aside" and digest == _layer(load.garbage[0]):
        outcome = load.push(load.garbage[0], "alice/old", "forced-aside")
        assert outcome.uploaded >= 1, outcome


def mount_while_set_aside(load: Load, step: str, digest: str) -> None:
    """A mount of a blob set aside fails, so the client uploads it."""
    if step == "set aside" and digest == _layer(load.garbage[1]):
        outcome = load.push(load.garbage[1], "alice/copy", "forced-mount", mount_from="alice/old")
        assert outcome.uploaded >= 1, outcome


def mount_once_marked(load: Load, step: str, digest: str) -> None:
    """Mounted after the marking, while still in sight: alice/copy links it now."""
    if step == "marked":
        outcome = load.push(load.garbage[2], "alice/copy", "forced-mounted", mount_from="alice/old")
        assert outcome.mounted + outcome.skipped == 3, outcome


def again_before_deleting(load: Load, step: str, digest: str) -> None:
    """Pushed after the second look, just before what is set aside is deleted."""
    if step == "swept":
        load.push(load.garbage[0], "alice/old", "forced-late")


class TellsExistsThenWaits:
    """Told every blob exists before the sweep, its manifest put only once the sweep is done:
    alice/old was being written all along, so its blobs stayed."""

    def __init__(self):
        self.told, self.sweep_done, self.thread = threading.Event(), threading.Event(), None

    def __call__(self, load: Load, step: str, digest: str) -> None:
        if step == "marked":

            def push():
                def wait():
                    self.told.set()
                    self.sweep_done.wait(60)

                outcome = load.push(
                    load.garbage[1], "alice/old", "forced-waited", before_manifest=wait
                )
                assert outcome.skipped == 3, outcome

            self.thread = threading.Thread(target=push)
            self.thread.start()
            assert self.told.wait(60)
        elif step == "swept":
            self.sweep_done.set()
            self.thread.join(60)


FORCED: list[Callable[[], Callable]] = [
    lambda: lambda load, step, digest: None,
    lambda: again_once_marked,
    lambda: again_while_set_aside,
    lambda: mount_while_set_aside,
    lambda: mount_once_marked,
    lambda: again_before_deleting,
    TellsExistsThenWaits,
]


def collect_under_load(load: Load, runs: int) -> list:
    """`runs` collections, each with pushes throughout it; their records."""
    return [_one_run(load, run) for run in range(runs)]


def _one_run(load: Load, run: int):
    load.make_garbage(run)
    forced = FORCED[run % len(FORCED)]()
    pause = load.random.choice([0.0, 0.005, 0.02])
    stop = threading.Event()

    def keep_pushing():
        while not stop.is_set():
            load.one_more()

    clients = [threading.Thread(target=keep_pushing) for _ in range(2)]
    if run % 5 == 0:
        clients.append(threading.Thread(target=load.with_buildah, args=(run,)))
    for client in clients:
        client.start()
    time.sleep(load.random.uniform(0, 0.3))

    def checkpoint(step: str, digest: str) -> None:
        forced(load, step, digest)
        if step == "set aside":
            time.sleep(load.random.uniform(0, pause))

    try:
        return collect(f"load run {run}", checkpoint=checkpoint)
    finally:
        stop.set()
        for client in clients:
            client.join(120)


def assert_whole(load: Load) -> None:
    """No push refused; every tag the API lists pulls with its digest; no manifest names a
    missing blob."""
    refused = [outcome for outcome in load.outcomes if outcome.refused]
    assert refused == [], refused
    storage = open_storage(settings.REGISTRY_CONFIG)
    assert missing_blobs(storage) == []
    # What notifications still on their way (the registry sends one again a second later when
    # it was refused) would tell: a late push event of a tag deleted since, whose digest lives
    # on under another tag, records it again until the next sync (a race of the events, not of
    # the collection).
    for _ in range(10):
        sync_registry()
        unserved = _listed_but_not_served(load)
        if not unserved:
            break
        time.sleep(2)
    assert unserved == []


def _listed_but_not_served(load: Load) -> list:
    """Each tag the API lists that does not pull with its digest, and why."""
    tags = Tag.objects.filter(image__name__startswith=f"{load.host}/alice/").exclude(digest="")
    assert tags.count() > 50
    unserved = []
    for tag in tags.select_related("image"):
        repository = tag.image.name.removeprefix(f"{load.host}/")
        headers = {
            "Authorization": f"Bearer {service_token([f'repository:{repository}:pull'])}",
            "Accept": ",".join(
                [
                    "application/vnd.oci.image.index.v1+json",
                    "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json",
                ]
            ),
        }
        served = requests.get(
            f"{load.registry.url}/v2/{repository}/manifests/{tag.name}", headers=headers, timeout=30
        )
        if served.status_code != 200 or served.headers["Docker-Content-Digest"] != tag.digest:
            unserved.append((repository, tag.name, served.status_code))
            continue
        body = served.json()
        named = [entry["digest"] for entry in body.get("manifests") or []]
        named += [body["config"]["digest"]] if body.get("config") else []
        named += [layer["digest"] for layer in body.get("layers") or []]
        kind = "manifests" if body.get("manifests") else "blobs"
        for digest in named:
            got = requests.head(
                f"{load.registry.url}/v2/{repository}/{kind}/{digest}", headers=headers, timeout=30
            )
            if got.status_code != 200:
                unserved.append((repository, tag.name, digest))
    return unserved


def assert_a_quiet_collection_frees_exactly_what_nothing_names() -> None:
    """Once nobody pushes, a collection frees every blob no manifest names (tagged, untagged,
    in the bin, or an index's), byte for byte, and nothing else."""
    storage = open_storage(settings.REGISTRY_CONFIG)
    garbage = unreferenced_blobs(storage)

    collected = collect_when_quiet()

    assert (collected.blobs_deleted, collected.bytes_freed) == (len(garbage), sum(garbage.values()))
    assert unreferenced_blobs(storage) == {}
    assert missing_blobs(storage) == []


def test_pushes_go_on_during_every_collection_and_everything_pushed_stays_whole(
    our_registry, live_server, alice, buildah
):
    load = Load(our_registry, live_server.url, alice, buildah, seed=31)

    collections = collect_under_load(load, RUNS)

    deleted = sum(c.blobs_deleted for c in collections)
    freed = sum(c.bytes_freed for c in collections)
    deferred = sum(c.blobs_deferred for c in collections)
    restored = sum(c.blobs_restored for c in collections)
    print(
        f"\n{RUNS} collections, {len(load.outcomes)} pushes during them, none refused; "
        f"{deleted} blobs ({freed} bytes) deleted, {deferred} left for later (in use), "
        f"{restored} put back"
    )
    # Each run's cold garbage (two images: 2 layers, a config and a manifest each) goes within
    # two runs, once the tokens of the pushes that made it have expired.
    assert deleted >= 8 * (RUNS - 2)
    assert_whole(load)
    assert_a_quiet_collection_frees_exactly_what_nothing_names()
