"""Each JSON builder of the image side makes exactly the shape its serializer declares (the
OpenAPI schema): built from real objects, compared key by key at every depth
(api.core.shapes.mismatches)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from api.access.shapes import GrantSerializer, ReachSerializer, grant_json, reach_json
from api.bin.shapes import (
    BinEntrySerializer,
    RestoredSerializer,
    entry_json,
    restored_json,
)
from api.builds.shapes import (
    PONG,
    BuildLogSerializer,
    BuildSerializer,
    WebhookAcceptedSerializer,
    WebhookPongSerializer,
    WebhookSerializer,
    accepted_json,
    build_json,
    log_json,
    webhook_json,
)
from api.core.shapes import mismatches
from api.images.queries import visible_tag
from api.images.shapes import (
    ImageSerializer,
    LayerSerializer,
    RegistrySerializer,
    TagSerializer,
    image_row,
    images_json,
    layer_json,
    registry_json,
    tag_json,
)
from api.policies.shapes import (
    CleanupPolicyStateSerializer,
    CleanupPreviewSerializer,
    policy_json,
    preview_json,
)
from api.registry_protocol.shapes import (
    RegistryEventsAcceptedSerializer,
    RegistryTokenSerializer,
)
from api.registry_protocol.shapes import accepted_json as events_accepted_json
from lifecycle import policies
from lifecycle.bin import Restored
from records.models import (
    BinEntry,
    Build,
    BuildSetting,
    BuildSource,
    Category,
    CleanupPolicy,
    PolicyRun,
    Tag,
    UntaggedManifest,
)
from registry import client as oci
from registry import manifests, sync, tokens
from teams import access, reach

pytestmark = pytest.mark.django_db

# An image config and manifest as a registry serves them, read by the registry client.
CONFIG = {
    "author": "alice",
    "created": "2024-01-02T03:04:05Z",
    "os": "linux",
    "architecture": "arm64",
    "variant": "v8",
    "config": {
        "Env": ["PATH=/bin"],
        "Cmd": ["/run.sh"],
        "Labels": {"io.buildah.version": "1.28.2"},
        "ExposedPorts": {"80/tcp": {}},
        "Volumes": {"/data": {}},
    },
    "history": [
        {"created": "2024-01-02T03:04:05Z", "created_by": "/bin/sh -c #(nop) ADD file:1 in /"},
        {"created": "2024-01-02T03:04:06Z", "created_by": "CMD", "empty_layer": True},
    ],
}
MANIFEST = {
    "layers": [
        {
            "digest": "sha256:" + "a" * 64,
            "size": 123,
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
        }
    ]
}
PLATFORM = {
    "os": "linux",
    "architecture": "arm64",
    "variant": "v8",
    "digest": "sha256:" + "b" * 64,
    "size": 456,
}


@pytest.fixture
def image(alice, make_image):
    """An image with everything a shape can show: categories, a build source with a setting,
    a tag whose layer the registry client read, with its platforms."""
    image = make_image(alice, "shapes", tags=["v1"])
    image.categories.add(Category.objects.create(name="web"))
    source = BuildSource.objects.create(image=image, owner="alice", repository="app")
    BuildSetting.objects.create(build_source=source, tag="v1", branch="main")
    layers = manifests.layers_of(MANIFEST)
    layer = sync.store_layer(oci.parse_config("sha256:" + "c" * 64, CONFIG, layers))
    Tag.objects.filter(image=image, name="v1").update(layer=layer, platforms=[PLATFORM])
    return image


def _tag(image) -> Tag:
    return Tag.objects.select_related("layer").get(image=image, name="v1")


def test_an_image_in_a_list_is_its_serializer_but_the_storage_size_of_one_image(alice, image):
    [listed], kept = images_json([image_row(image)], access.viewer(alice.user))

    assert listed["build_source"]["build_settings"] and listed["categories"] and not kept
    assert mismatches(ImageSerializer(), listed) == [
        "$: missing storage_size",
        "$: missing pull_tag",
    ]


def test_an_image_on_its_own_is_its_serializer(api, image):
    shown = api.get(f"/api/v1/image/{image.name}/").json()

    assert mismatches(ImageSerializer(), shown) == []


def test_a_tag_is_its_serializer_with_its_layer_steps_and_platforms(alice, image):
    abilities = access.abilities(alice.user, image)

    built = tag_json(_tag(image), image.name, {"v1"}, abilities)

    assert built["layer"]["history"] and built["layer"]["layers"] and built["platforms"]
    assert mismatches(TagSerializer(), built) == []


def test_a_tag_in_a_list_leaves_out_only_its_layer_steps(alice, image):
    abilities = access.abilities(alice.user, image)

    built = tag_json(_tag(image), image.name, set(), abilities, steps=False)

    assert mismatches(TagSerializer(), built) == [
        "$.layer: missing layers",
        "$.layer: missing history",
    ]


def test_a_tag_read_by_the_plain_sql_lookup_is_its_serializer(alice, image):
    tag = visible_tag(alice.user.pk, image.name, "v1")

    built = tag_json(tag, image.name, {"v1"}, access.abilities(alice.user, image))

    assert mismatches(TagSerializer(), built) == []


def test_a_layer_and_a_registry_are_their_serializers(image):
    assert mismatches(LayerSerializer(), layer_json(_tag(image).layer)) == []
    assert mismatches(RegistrySerializer(), registry_json(image.registry)) == []


def _build(image, alice) -> Build:
    tag = _tag(image)
    build = Build.objects.create(
        tag=tag, triggered_by=alice.user, clone_url="file:///app.git", branch="main", log="ok\n"
    )
    build.log_size = len(build.log)
    return build


def test_a_build_and_its_log_are_their_serializers(alice, image):
    build = _build(image, alice)

    assert mismatches(BuildSerializer(), build_json(build, image.name, "v1", 1)) == []
    assert mismatches(BuildLogSerializer(), log_json(build, 0, build.log)) == []


def test_the_webhook_and_its_answers_are_their_serializers(image):
    accepted = accepted_json(["/api/v1/image/x/tag/v1/"], {"v2": "building"}, "Building 1.")

    assert mismatches(WebhookSerializer(), webhook_json(image)) == []
    assert mismatches(WebhookPongSerializer(), PONG) == []
    assert mismatches(WebhookAcceptedSerializer(), accepted) == []


def test_the_registry_token_and_the_events_answer_are_their_serializers(alice):
    access_ = [{"type": "repository", "name": "alice/app", "actions": ["pull"]}]

    assert mismatches(RegistryTokenSerializer(), tokens.issue_token("alice", access_)) == []
    assert mismatches(RegistryEventsAcceptedSerializer(), events_accepted_json(2)) == []


def _entries(image) -> tuple[BinEntry, BinEntry]:
    common = {"image_name": image.name, "namespace": "alice", "deleted_by": "alice"}
    tag = BinEntry.objects.create(
        kind=BinEntry.Kind.TAG, image=image, tag_name="v0", digest="sha256:1", size=5, **common
    )
    whole = BinEntry.objects.create(kind=BinEntry.Kind.IMAGE, **common)
    BinEntry.objects.create(
        kind=BinEntry.Kind.TAG, parent=whole, tag_name="v1", digest="sha256:2", size=7, **common
    )
    return tag, whole


def test_recycle_bin_entries_and_a_restore_are_their_serializers(image):
    tag, whole = _entries(image)
    untagged = BinEntry.objects.create(
        kind=BinEntry.Kind.UNTAGGED,
        image=image,
        image_name=image.name,
        namespace="alice",
        digest="sha256:3",
        snapshot={"last_tag": "latest"},
    )

    assert mismatches(BinEntrySerializer(), entry_json(tag)) == []
    assert mismatches(BinEntrySerializer(), entry_json(whole)) == []
    assert mismatches(BinEntrySerializer(), entry_json(untagged)) == []
    assert entry_json(untagged)["last_tag"] == "latest"
    assert mismatches(RestoredSerializer(), restored_json(Restored(image, ["v0"]))) == []


def test_who_reaches_an_image_and_what_you_reach_are_their_serializers(alice, image):
    grants = [grant_json(g) for g in reach.who_can_reach(image)]
    reaches = [reach_json(r) for r in reach.what_person_reaches(alice.user)]

    assert grants and reaches
    assert mismatches(GrantSerializer(many=True), grants) == []
    assert mismatches(ReachSerializer(many=True), reaches) == []


def test_a_cleanup_policy_with_its_runs_and_a_preview_are_their_serializers(alice, make_image):
    image = make_image(alice, "kept", tags=["v1", "v2", "v3"])
    policy = CleanupPolicy.objects.create(image=image, keep_last=1, keep_patterns=["v*"])
    PolicyRun.objects.create(policy=policy, removed=[{"image": image.name, "tag": "v0", "size": 1}])
    UntaggedManifest.objects.create(
        image=image, digest="sha256:9", untagged_since=timezone.now() - timedelta(days=9)
    )
    storage = {"storage_size": 10, "untagged_count": 1, "untagged_size": 3}

    state = policy_json(policy, storage)
    rules = policies.Rules(1, None, (), None, untagged_days=7)
    preview = preview_json(policies.preview(rules, [image]))

    assert state["runs"] and preview["images"][0]["tags"] and preview["images"][0]["untagged"]
    assert mismatches(CleanupPolicyStateSerializer(), state) == []
    assert mismatches(CleanupPolicyStateSerializer(), policy_json(None, storage)) == []
    assert mismatches(CleanupPreviewSerializer(), preview) == []
