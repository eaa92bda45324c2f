"""A tag's digest, sizes, platforms, pusher and build steps, against real pushes: what the API
stores and the tag page shows must be what our registry serves."""

from __future__ import annotations

import html
import re
from datetime import datetime

import pytest
import requests

from api.core import formats
from records.models import Layer, Tag
from registry import client as oci
from registry.sync import sync_registry
from registry.tokens import service_token
from tests.fixtures.api import ApiClient
from tests.fixtures.our_registry import wait_for_tag

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]

# Steps that change only the config (ENV, LABEL, CMD) between steps that change files, and
# one too long to show whole.
DOCKERFILE = """\
FROM {base}
ENV STAGE=test
RUN echo one > /one
LABEL org.example.kind=details
RUN echo "two words" > /two
RUN echo "a step long enough that the tag page shortens it" > /long && \\
    echo "and keeps the whole of it one click away" >> /long
CMD ["sh"]
"""
# As buildah records it: the line continuation gone, the next line's indent kept.
LONG_STEP = (
    '/bin/sh -c echo "a step long enough that the tag page shortens it" > /long &&     '
    'echo "and keeps the whole of it one click away" >> /long'
)


def served(registry, repository: str, reference: str, accept: str) -> requests.Response:
    """What our registry serves, read here with a token of our own (not the client's code)."""
    token = service_token([f"repository:{repository}:pull"])
    kind = "blobs" if accept == "blob" else "manifests"
    headers = {"Authorization": f"Bearer {token}"}
    if kind == "manifests":
        headers["Accept"] = accept
    response = requests.get(
        f"{registry.url}/v2/{repository}/{kind}/{reference}", headers=headers, timeout=10
    )
    response.raise_for_status()
    return response


def image_served(registry, repository: str, digest: str) -> tuple[dict, dict]:
    """An image manifest and its config."""
    manifest = served(registry, repository, digest, oci.OCI_MANIFEST).json()
    config = served(registry, repository, manifest["config"]["digest"], "blob").json()
    return manifest, config


def pulled_size(manifest: dict) -> int:
    return manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])


def expected_history(config: dict, manifest: dict) -> list[dict]:
    """The config's history, each step that made a layer sized by the next manifest layer."""
    sizes = iter(layer["size"] for layer in manifest["layers"])
    steps = []
    for entry in config["history"]:
        empty = bool(entry.get("empty_layer"))
        created = datetime.fromisoformat(re.sub(r"(\.\d{6})\d*", r"\1", entry["created"]))
        steps.append(
            {
                "created": formats.rfc2822(created),
                "created_by": entry.get("created_by", ""),
                "comment": entry.get("comment", ""),
                "empty_layer": empty,
                "size": 0 if empty else next(sizes),
            }
        )
    return steps


