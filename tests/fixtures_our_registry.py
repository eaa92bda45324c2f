"""Our registry as `make run` configures it: token auth and notifications to a live API.

The registry's port is chosen when this plugin loads, before test modules are collected, so
`settings.REGISTRY_HOST` is the same for every test of the session.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass

import pytest
import requests
from django.conf import settings

from registry import client as oci
from registry import config as registry_config
from registry import tokens as registry_token
from tests.fixtures_registry import RegistryProcess, free_port, start_registry

_PORT = free_port()
settings.REGISTRY_HOST = f"127.0.0.1:{_PORT}"
settings.REGISTRY_URL = f"http://127.0.0.1:{_PORT}"
settings.REGISTRY_NOTIFICATION_SECRET = secrets.token_urlsafe(24)


@pytest.fixture(scope="session")
def our_registry(live_server, tmp_path_factory) -> RegistryProcess:
    """docker-registry trusting the live API for tokens and notifying it of pushes."""
    root = tmp_path_factory.mktemp("our-registry")
    registry_token.ensure_signing_key()
    config = registry_config.registry_config(
        addr=settings.REGISTRY_HOST,
        storage_dir=root / "storage",
        realm=f"{live_server.url}/api/v1/registry-token/",
        notify_url=f"{live_server.url}/api/v1/registry-events/",
        secret=settings.REGISTRY_NOTIFICATION_SECRET,
        cert_path=settings.REGISTRY_TOKEN_KEY.with_suffix(".crt"),
    )
    # Tests want to see a push recorded quickly, and retried soon if the API was busy.
    config["notifications"]["endpoints"][0]["backoff"] = "200ms"
    extra = {key: config[key] for key in ("auth", "notifications", "storage", "log")}
    registry = start_registry(root, extra, port=_PORT)
    # Garbage collection (lifecycle.collect) runs on the config the registry was started with.
    settings.REGISTRY_CONFIG = root / "config.yml"
    yield registry
    registry.stop()


@dataclass
class Pushed:
    name: str
    repository: str
    tag: str
    digest: str


def wait_for_tag(name: str, tag: str, digest: str, seconds: float = 30):
    from records.models import Tag

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = Tag.objects.filter(image__name=name, name=tag, digest=digest).first()
        if found is not None:
            return found
        time.sleep(0.1)
    raise AssertionError(f"the push of {name}:{tag} ({digest}) was never recorded")


@pytest.fixture
def push_image(our_registry, buildah, transactional_db):
    """Push an image to our registry as `account` and wait until the API has recorded it."""

    def push(account, repo: str, tag: str = "latest", ref: str | None = None, **config) -> Pushed:
        source = ref or (
            buildah.make_image(f"localhost/{repo}:{tag}", **config)
            if config
            else buildah.build_base()
        )
        repository = f"{account.username}/{repo}"
        name = f"{our_registry.host}/{repository}"
        digest = buildah.push(source, f"{name}:{tag}", f"{account.username}:{account.key}")
        wait_for_tag(name, tag, digest)
        return Pushed(name=name, repository=repository, tag=tag, digest=digest)

    return push


def digest_served(registry, repository: str, reference: str) -> str | None:
    """The digest our registry serves for a tag or digest, or None if it serves nothing."""
    token = registry_token.service_token([f"repository:{repository}:pull"])
    response = requests.get(
        f"{registry.url}/v2/{repository}/manifests/{reference}",
        headers={"Authorization": f"Bearer {token}", "Accept": oci.ACCEPT},
        timeout=10,
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


def push_four_tags(push_image, buildah, account, repo: str) -> dict:
    """Tags a, b, c of `repo` sharing the base layer, each with a layer of its own (200 KB of
    random bytes, so it does not compress), and d on the same manifest as a."""
    pushed = {}
    for tag in ("a", "b", "c"):
        ref = buildah.make_image(f"localhost/bin-{tag}:1", files={f"/{tag}": os.urandom(200_000)})
        pushed[tag] = push_image(account, repo, tag=tag, ref=ref)
    pushed["d"] = push_image(account, repo, tag="d", ref="localhost/bin-a:1")
    assert pushed["d"].digest == pushed["a"].digest
    return pushed


@pytest.fixture
def three_tags(push_image, buildah, alice):
    """alice/app's a, b, c and d (push_four_tags)."""
    return push_four_tags(push_image, buildah, alice, "app")
