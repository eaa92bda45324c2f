"""Pushing to our registry (token auth + notifications) registers images, tags and layers."""

from __future__ import annotations

import pytest

from records.models import Image, Tag
from registry.sync import sync_registry
from tests.fixtures.api import ApiClient

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]


def test_a_push_appears_in_the_api_with_its_layer_fields(push_image, alice):
    pushed = push_image(
        alice,
        "web",
        "v1",
        env={"GREETING": "hello world", "MODE": "prod"},
        labels={"maintainer": "alice@example.com", "org.example.tier": "front"},
        ports=("8080/tcp", "53/udp"),
        volumes=("/data", "/cache"),
        entrypoint='["/bin/sh", "-c"]',
        cmd="echo hi",
        author="Alice <alice@example.com>",
    )
    api = ApiClient(alice.basic())

    image = api.get(f"/api/v1/image/{pushed.name}/").json()
    tag = api.get(f"/api/v1/image/{pushed.name}/tag/v1/").json()

    assert image["state"] == "Success"
    assert image["is_private_image"] is True
    assert image["tags"] == [f"/api/v1/image/{pushed.name}/tag/v1/"]
    layer = tag["layer"]
    assert tag["state"] == "Success"
    assert tag["full_name"] == f"{pushed.name}:v1"
    assert layer["author"] == "Alice <alice@example.com>"
    assert {"key": "GREETING", "value": "hello world"} in layer["envvars"]
    assert {"key": "MODE", "value": "prod"} in layer["envvars"]
    assert {"key": "maintainer", "value": "alice@example.com"} in layer["labels"]
    assert any(label["key"] == "io.buildah.version" for label in layer["labels"])
    assert layer["ports"] == [{"port": 53, "protocol": "udp"}, {"port": 8080, "protocol": "tcp"}]
    assert layer["volumes"] == [{"container_path": "/cache"}, {"container_path": "/data"}]
    assert layer["entrypoint"] == "/bin/sh -c"
    assert layer["run_command"] == "echo hi"
    assert layer["creation"].endswith(" +0000")
    assert len(layer["docker_id"]) == 64


def test_a_push_belongs_to_the_pusher_and_is_private(push_image, alice, bob):
    pushed = push_image(alice, "secret")

    assert Image.objects.get(name=pushed.name).owner == alice.user
    assert ApiClient(bob.basic()).get(f"/api/v1/image/{pushed.name}/").status_code == 404


def test_pushing_into_someone_elses_namespace_is_refused(our_registry, buildah, alice, bob):
    result = buildah.push(
        buildah.build_base(),
        f"{our_registry.host}/bob/stolen:latest",
        f"alice:{alice.key}",
        check=False,
    )

    assert result.returncode != 0
    assert not Image.objects.filter(name__endswith="/bob/stolen").exists()


def test_pushing_with_a_wrong_api_key_fails(our_registry, buildah, alice):
    result = buildah.push(
        buildah.build_base(),
        f"{our_registry.host}/alice/app:latest",
        "alice:" + "0" * 40,
        check=False,
    )

    assert result.returncode != 0
    assert not Image.objects.filter(name__endswith="/alice/app").exists()


def test_sync_repairs_a_missed_notification(push_image, alice):
    pushed = push_image(alice, "synced", "v2")
    Tag.objects.filter(image__name=pushed.name).delete()

    report = sync_registry()

    assert report.recorded >= 1
    assert Tag.objects.get(image__name=pushed.name, name="v2").digest == pushed.digest


def test_deleting_an_image_removes_it_from_the_registry(push_image, alice, buildah, our_registry):
    pushed = push_image(alice, "doomed")
    api = ApiClient(alice.basic())

    assert api.delete(f"/api/v1/image/{pushed.name}/").status_code == 204

    assert not Image.objects.filter(name=pushed.name).exists()
    result = buildah.run(
        "pull",
        "--tls-verify=false",
        "--creds",
        f"alice:{alice.key}",
        f"docker://{pushed.name}@{pushed.digest}",
        check=False,
    )
    assert result.returncode != 0
