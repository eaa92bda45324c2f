"""The audit trail's shapes: an event, and an action with the words people read it in; each
serializer (the schema) beside the function that builds its JSON."""

from __future__ import annotations

from rest_framework import serializers

from api.core import formats
from audit import trail
from records.models import AuditEvent

# The action codes, alphabetically: the schema's enum and the filter's error list them so.
ACTION_CODES = sorted(trail.ACTIONS)


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    time = serializers.CharField(help_text="RFC 2822, UTC")
    actor = serializers.CharField(
        allow_blank=True, help_text="A username, a token's `<team>+<name>`, or empty."
    )
    actor_kind = serializers.ChoiceField(choices=AuditEvent.Actor.choices)
    action = serializers.ChoiceField(choices=ACTION_CODES)
    target = serializers.CharField(allow_blank=True)
    team = serializers.CharField(allow_null=True)
    address = serializers.CharField(allow_blank=True, help_text="Where it came from.")
    details = serializers.DictField()


def event_json(event: AuditEvent) -> dict:
    return {
        "id": event.pk,
        "time": formats.rfc2822(event.time),
        "actor": event.actor_name,
        "actor_kind": event.actor_kind,
        "action": event.action,
        "target": event.target,
        "team": event.team_name or None,
        "address": event.address,
        "details": event.details,
    }


class AuditActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=ACTION_CODES)
    label = serializers.CharField(
        help_text="A short past-tense sentence that goes before the target, e.g. "
        "'Deleted a tag'; the admin's rows and filter show it."
    )
    description = serializers.CharField(help_text="What the action is about.")


def action_json(code: str, action: trail.Action) -> dict:
    return {"action": code, "label": action.label, "description": action.description}


class AuditActionListSerializer(serializers.Serializer):
    objects = AuditActionSerializer(many=True)


def action_list_json() -> dict:
    """Every action the trail records, in the trail's own order (not alphabetical)."""
    return {"objects": [action_json(code, action) for code, action in trail.ACTIONS.items()]}
