"""Recycle-bin moves racing on one digest, through the live API against our real registry
(each request in a live-server thread of its own): whatever the interleaving, the registry,
the database and the bin agree afterwards, and everything in the bin restores.

One pushed set of tags is reused for every round; each round starts from a, b, c and d served
(d on a's manifest), and leaves them so. The last test runs the moves in two processes of their
own, on SQLite (the lock is then a file lock) and on PostgreSQL (an advisory lock).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from records.models import BinEntry, Image, Tag
from registry import client as oci
from registry.sync import record_push
from registry.tokens import service_token
from tests.fixtures.our_registry import digest_served, push_four_tags
from tests.fixtures.postgres import driver_environment

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]

ROUNDS = 50
# Each of two processes moves its tag to the bin and back this many times (60 moves each).
CYCLES = 30
# A repository of these tests' own: the session's registry outlives each test's database, and
# tags other tests left in alice/app would be served there unlisted.
REPOSITORY = "alice/races"
ROOT = Path(__file__).resolve().parents[2]


class Api:
    """Alice on the live API over HTTP, as separate clients would be."""

    def __init__(self, live_server, alice):
        self.base = live_server.url
        self.headers = {"Authorization": alice.basic()}

    def delete_tag(self, name: str, tag: str) -> int:
        url = f"{self.base}/api/v1/image/{name}/tag/{tag}/"
        return requests.delete(url, headers=self.headers, timeout=60).status_code

    def restore(self, entry_id: int) -> int:
        url = f"{self.base}/api/v1/deleted/{entry_id}/restore/"
        return requests.post(url, headers=self.headers, timeout=60).status_code


def at_once(*calls):
    """Run the calls in threads released together, each after its own small random pause
    (0 to 40 ms: about the time one bin move takes, so every overlap comes up)."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        threading.Event().wait(random.uniform(0, 0.04))
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def served_tags(registry) -> set[str]:
    token = service_token([f"repository:{REPOSITORY}:pull"])
    response = requests.get(
        f"{registry.url}/v2/{REPOSITORY}/tags/list",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()
    return set(response.json().get("tags") or [])


def disagreements(registry, name: str) -> list[str]:
    """How the registry and the database differ for the image: every tag listed must pull
    with its digest, and nothing unlisted may pull."""
    listed = dict(
        Tag.objects.filter(image__name=name).exclude(digest="").values_list("name", "digest")
    )
    found = []
    for tag, digest in sorted(listed.items()):
        served = digest_served(registry, REPOSITORY, tag)
        if served != digest:
            found.append(f"{tag} is listed on {digest[:19]} but the registry serves {served}")
    for tag in sorted(served_tags(registry) - listed.keys()):
        found.append(f"the registry serves {tag}, which is not listed")
    return found


def restore_everything(api: Api, name: str) -> list[str]:
    """Restore every bin entry of the image; what would not come back."""
    found = []
    for entry in BinEntry.objects.filter(image_name=name, parent=None).order_by("pk"):
        code = api.restore(entry.pk)
        if code != 200:
            found.append(f"restoring {entry.tag_name} answered {code}")
    return found


@pytest.fixture
def race_tags(push_image, buildah, alice):
    return push_four_tags(push_image, buildah, alice, REPOSITORY.split("/", 1)[1])


class Tags:
    """The pushed tags and their manifests, to put back what a broken round lost."""

    def __init__(self, race_tags):
        self.pushed = race_tags
        self.name = race_tags["a"].name
        image = Image.objects.get(name=self.name)
        self.client = oci.client_for_image(image)
        self.manifests = {
            tag: self.client.manifest_bytes(REPOSITORY, p.digest) for tag, p in race_tags.items()
        }

    def repair(self) -> None:
        """Back to a, b, c and d served and listed, the bin empty (only after a failed round,
        so that the next one measures afresh)."""
        BinEntry.objects.filter(image_name=self.name).delete()
        for tag, manifest in self.manifests.items():
            self.client.put_manifest(REPOSITORY, tag, manifest)
            record_push(REPOSITORY, tag, self.pushed[tag].digest)


def run_rounds(registry, api: Api, tags: Tags, one_round) -> list[str]:
    failures = []
    for number in range(ROUNDS):
        problems = one_round()
        problems += disagreements(registry, tags.name)
        problems += restore_everything(api, tags.name)
        problems += disagreements(registry, tags.name)
        for tag in ("a", "b", "c", "d"):
            if digest_served(registry, REPOSITORY, tag) != tags.pushed[tag].digest:
                problems.append(f"{tag} does not pull with its digest after the restores")
        if problems:
            failures.append(f"round {number}: {'; '.join(problems)}")
            tags.repair()
    return failures


def test_restoring_a_tag_while_its_digest_twin_is_deleted_loses_nothing(
    race_tags, our_registry, live_server, alice
):
    api, tags = Api(live_server, alice), Tags(race_tags)

    def one_round() -> list[str]:
        assert api.delete_tag(tags.name, "a") == 204
        entry = BinEntry.objects.get(image_name=tags.name, tag_name="a")
        codes = at_once(lambda: api.restore(entry.pk), lambda: api.delete_tag(tags.name, "d"))
        problems = [] if codes == [200, 204] else [f"restore, delete answered {codes}"]
        if digest_served(our_registry, REPOSITORY, "a") != tags.pushed["a"].digest:
            problems.append("the restored a does not pull")
        if digest_served(our_registry, REPOSITORY, "d") is not None:
            problems.append("the deleted d still pulls")
        return problems

    failures = run_rounds(our_registry, api, tags, one_round)

    assert failures == [], f"{len(failures)} of {ROUNDS} rounds failed:\n" + "\n".join(failures)


def test_deleting_two_tags_on_one_digest_at_once_moves_both_to_the_bin(
    race_tags, our_registry, live_server, alice
):
    api, tags = Api(live_server, alice), Tags(race_tags)

    def one_round() -> list[str]:
        codes = at_once(
            lambda: api.delete_tag(tags.name, "a"), lambda: api.delete_tag(tags.name, "d")
        )
        problems = [] if codes == [204, 204] else [f"the deletes answered {codes}"]
        in_bin = set(
            BinEntry.objects.filter(image_name=tags.name).values_list("tag_name", flat=True)
        )
        if in_bin != {"a", "d"}:
            problems.append(f"the bin holds {sorted(in_bin)}")
        if digest_served(our_registry, REPOSITORY, tags.pushed["a"].digest) is not None:
            problems.append("a's digest still pulls")
        return problems

    failures = run_rounds(our_registry, api, tags, one_round)

    assert failures == [], f"{len(failures)} of {ROUNDS} rounds failed:\n" + "\n".join(failures)


def _environment(database_url: str) -> dict:
    # DATA_DIR is the test's own: the same lock directory (registry.locks on SQLite).
    return driver_environment(
        database_url,
        REGISTRY_HOST=settings.REGISTRY_HOST,
        REGISTRY_URL=settings.REGISTRY_URL,
        REGISTRY_TOKEN_KEY=str(settings.REGISTRY_TOKEN_KEY),
    )


def _run(database_url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=_environment(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def driver(database_url: str, *args: str) -> dict:
    return _finished(_run(database_url, "-m", "tests.drivers.bin_races", *args))


def _finished(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1]) if out.strip() else {}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_processes_moving_tags_of_one_digest_in_and_out_of_the_bin_lose_nothing(
    race_tags, our_registry, database, request
):
    name = race_tags["a"].name
    if database == "postgresql":
        url = request.getfixturevalue("postgres").url
        _finished(_run(url, "manage.py", "migrate", "--verbosity", "0"))
        digests = {tag: pushed.digest for tag, pushed in race_tags.items()}
        driver(url, "setup", REPOSITORY, json.dumps(digests))
    else:
        url = f"sqlite:///{connection.settings_dict['NAME']}"

    movers = [
        _run(url, "-m", "tests.drivers.bin_races", "cycle", name, tag, str(CYCLES), str(seed))
        for seed, tag in enumerate(("a", "d"))
    ]
    problems = [p for mover in movers for p in _finished(mover)["problems"]]

    problems += driver(url, "check", name)["problems"]
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems)
