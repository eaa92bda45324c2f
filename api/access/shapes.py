"""The shapes of who reaches what: a grant (who reaches an image, and why) and a reach (what
a person reaches, namespace by namespace), each serializer (the OpenAPI schema) beside the
function that builds its JSON, and the envelope of these short, never paged lists."""

from __future__ import annotations

from rest_framework import serializers

from api.core import formats
from api.images.shapes import permissions_json
from teams import reach


class GrantSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["person", "token", "everyone", "staff"])
    name = serializers.CharField(help_text="A username, a token's `<team>+<name>`, or a group.")
    display_name = serializers.CharField(allow_blank=True)
    permissions = serializers.DictField(child=serializers.BooleanField())
    reason = serializers.CharField()
    expires = serializers.CharField(allow_null=True, help_text="A token's expiry, RFC 2822.")


def grant_json(grant: reach.Grant) -> dict:
    return {
        "kind": grant.kind,
        "name": grant.name,
        "display_name": grant.display_name,
        "permissions": permissions_json(grant.abilities),
        "reason": grant.reason,
        "expires": formats.rfc2822(grant.expires),
    }


class ReachSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["own", "team", "public", "staff"])
    namespace = serializers.CharField(allow_blank=True)
    role = serializers.CharField(allow_null=True)
    permissions = serializers.DictField(child=serializers.BooleanField())
    reason = serializers.CharField()
    image_count = serializers.IntegerField()


def reach_json(found: reach.Reach) -> dict:
    return {
        "kind": found.kind,
        "namespace": found.namespace,
        "role": found.role,
        "permissions": permissions_json(found.abilities),
        "reason": found.reason,
        "image_count": found.image_count,
    }


def whole_list(objects: list) -> dict:
    """The list envelope around a short list that is never paged."""
    count = len(objects)
    meta = {"limit": count, "next": None, "offset": 0, "previous": None, "total_count": count}
    return {"meta": meta, "objects": objects}
