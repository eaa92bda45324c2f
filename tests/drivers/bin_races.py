"""Driven by test_bin_races.py in processes of their own (on SQLite, the test's database; on
PostgreSQL, a throwaway one): move one tag to the recycle bin and back, again and again, while
another process does the same with a tag on the same digest."""

from __future__ import annotations

import json
import random
import sys
import time

import django


def setup(repository: str, tags: str) -> dict:
    """The user, our registry and the pushed tags (read back from the registry) in a fresh
    database."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from registry.hosts import registry_for_host
    from registry.sync import record_push

    get_user_model().objects.create_user(repository.split("/")[0], password="race-Passw0rd")
    registry_for_host(settings.REGISTRY_HOST)
    for tag, digest in json.loads(tags).items():
        record_push(repository, tag, digest, repository.split("/")[0])
    return {}


def cycle(name: str, tag: str, cycles: str, seed: str) -> dict:
    """Delete `tag` and restore it `cycles` times, pausing 0 to 20 ms before each move; after
    each restore, under the image's lock (so no other move is half done), the tag must pull
    with its digest and be listed with it."""
    from lifecycle import bin as recycle_bin
    from records.models import Image, Tag
    from registry import client as oci

    rng = random.Random(int(seed))
    image = Image.objects.get(name=name)
    digest = Tag.objects.get(image=image, name=tag).digest
    client = oci.client_for_image(image)
    problems = []
    for number in range(int(cycles)):
        try:
            time.sleep(rng.uniform(0, 0.02))
            [entry] = recycle_bin.delete_tags(image, [tag], by="race")
            time.sleep(rng.uniform(0, 0.02))
            recycle_bin.restore(entry)
            with recycle_bin.lock(name):
                served = client.manifest_digest(image.repository, tag)
                listed = Tag.objects.get(image=image, name=tag).digest
            if served != digest or listed != digest:
                problems.append(f"{tag} #{number}: served {served}, listed {listed}")
        except Exception as error:  # every failure is a finding, counted by the test
            problems.append(f"{tag} #{number}: {type(error).__name__}: {error}")
    return {"problems": problems}


def check(name: str) -> dict:
    """How the registry, the database and the bin disagree for the image."""
    from records.models import BinEntry, Image
    from registry import client as oci

    image = Image.objects.get(name=name)
    client = oci.client_for_image(image)
    listed = dict(image.tags.exclude(digest="").values_list("name", "digest"))
    problems = [
        f"{tag} is listed on {digest} but the registry serves {served}"
        for tag, digest in listed.items()
        if (served := _served(client, image.repository, tag)) != digest
    ]
    problems += [
        f"the registry serves {tag}, which is not listed"
        for tag in set(client.list_tags(image.repository)) - listed.keys()
    ]
    problems += [f"{entry} is still in the bin" for entry in BinEntry.objects.all()]
    return {"problems": problems}


def _served(client, repository: str, tag: str) -> str | None:
    from registry import client as oci

    try:
        return client.manifest_digest(repository, tag)
    except oci.RegistryNotFound:
        return None


if __name__ == "__main__":
    django.setup()
    command, *args = sys.argv[1:]
    print(json.dumps({"setup": setup, "cycle": cycle, "check": check}[command](*args)))
