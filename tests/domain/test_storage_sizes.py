"""Storage sizes a person decides by: per image and per namespace, each layer counted once
however many tags share it, checked against the manifests our registry serves."""

from __future__ import annotations

import os

import pytest

from tests.api.test_tag_details import served
from tests.fixtures.api import ApiClient

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]


def test_shared_layers_count_once_for_the_image_and_its_namespace(
    push_image, buildah, our_registry, alice
):
    pushed = []
    for tag in ("one", "two"):
        ref = buildah.make_image(f"localhost/sizes-{tag}:1", files={"/f": os.urandom(30_000)})
        pushed.append(push_image(alice, "sized", tag=tag, ref=ref))
    push_image(alice, "sized", tag="again", ref="localhost/sizes-one:1")  # same layers again
    layers = {}
    for p in pushed:
        manifest = served(
            our_registry, p.repository, p.digest, "application/vnd.oci.image.manifest.v1+json"
        )
        layers.update({layer["digest"]: layer["size"] for layer in manifest.json()["layers"]})
    assert len(layers) == 3  # the base, shared, and one of each tag's own
    api = ApiClient(alice.basic())

    image = api.get(f"/api/v1/image/{pushed[0].name}/").json()
    namespace = api.get("/api/v1/namespace/alice/cleanup-policy/").json()

    assert image["storage_size"] == sum(layers.values())
    assert namespace["storage_size"] == sum(layers.values())
