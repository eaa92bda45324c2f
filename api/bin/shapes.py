"""The shapes of the recycle bin: an entry (a deleted tag or image) and what a restore
brought back, each serializer (the OpenAPI schema) beside the function that builds its JSON;
the body that deletes several tags."""

from __future__ import annotations

from rest_framework import serializers

from api.core import formats
from api.core.pagination import envelope_serializer
from lifecycle import bin as recycle_bin
from lifecycle.bin import Restored
from records.models import BinEntry
from registry.names import TAG_RE, TAG_RULE


class BinEntrySerializer(serializers.Serializer):
    """For the schema: what entry_json returns."""

    id = serializers.IntegerField()
    resource_uri = serializers.CharField()
    kind = serializers.ChoiceField(choices=BinEntry.Kind.choices)
    image = serializers.CharField()
    tag = serializers.CharField(allow_null=True, help_text="null for an image or untagged entry.")
    tags = serializers.ListField(child=serializers.DictField())
    digest = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    pushed_at = serializers.CharField(allow_null=True, help_text="null for an image entry.")
    last_tag = serializers.CharField(
        allow_null=True,
        help_text="An untagged entry's manifest: the tag that named it before a push moved it.",
    )
    deleted_at = serializers.CharField()
    deleted_by = serializers.CharField()
    reason = serializers.CharField()
    purge_after = serializers.CharField()
    image_exists = serializers.BooleanField()


# One component for both lists of entries (an image's, and everything you may restore).
BinEntryList = envelope_serializer("BinEntryList", BinEntrySerializer(many=True))


def entry_uri(entry: BinEntry) -> str:
    return f"{formats.API_PREFIX}/deleted/{entry.pk}/"


def entry_json(entry: BinEntry) -> dict:
    is_image = entry.kind == BinEntry.Kind.IMAGE
    is_untagged = entry.kind == BinEntry.Kind.UNTAGGED
    tags = (
        [
            {"name": t.tag_name, "digest": t.digest, "size": t.size}
            for t in sorted(entry.tag_entries.all(), key=lambda t: t.tag_name)
        ]
        if is_image
        else []
    )
    return {
        "id": entry.pk,
        "resource_uri": entry_uri(entry),
        "kind": entry.kind,
        "image": entry.image_name,
        "tag": None if is_image or is_untagged else entry.tag_name,
        "tags": tags,
        "digest": entry.digest,
        "size": sum(t["size"] or 0 for t in tags) if is_image else entry.size,
        "pushed_at": None if is_image else formats.rfc2822(entry.pushed_at),
        "last_tag": recycle_bin.last_tag(entry) if is_untagged else None,
        "deleted_at": formats.rfc2822(entry.deleted_at),
        "deleted_by": entry.deleted_by,
        "reason": entry.reason,
        "purge_after": formats.rfc2822(recycle_bin.purge_after(entry)),
        "image_exists": entry.image_id is not None,
    }


class RestoredSerializer(serializers.Serializer):
    image = serializers.CharField()
    resource_uri = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())


def restored_json(restored: Restored) -> dict:
    return {
        "image": restored.image.name,
        "resource_uri": formats.image_uri(restored.image.name),
        "tags": restored.tags,
    }


class DeleteTagsSerializer(serializers.Serializer):
    tags = serializers.ListField(
        child=serializers.CharField(max_length=128), min_length=1, max_length=100
    )

    def validate_tags(self, value: list[str]) -> list[str]:
        wrong = [tag for tag in value if not TAG_RE.fullmatch(tag)]
        if wrong:
            raise serializers.ValidationError(f"{', '.join(wrong)}: {TAG_RULE}")
        return list(dict.fromkeys(value))
