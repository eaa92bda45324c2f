"""Public names without a registry host are created when inspected (spec: Images)."""

from __future__ import annotations

import pytest

from records.models import Image
from tests.fixtures.ports import free_port

pytestmark = [pytest.mark.registry, pytest.mark.django_db]


@pytest.fixture(scope="module")
def public_busybox(plain_registry, buildah):
    ref = buildah.make_image(
        "localhost/public-busybox:1.0", env={"HELLO": "world"}, ports=("80/tcp",)
    )
    for tag in ("1.0", "latest"):
        buildah.push(ref, f"{plain_registry.host}/library/busybox:{tag}")
    buildah.push(ref, f"{plain_registry.host}/tutum/hello-world:latest")
    return plain_registry


@pytest.fixture
def public_registry(settings, public_busybox):
    settings.PUBLIC_REGISTRY_URL = public_busybox.url
    return public_busybox


def test_a_public_image_is_looked_up_and_recorded_on_first_get(api, public_registry):
    response = api.get("/api/v1/image/busybox/")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "busybox"
    assert body["is_private_image"] is False
    assert body["registry"] == "/api/v1/registry/docker.io/"
    assert body["tags"] == ["/api/v1/image/busybox/tag/1.0/", "/api/v1/image/busybox/tag/latest/"]
    assert Image.objects.filter(name="busybox").exists()


def test_a_namespaced_public_image_is_found(api, public_registry):
    response = api.get("/api/v1/image/tutum/hello-world/")

    assert response.status_code == 200
    assert response.json()["tags"] == ["/api/v1/image/tutum/hello-world/tag/latest/"]


def test_a_public_tag_reads_its_layer_when_inspected(api, public_registry):
    api.get("/api/v1/image/busybox/")

    tag = api.get("/api/v1/image/busybox/tag/1.0/").json()

    assert tag["state"] == "Success"
    assert {"key": "HELLO", "value": "world"} in tag["layer"]["envvars"]
    assert tag["layer"]["ports"] == [{"port": 80, "protocol": "tcp"}]
    assert api.get("/api/v1/image/busybox/").json()["state"] == "Success"


def test_a_public_multi_platform_tag_sizes_only_the_platform_it_shows(
    api, public_registry, buildah
):
    from tests.api.test_tag_details import platform_image

    arm64 = platform_image(buildah, "localhost/public-multi:arm64", "arm64", "v8")
    amd64 = platform_image(buildah, "localhost/public-multi:amd64", "amd64")
    digest = buildah.push_index([arm64, amd64], f"{public_registry.host}/library/multi:1")
    api.get("/api/v1/image/multi/")

    tag = api.get("/api/v1/image/multi/tag/1/").json()

    assert tag["digest"] == digest
    assert (tag["os"], tag["architecture"]) == ("linux", "amd64")
    # Docker Hub counts every manifest read as a pull: the other platform is listed unsized.
    assert [(p["architecture"], p["size"] is None) for p in tag["platforms"]] == [
        ("arm64", True),
        ("amd64", False),
    ]
    assert tag["platforms"][1]["size"] == tag["size"] > 0


def test_an_unknown_public_name_is_a_404(api, public_registry):
    response = api.get("/api/v1/image/no-such-image/")

    assert response.status_code == 404
    assert not Image.objects.exists()


def test_an_unreachable_public_registry_is_a_502_that_says_so(api, settings):
    settings.PUBLIC_REGISTRY_URL = f"http://127.0.0.1:{free_port()}"

    response = api.get("/api/v1/image/busybox/")

    assert response.status_code == 502
    assert "could not reach registry docker.io" in response.json()["error"]
    assert not Image.objects.exists()
