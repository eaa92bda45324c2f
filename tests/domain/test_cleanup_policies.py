"""Cleanup policies: the rules choose the right tags, the preview is what the run removes,
what is removed goes to the recycle bin, and a policy that empties an image asks twice."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from lifecycle import policies
from records.models import BinEntry, CleanupPolicy, PolicyRun, Tag, UntaggedManifest
from registry import client as oci
from tests.fixtures.api import ApiClient

NOW = timezone.now()


def aged(image, **days_ago):
    """Give each tag a push date `days_ago` days back."""
    for name, days in days_ago.items():
        Tag.objects.filter(image=image, name=name).update(pushed_at=NOW - timedelta(days=days))


@pytest.fixture
def ci_image(make_image, alice):
    image = make_image(alice, "ci", tags=["latest", "v1", "v2", "pr-1", "pr-2", "pr-3", "pr-4"])
    aged(image, latest=1, v1=300, v2=200, **{"pr-1": 40, "pr-2": 30, "pr-3": 20, "pr-4": 2})
    return image


def chosen(image, **rules) -> list[str]:
    going, _ = policies.choose(image, policies.Rules(**rules), NOW)
    return [t.name for t in going]


@pytest.mark.django_db
def test_keep_the_most_recent_removes_the_rest_newest_first(ci_image):
    assert chosen(ci_image, keep_last=3) == ["pr-2", "pr-1", "v2", "v1"]


@pytest.mark.django_db
def test_patterns_are_always_kept_and_do_not_use_up_the_recent_places(ci_image):
    assert chosen(ci_image, keep_last=2, keep_patterns=("latest", "v*")) == ["pr-2", "pr-1"]


@pytest.mark.django_db
def test_older_than_and_keep_last_together_remove_only_what_breaks_both(ci_image):
    assert chosen(ci_image, older_than_days=25) == ["pr-2", "pr-1", "v2", "v1"]
    assert chosen(ci_image, older_than_days=25, keep_last=5) == ["v2", "v1"]


@pytest.mark.django_db
def test_a_tag_pulled_recently_is_kept_however_old(ci_image):
    Tag.objects.filter(image=ci_image, name="v1").update(last_pulled=NOW - timedelta(days=3))
    Tag.objects.filter(image=ci_image, name="v2").update(last_pulled=NOW - timedelta(days=60))

    assert chosen(ci_image, older_than_days=100, keep_pulled_days=30) == ["v2"]


@pytest.mark.django_db
def test_a_policy_needs_a_removal_rule(api, ci_image):
    response = api.put(
        f"/api/v1/image/{ci_image.name}/cleanup-policy/",
        {"keep_patterns": ["latest"]},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "how many recent tags to keep" in response.json()["fields"]["keep_last"][0]


@pytest.mark.django_db
def test_a_wrong_pattern_is_named(api, ci_image):
    response = api.post(
        f"/api/v1/image/{ci_image.name}/cleanup-policy/preview/",
        {"keep_last": 1, "keep_patterns": ["ok", "no spaces"]},
    )

    assert response.status_code == 400
    assert "keep_patterns.1" in response.json()["fields"]


@pytest.mark.django_db
def test_a_policy_emptying_an_image_is_saved_only_when_confirmed(api, ci_image):
    path = f"/api/v1/image/{ci_image.name}/cleanup-policy/"
    rules = {"older_than_days": 1}

    refused = api.put(path, rules, content_type="application/json")
    preview = api.post(path + "preview/", rules).json()
    saved = api.put(path, {**rules, "confirm_empty": True}, content_type="application/json")

    assert refused.status_code == 400
    assert "every tag of" in refused.json()["fields"]["confirm_empty"][0]
    assert preview["emptied_images"] == [ci_image.name] and preview["count"] == 7
    assert saved.status_code == 200 and saved.json()["policy"]["may_empty_images"] is True


@pytest.mark.django_db
def test_only_owners_set_a_policy_but_writers_preview_it(api, make_image, make_team, bob, alice):
    team = make_team("web", alice="Owner", bob="Writer")
    image = make_image(team, "app", tags=["a", "b"])
    writer = ApiClient(bob.basic())
    path = f"/api/v1/image/{image.name}/cleanup-policy/"

    assert writer.post(path + "preview/", {"keep_last": 1}).status_code == 200
    assert writer.put(path, {"keep_last": 1}, content_type="application/json").status_code == 403
    assert api.put(path, {"keep_last": 1}, content_type="application/json").status_code == 200
    namespace = "/api/v1/namespace/web/cleanup-policy/"
    refused = writer.put(namespace, {"keep_last": 1}, content_type="application/json")
    assert refused.status_code == 403
    assert api.get("/api/v1/namespace/nobodys/cleanup-policy/").status_code == 404


@pytest.mark.registry
@pytest.mark.django_db(transaction=True)
def test_the_run_removes_exactly_what_the_preview_showed_into_the_recycle_bin(
    push_image, buildah, alice
):
    for number in range(5):
        ref = buildah.make_image(f"localhost/policy:{number}", files={"/n": os.urandom(8)})
        pushed = push_image(alice, "app", tag=f"build-{number}", ref=ref)
    push_image(alice, "app", tag="latest", ref="localhost/policy:4")
    name = pushed.name
    for number in range(5):
        Tag.objects.filter(image__name=name, name=f"build-{number}").update(
            pushed_at=NOW - timedelta(days=10 - number)
        )
    Tag.objects.filter(image__name=name, name="build-0").update(last_pulled=NOW)
    api = ApiClient(alice.basic())
    rules = {"keep_last": 2, "keep_patterns": ["latest"], "keep_pulled_days": 7}

    preview = api.post(f"/api/v1/image/{name}/cleanup-policy/preview/", rules).json()
    assert (
        api.put(
            f"/api/v1/image/{name}/cleanup-policy/", rules, content_type="application/json"
        ).status_code
        == 200
    )
    [run] = policies.run_all()

    previewed = [t["name"] for t in preview["images"][0]["tags"]]
    assert previewed == ["build-2", "build-1"]
    assert [r["tag"] for r in run.removed] == previewed
    assert run.removed_bytes == preview["size"] > 0
    assert set(BinEntry.objects.values_list("tag_name", flat=True)) == set(previewed)
    remaining = set(Tag.objects.filter(image__name=name).values_list("name", flat=True))
    assert remaining == {"latest", "build-4", "build-3", "build-0"}
    history = api.get(f"/api/v1/image/{name}/cleanup-policy/").json()["runs"]
    assert [r["tag"] for r in history[0]["removed"]] == previewed
    assert CleanupPolicy.objects.get().runs.count() == 1
    # Housekeeping runs hourly; a policy, once a day.
    assert policies.run_all() == []
    assert PolicyRun.objects.count() == 1


def untagged_rows(image, **days_ago):
    """Untagged manifests of `image`, each untagged `days_ago` days back, as pushes leave them
    (registry.untagged); `index_` names are indexes listing `child_` ones."""
    rows = {}
    for name, days in days_ago.items():
        rows[name] = UntaggedManifest.objects.create(
            image=image,
            digest=f"sha256:{name}",
            last_tag="latest",
            untagged_since=NOW - timedelta(days=days),
        )
    return rows


def chosen_untagged(image, **rules) -> list[str]:
    going = policies.choose_untagged(image, policies.Rules(**rules), NOW)
    return [row.digest.removeprefix("sha256:") for row in going]


@pytest.mark.django_db
def test_the_untagged_rule_removes_what_has_been_untagged_long_enough_longest_first(ci_image):
    untagged_rows(ci_image, new=2, old=30, older=40)

    assert chosen_untagged(ci_image, untagged_days=7) == ["older", "old"]
    assert chosen_untagged(ci_image, untagged_days=35) == ["older"]
    assert chosen_untagged(ci_image) == []


@pytest.mark.django_db
def test_an_untagged_manifest_pulled_by_digest_recently_is_kept(ci_image):
    rows = untagged_rows(ci_image, pinned=30, unused=30)
    UntaggedManifest.objects.filter(pk=rows["pinned"].pk).update(last_pulled=NOW)

    assert chosen_untagged(ci_image, untagged_days=7, keep_pulled_days=30) == ["unused"]


@pytest.mark.django_db
def test_an_index_that_stays_keeps_the_manifests_it_lists(ci_image):
    untagged_rows(ci_image, a=30, b=30, c=30, index=2, child=30)
    listing = [{"os": "linux", "architecture": "amd64", "digest": "sha256:a", "size": 1}]
    Tag.objects.filter(image=ci_image, name="latest").update(
        media_type=oci.OCI_INDEX, platforms=listing
    )
    BinEntry.objects.create(
        kind=BinEntry.Kind.TAG,
        image=ci_image,
        image_name=ci_image.name,
        tag_name="old",
        platforms=[{**listing[0], "digest": "sha256:b"}],
    )
    # An untagged index too young to go keeps what it lists.
    UntaggedManifest.objects.filter(digest="sha256:index").update(
        media_type=oci.OCI_INDEX, platforms=[{**listing[0], "digest": "sha256:child"}]
    )

    assert chosen_untagged(ci_image, untagged_days=7) == ["c"]
    # Old enough, the index goes, and what it lists with it.
    assert chosen_untagged(ci_image, untagged_days=1) == ["c", "child", "index"]


@pytest.mark.django_db
def test_a_policy_of_the_untagged_rule_alone_removes_no_tag(api, ci_image):
    untagged_rows(ci_image, old=30)
    path = f"/api/v1/image/{ci_image.name}/cleanup-policy/"

    preview = api.post(path + "preview/", {"untagged_days": 7}).json()
    saved = api.put(path, {"untagged_days": 7}, content_type="application/json")

    assert (preview["count"], preview["untagged_count"], preview["emptied_images"]) == (0, 1, [])
    assert preview["images"][0]["tags"] == []
    assert saved.status_code == 200, saved.json()
    assert saved.json()["policy"]["untagged_days"] == 7
    assert saved.json()["untagged_count"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("value", [-3, 0, "soon", "7 days", 1.5, True, [7], 100_000])
def test_untagged_days_that_are_not_a_whole_number_of_days_are_a_400_naming_the_field(
    api, ci_image, value
):
    image_path = f"/api/v1/image/{ci_image.name}/cleanup-policy/"
    body = {"keep_last": 2, "untagged_days": value}

    responses = [
        api.put(image_path, body, content_type="application/json"),
        api.post(image_path + "preview/", body),
        api.put("/api/v1/namespace/alice/cleanup-policy/", body, content_type="application/json"),
    ]

    for response in responses:
        assert response.status_code == 400
        assert list(response.json()["fields"]) == ["untagged_days"]
    assert not CleanupPolicy.objects.exists()
