"""What our registry sends and is answered: the token (Docker's registry token protocol,
built by registry.tokens.issue_token) and the push notifications, with their schema."""

from __future__ import annotations

from rest_framework import serializers

# The registry reads `error` only; these endpoints never answer per-field errors.
ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}


class RegistryTokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    access_token = serializers.CharField()
    expires_in = serializers.IntegerField()
    issued_at = serializers.CharField()


class RegistryEventsSerializer(serializers.Serializer):
    events = serializers.ListField()


class RegistryEventsAcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()


def accepted_json(accepted: int) -> dict:
    """How many of the events changed what we record (a repeated event changes nothing)."""
    return {"accepted": accepted}
