"""The shapes of cleanup policies: the request bodies (the rules, a policy to save), then
each read shape's serializer (the OpenAPI schema) beside the function that builds its JSON:
a policy with its runs, and a preview."""

from __future__ import annotations

from rest_framework import serializers

from api.core import formats
from api.core.shapes import DateField
from lifecycle import policies
from records.models import CleanupPolicy

PATTERN_RULE = (
    "A pattern is 1 to 128 letters, digits, '_', '.', '-', with '*' and '?' as wildcards."
)


class RulesSerializer(serializers.Serializer):
    keep_last = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=10_000, default=None
    )
    older_than_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=3650, default=None
    )
    keep_patterns = serializers.ListField(
        child=serializers.RegexField(
            r"^[A-Za-z0-9_.*?\-]{1,128}$",
            error_messages={"invalid": PATTERN_RULE},
        ),
        required=False,
        max_length=50,
        default=list,
    )
    keep_pulled_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=3650,
        default=None,
        help_text="Keep tags, and untagged manifests, pulled in the last this many days.",
    )
    untagged_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=3650,
        default=None,
        help_text=(
            "Remove manifests no tag names any more (left behind when a tag is pushed again) "
            "once they have been untagged this many days; null: never."
        ),
    )

    def validate(self, data):
        policies.check_rules(self.rules(data))
        return data

    @staticmethod
    def rules(data) -> policies.Rules:
        return policies.Rules(
            data.get("keep_last"),
            data.get("older_than_days"),
            tuple(data.get("keep_patterns") or ()),
            data.get("keep_pulled_days"),
            data.get("untagged_days"),
        )


class PolicySerializer(RulesSerializer):
    enabled = serializers.BooleanField(required=False, default=True)
    confirm_empty = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Required when the policy removes every tag of an image.",
    )


class CleanupPreviewTagSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    pushed_at = DateField(allow_null=True)
    last_pulled = DateField(allow_null=True)


class CleanupPreviewUntaggedSerializer(serializers.Serializer):
    digest = serializers.CharField()
    media_type = serializers.CharField(allow_blank=True)
    last_tag = serializers.CharField(
        allow_blank=True, help_text="The tag that named it before a push moved that tag."
    )
    size = serializers.IntegerField(allow_null=True)
    pushed_at = DateField(allow_null=True)
    untagged_since = DateField()
    last_pulled = DateField(allow_null=True, help_text="Its last pull by digest.")


class CleanupPreviewImageSerializer(serializers.Serializer):
    image = serializers.CharField()
    total = serializers.IntegerField(help_text="The image's tags, those that stay included.")
    tags = CleanupPreviewTagSerializer(many=True, help_text="The tags that would go.")
    untagged = CleanupPreviewUntaggedSerializer(
        many=True, help_text="The untagged manifests that would go (untagged_days)."
    )


class CleanupPreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Tags that would go to the recycle bin.")
    size = serializers.IntegerField(help_text="Bytes of those tags, shared layers counted each.")
    freed = serializers.IntegerField(
        help_text=(
            "Bytes purging what goes would free, tags and untagged manifests: layers nothing "
            "else keeps (at least)."
        )
    )
    untagged_count = serializers.IntegerField(
        help_text="Untagged manifests that would go to the recycle bin."
    )
    untagged_size = serializers.IntegerField(
        help_text="Bytes of those manifests, shared layers counted each."
    )
    untagged_freed = serializers.IntegerField(
        help_text="The part of `freed` that those manifests held (at least)."
    )
    emptied_images = serializers.ListField(
        child=serializers.CharField(), help_text="Images that would lose every tag."
    )
    images = CleanupPreviewImageSerializer(
        many=True, help_text="Only images that lose tags or untagged manifests."
    )


def preview_json(result: policies.Preview) -> dict:
    return {
        "count": result.count,
        "size": result.size,
        "freed": result.freed(),
        "untagged_count": result.untagged_count,
        "untagged_size": result.untagged_size,
        "untagged_freed": result.untagged_freed(),
        "emptied_images": result.emptied,
        "images": [
            {
                "image": item.image.name,
                "total": item.total,
                "tags": [
                    {
                        "name": t.name,
                        "size": t.size,
                        "pushed_at": formats.rfc2822(t.pushed_at or t.last_build_date),
                        "last_pulled": formats.rfc2822(t.last_pulled),
                    }
                    for t in item.going
                ],
                "untagged": [
                    {
                        "digest": u.digest,
                        "media_type": u.media_type,
                        "last_tag": u.last_tag,
                        "size": u.size,
                        "pushed_at": formats.rfc2822(u.pushed_at),
                        "untagged_since": formats.rfc2822(u.untagged_since),
                        "last_pulled": formats.rfc2822(u.last_pulled),
                    }
                    for u in item.untagged
                ],
            }
            for item in result.images
            if item.going or item.untagged
        ],
    }


class CleanupPolicySerializer(serializers.Serializer):
    keep_last = serializers.IntegerField(allow_null=True)
    older_than_days = serializers.IntegerField(allow_null=True)
    keep_patterns = serializers.ListField(child=serializers.CharField())
    keep_pulled_days = serializers.IntegerField(allow_null=True)
    untagged_days = serializers.IntegerField(allow_null=True)
    enabled = serializers.BooleanField()
    may_empty_images = serializers.BooleanField(
        help_text="Saved knowing it removes every tag of an image: only then may a run."
    )
    updated = DateField()
    updated_by = serializers.CharField(allow_blank=True)


class CleanupPolicyRunSerializer(serializers.Serializer):
    started = DateField()
    removed = serializers.ListField(
        child=serializers.DictField(),
        help_text=(
            "What went to the recycle bin: {image, tag, digest, size} each; `tag` is null for "
            "an untagged manifest."
        ),
    )
    removed_bytes = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)


class CleanupPolicyStateSerializer(serializers.Serializer):
    storage_size = serializers.IntegerField(
        help_text="Bytes of what the policy governs, layers shared by several tags counted once."
    )
    untagged_count = serializers.IntegerField(
        help_text="Manifests of those images that no tag names any more (still pullable by digest)."
    )
    untagged_size = serializers.IntegerField(
        help_text="Bytes their layers add to storage_size (layers no tag holds)."
    )
    policy = CleanupPolicySerializer(allow_null=True, help_text="null: none is set.")
    runs = CleanupPolicyRunSerializer(many=True, help_text="The last 20 runs, newest first.")


def policy_json(policy: CleanupPolicy | None, storage: dict) -> dict:
    """The policy, its last runs, and the storage of what it governs (`storage_size`, layers
    shared by several tags counted once; `untagged_count` and `untagged_size`)."""
    if policy is None:
        return {"policy": None, "runs": [], **storage}
    return {
        **storage,
        "policy": {
            "keep_last": policy.keep_last,
            "older_than_days": policy.older_than_days,
            "keep_patterns": policy.keep_patterns,
            "keep_pulled_days": policy.keep_pulled_days,
            "untagged_days": policy.untagged_days,
            "enabled": policy.enabled,
            "may_empty_images": policy.may_empty_images,
            "updated": formats.rfc2822(policy.updated),
            "updated_by": policy.updated_by,
        },
        "runs": [
            {
                "started": formats.rfc2822(run.started),
                "removed": run.removed,
                "removed_bytes": run.removed_bytes,
                "error": run.error,
            }
            for run in policy.runs.all()[:20]
        ],
    }
