"""The cleanup policy page: rules, a preview of what would go, then saving; a policy that
empties an image needs a second, explicit confirmation."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from records.models import CleanupPolicy, Tag, UntaggedManifest


def text(response) -> str:
    return response.content.decode()


def aged_image(make_image, alice):
    image = make_image(alice, "ci", tags=["latest", "pr-1", "pr-2", "pr-3"])
    now = timezone.now()
    for days, name in enumerate(["latest", "pr-3", "pr-2", "pr-1"]):
        Tag.objects.filter(image=image, name=name).update(pushed_at=now - timedelta(days=days))
    return image


def test_the_preview_names_the_tags_and_saving_is_offered_only_under_it(
    signed_in, make_image, alice
):
    image = aged_image(make_image, alice)
    path = f"/images/{image.name}/-/cleanup/"
    rules = {"keep_last": "1", "keep_patterns": "latest", "enabled": "on"}

    first = text(signed_in.get(path))
    assert "Preview what would go" in first and "Save this policy" not in first

    preview = text(signed_in.post(path, {**rules, "action": "preview"}))
    assert "These 2 tags" in preview and "would go" in preview
    assert '<td data-label="Tag">pr-2</td>' in preview and "pr-1" in preview
    assert "Save this policy" in preview and not CleanupPolicy.objects.exists()

    fingerprint = '{"keep_last": 1, "keep_patterns": ["latest"], "keep_pulled_days": null, '
    fingerprint += '"older_than_days": null, "untagged_days": null}'
    saved = signed_in.post(path, {**rules, "action": "save", "previewed": fingerprint})
    assert saved.status_code == 302
    policy = CleanupPolicy.objects.get()
    assert (policy.keep_last, policy.keep_patterns) == (1, ["latest"])


def test_rules_changed_after_the_preview_show_the_new_preview_instead_of_saving(
    signed_in, make_image, alice
):
    image = aged_image(make_image, alice)
    path = f"/images/{image.name}/-/cleanup/"

    response = signed_in.post(
        path, {"keep_last": "2", "action": "save", "previewed": '{"keep_last": 1}'}
    )

    assert "The rules changed: here is what they remove now." in text(response)
    assert not CleanupPolicy.objects.exists()


def test_a_policy_that_removes_every_tag_asks_twice(signed_in, make_image, alice):
    image = aged_image(make_image, alice)
    path = f"/images/{image.name}/-/cleanup/"
    rules = {"older_than_days": "1000", "action": "save"}
    # A tag never pushed has no push date: one that old is due under any age rule.
    Tag.objects.filter(image=image).update(pushed_at=timezone.now() - timedelta(days=2000))
    fingerprint = '{"keep_last": null, "keep_patterns": [], "keep_pulled_days": null, '
    fingerprint += '"older_than_days": 1000, "untagged_days": null}'

    asked = text(signed_in.post(path, {**rules, "previewed": fingerprint}))
    assert "removes <strong>every</strong> tag of" in asked
    assert "every tag of" in asked and not CleanupPolicy.objects.exists()

    saved = signed_in.post(path, {**rules, "previewed": fingerprint, "confirm_empty": "on"})
    assert saved.status_code == 302
    assert CleanupPolicy.objects.get().may_empty_images


def test_no_rule_is_explained_on_the_field(signed_in, make_image, alice):
    image = aged_image(make_image, alice)

    page = text(signed_in.post(f"/images/{image.name}/-/cleanup/", {"action": "preview"}))

    assert "Say how many recent tags to keep" in page


def test_old_versions_no_tag_points_to_are_previewed_in_words_and_their_rule_saved(
    signed_in, make_image, alice
):
    image = aged_image(make_image, alice)
    layer = Tag.objects.get(image=image, name="pr-1").layer
    for number in (1, 2):
        UntaggedManifest.objects.create(
            image=image,
            digest=f"sha256:{number:02x}{'ab' * 31}",
            last_tag="latest",
            size=1_500_000,
            layer=layer,
            pushed_at=timezone.now() - timedelta(days=20),
            untagged_since=timezone.now() - timedelta(days=10),
        )
    path = f"/images/{image.name}/-/cleanup/"
    rules = {"untagged_days": "7", "keep_pulled_days": "30", "enabled": "on"}

    first = text(signed_in.get(path))
    preview = text(signed_in.post(path, {**rules, "action": "preview"}))
    fingerprint = '{"keep_last": null, "keep_patterns": [], "keep_pulled_days": 30, '
    fingerprint += '"older_than_days": null, "untagged_days": 7}'
    saved = signed_in.post(path, {**rules, "action": "save", "previewed": fingerprint})

    assert "2 old versions no tag points to any more hold" in first
    assert "No tag would go" in preview
    assert "2 old versions no tag points to any more, 3 MB, would go." in preview
    assert "<code>sha256:01ababababab…</code>" in preview and "once latest" in preview
    assert saved.status_code == 302
    policy = CleanupPolicy.objects.get()
    assert (policy.untagged_days, policy.keep_last, policy.older_than_days) == (7, None, None)