def page_text(response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    text = re.sub(r"<[^>]+>", "", response.content.decode())
    return " ".join(html.unescape(text).split())


@pytest.fixture
def built_with_steps(buildah, tmp_path):
    """A single-platform OCI image built from a Dockerfile by `buildah bud`."""
    (tmp_path / "Dockerfile").write_text(DOCKERFILE.format(base=buildah.build_base()))
    ref = "localhost/details:steps"
    buildah.run("bud", "--pull-never", "--isolation", "chroot", "-t", ref, str(tmp_path))
    return ref


def platform_image(buildah, ref: str, arch: str, variant: str = "") -> str:
    """The base image, its config saying `arch` (the files stay busybox's: nothing runs it)."""
    container = buildah.run("from", "--pull-never", buildah.make_image(ref)).stdout.strip()
    variant_args = ["--variant", variant] if variant else []
    buildah.run("config", "--os", "linux", "--arch", arch, *variant_args, container)
    buildah.run("commit", "--quiet", "--rm", container, ref)
    return ref


def test_a_pushed_image_shows_its_digest_size_layers_platform_pusher_and_steps(
    push_image, our_registry, alice, built_with_steps
):
    pushed = push_image(alice, "steps", "v1", ref=built_with_steps)
    manifest, config = image_served(our_registry, pushed.repository, pushed.digest)

    tag = ApiClient(alice.basic()).get(f"/api/v1/image/{pushed.name}/tag/v1/").json()

    assert tag["digest"] == pushed.digest
    assert tag["size"] == pulled_size(manifest)
    assert tag["layer"]["layers"] == [
        {"digest": layer["digest"], "size": layer["size"], "media_type": layer["mediaType"]}
        for layer in manifest["layers"]
    ]
    assert (tag["os"], tag["architecture"]) == (config["os"], config["architecture"])
    assert tag["os"] == "linux"
    assert tag["platforms"] == []
    history = tag["layer"]["history"]
    assert history == expected_history(config, manifest)
    assert [step["empty_layer"] for step in history].count(True) >= 3  # steps with no layer
    assert "ENV STAGE=test" in " ".join(step["created_by"] for step in history)
    assert LONG_STEP in [step["created_by"] for step in history]
    assert tag["pushed_by"] == "alice"
    assert tag["pushed_at"].endswith(" +0000")


def test_a_two_platform_index_lists_each_platform_with_its_digest_and_size(
    push_image, our_registry, buildah, alice
):
    arm64 = platform_image(buildah, "localhost/details:arm64", "arm64", "v8")
    amd64 = platform_image(buildah, "localhost/details:amd64", "amd64")
    name = f"{our_registry.host}/alice/multi"
    index_digest = buildah.push_index([arm64, amd64], f"{name}:1", f"alice:{alice.key}")
    wait_for_tag(name, "1", index_digest)
    index = served(our_registry, "alice/multi", index_digest, oci.OCI_INDEX).json()
    images = {
        entry["digest"]: image_served(our_registry, "alice/multi", entry["digest"])
        for entry in index["manifests"]
    }

    tag = ApiClient(alice.basic()).get(f"/api/v1/image/{name}/tag/1/").json()

    assert tag["digest"] == index_digest
    assert tag["platforms"] == [
        {
            "os": entry["platform"]["os"],
            "architecture": entry["platform"]["architecture"],
            "variant": entry["platform"].get("variant", ""),
            "digest": entry["digest"],
            "size": pulled_size(images[entry["digest"]][0]),
        }
        for entry in index["manifests"]
    ]
    assert [(p["architecture"], p["variant"]) for p in tag["platforms"]] == [
        ("arm64", "v8"),
        ("amd64", ""),
    ]
    # The tag shows linux/amd64 (what Docker pulls on most machines), sized as that image.
    amd64_digest = tag["platforms"][1]["digest"]
    amd64_manifest, amd64_config = images[amd64_digest]
    assert (tag["os"], tag["architecture"], tag["variant"]) == ("linux", "amd64", "")
    assert tag["size"] == pulled_size(amd64_manifest)
    assert tag["layer"]["docker_id"] == amd64_manifest["config"]["digest"].removeprefix("sha256:")
    assert tag["layer"]["history"] == expected_history(amd64_config, amd64_manifest)
    assert tag["pushed_by"] == "alice"


def test_the_tag_page_shows_digest_pull_line_platforms_sizes_pusher_and_steps(
    push_image, our_registry, buildah, alice, signed_in, built_with_steps
):
    pushed = push_image(alice, "steps", "v1", ref=built_with_steps)
    manifest, config = image_served(our_registry, pushed.repository, pushed.digest)
    arm64 = platform_image(buildah, "localhost/page:arm64", "arm64", "v8")
    index_digest = buildah.push_index(
        [arm64, built_with_steps], f"{pushed.name}:multi", f"alice:{alice.key}"
    )
    wait_for_tag(pushed.name, "multi", index_digest)
    index = served(our_registry, pushed.repository, index_digest, oci.OCI_INDEX).json()
    arm64_digest = index["manifests"][0]["digest"]

    single = signed_in.get(f"/images/{pushed.name}/-/tags/v1/")
    multi = signed_in.get(f"/images/{pushed.name}/-/tags/multi/")

    assert single.status_code == 200 and multi.status_code == 200
    text = page_text(single)
    assert pushed.digest in text
    assert f"docker pull {pushed.name}@{pushed.digest}" in text
    assert re.search(r"Pushed by alice, (just now|\d+ minutes? ago)\.", text), text[:500]
    assert f'title="{pulled_size(manifest)} bytes"' in single.content.decode()
    for layer in manifest["layers"]:
        assert layer["digest"] in single.content.decode()  # copied in full
        assert f'title="{layer["size"]} bytes"' in single.content.decode()
    assert "Image layers" in text
    assert "ENV STAGE=test" in text  # "/bin/sh -c #(nop)" dropped
    assert 'RUN echo "two words" > /two' in text
    assert re.search(r'RUN echo "a step long enough that the tag page shortens it" [^…]+…', text)
    assert "Full command" + " ".join(LONG_STEP.split()) in text
    assert text.count("Full command") == 1  # the shorter steps are shown whole
    empty_steps = sum(bool(entry.get("empty_layer")) for entry in config["history"])
    assert single.content.decode().count('<td data-label="Size">no layer</td>') == empty_steps
    assert "Platforms" not in text  # one platform: no table of them

    text = page_text(multi)
    assert f"docker pull {pushed.name}@{index_digest}" in text
    assert "Platforms" in text
    assert "linux/arm64/v8" in text
    assert f"linux/{config['architecture']}" in text
    assert arm64_digest in multi.content.decode()
    assert arm64_digest[:19] in text  # shown short: sha256: and 12 digits
    assert "ENV STAGE=test" in text  # the amd64 image's steps


def test_the_sync_fills_in_tags_recorded_before_sizes_were_kept(push_image, alice):
    pushed = push_image(alice, "older", "v1")
    before = ApiClient(alice.basic()).get(f"/api/v1/image/{pushed.name}/tag/v1/").json()
    tag = Tag.objects.get(image__name=pushed.name, name="v1")
    Tag.objects.filter(pk=tag.pk).update(size=None, platforms=[])
    Layer.objects.filter(pk=tag.layer_id).update(os="", architecture="", layers=[], history=[])

    sync_registry()

    after = ApiClient(alice.basic()).get(f"/api/v1/image/{pushed.name}/tag/v1/").json()
    for field in ("digest", "size", "os", "architecture", "platforms"):
        assert after[field] == before[field], field
    assert after["layer"]["layers"] == before["layer"]["layers"] != []
    assert after["layer"]["history"] == before["layer"]["history"] != []
