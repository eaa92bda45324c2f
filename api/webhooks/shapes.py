"""The shapes of webhooks (extension): a webhook, its deliveries with their attempts, and the
request bodies that make and change one; each serializer beside the function building its JSON."""

from __future__ import annotations

from rest_framework import serializers

from api.core import formats
from api.core.shapes import DateField, StrictSerializer
from records.models import Webhook, WebhookAttempt, WebhookDelivery
from webhooks.events import EVENTS

FORMATS = [choice.value for choice in Webhook.Format]
DELIVERY_STATES = [choice.value for choice in WebhookDelivery.State]


def webhook_uri(webhook: Webhook) -> str:
    return f"{formats.API_PREFIX}/webhook/{webhook.uuid}/"


def delivery_uri(delivery: WebhookDelivery) -> str:
    return f"{formats.API_PREFIX}/webhook/{delivery.webhook.uuid}/delivery/{delivery.pk}/"


class AttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    started = DateField()
    duration_ms = serializers.IntegerField()
    status_code = serializers.IntegerField(
        allow_null=True, help_text="The receiver's answer; null when it gave none."
    )
    response_excerpt = serializers.CharField(
        allow_blank=True, help_text="The answer's first kilobyte."
    )
    error = serializers.CharField(allow_blank=True, help_text="Why it failed, in words.")
    by_hand = serializers.BooleanField(help_text='Made by "Send again".')


def attempt_json(attempt: WebhookAttempt) -> dict:
    return {
        "number": attempt.number,
        "started": formats.rfc2822(attempt.started),
        "duration_ms": attempt.duration_ms,
        "status_code": attempt.status_code,
        "response_excerpt": attempt.response_excerpt,
        "error": attempt.error,
        "by_hand": attempt.by_hand,
    }


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    resource_uri = serializers.CharField()
    message_id = serializers.CharField(help_text="The `webhook-id` header, the same on retries.")
    event = serializers.CharField()
    state = serializers.ChoiceField(choices=DELIVERY_STATES)
    created = DateField()
    attempts_made = serializers.IntegerField()
    next_attempt = DateField(allow_null=True, help_text="When the next retry is due.")
    outcome = serializers.CharField(allow_blank=True, help_text="Why the last attempt failed.")
    payload = serializers.JSONField(help_text="What was sent (before the chat format).")
    attempts = AttemptSerializer(many=True)


def delivery_json(delivery: WebhookDelivery) -> dict:
    return {
        "id": delivery.pk,
        "resource_uri": delivery_uri(delivery),
        "message_id": delivery.message_id,
        "event": delivery.event,
        "state": delivery.state,
        "created": formats.rfc2822(delivery.created),
        "attempts_made": delivery.attempts_made,
        "next_attempt": formats.rfc2822(delivery.next_attempt)
        if delivery.state == WebhookDelivery.State.PENDING
        else None,
        "outcome": delivery.outcome,
        "payload": delivery.payload,
        "attempts": [attempt_json(a) for a in delivery.attempts.all()],
    }


class LastDeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.CharField()
    state = serializers.ChoiceField(choices=DELIVERY_STATES)
    created = DateField()
    outcome = serializers.CharField(allow_blank=True)


class OutgoingWebhookSerializer(serializers.Serializer):
    uuid = serializers.CharField()
    resource_uri = serializers.CharField()
    namespace = serializers.CharField(help_text="The team's name, or the person's username.")
    image = serializers.CharField(
        allow_null=True, help_text="The one image it is for; null for the whole namespace."
    )
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=list(EVENTS)))
    tag_pattern = serializers.CharField(allow_blank=True)
    format = serializers.ChoiceField(choices=FORMATS)
    description = serializers.CharField(allow_blank=True)
    enabled = serializers.BooleanField()
    paused = serializers.BooleanField(help_text="Turned off because deliveries kept failing.")
    paused_reason = serializers.CharField(allow_blank=True)
    paused_at = DateField(allow_null=True)
    created = DateField()
    created_by = serializers.CharField(allow_blank=True)
    last_delivery = LastDeliverySerializer(allow_null=True)


def webhook_json(webhook: Webhook, last: WebhookDelivery | None = None) -> dict:
    return {
        "uuid": str(webhook.uuid),
        "resource_uri": webhook_uri(webhook),
        "namespace": webhook.namespace,
        "image": webhook.image_name or None,
        "url": webhook.url,
        "events": list(webhook.events),
        "tag_pattern": webhook.tag_pattern,
        "format": webhook.format,
        "description": webhook.description,
        "enabled": webhook.enabled,
        "paused": not webhook.enabled and webhook.paused_at is not None,
        "paused_reason": webhook.paused_reason,
        "paused_at": formats.rfc2822(webhook.paused_at),
        "created": formats.rfc2822(webhook.created),
        "created_by": webhook.created_by,
        "last_delivery": None
        if last is None
        else {
            "id": last.pk,
            "event": last.event,
            "state": last.state,
            "created": formats.rfc2822(last.created),
            "outcome": last.outcome,
        },
    }


class OutgoingWebhookWithSecretSerializer(OutgoingWebhookSerializer):
    secret = serializers.CharField(
        help_text="Shown this once: receivers check signatures with it (whsec_...)."
    )


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new secret, shown this once.")
    previous_secret_until = DateField(
        help_text="Until then deliveries are signed with the old secret too."
    )


class ChangeSerializer(StrictSerializer):
    url = serializers.CharField(
        max_length=2000,
        help_text="http or https; a public address (the outbound policy is checked on save).",
    )
    # Checked by webhooks.subscriptions, whose message lists the events to choose from.
    events = serializers.ListField(
        child=serializers.CharField(max_length=40),
        help_text=f"One or more of: {', '.join(EVENTS)}.",
    )
    tag_pattern = serializers.CharField(
        max_length=128,
        allow_blank=True,
        required=False,
        help_text="Only tags matching it (* and ?); events about no tag are always sent.",
    )
    format = serializers.ChoiceField(
        choices=FORMATS, required=False, help_text="`slack` for a chat channel's incoming webhook."
    )
    description = serializers.CharField(max_length=200, allow_blank=True, required=False)
    enabled = serializers.BooleanField(required=False)


class CreateSerializer(ChangeSerializer):
    namespace = serializers.CharField(
        required=False, help_text="For every image of this namespace (team or username)."
    )
    image = serializers.CharField(required=False, help_text="For this one image (its name).")

    def validate(self, attrs):
        if bool(attrs.get("namespace")) == bool(attrs.get("image")):
            raise serializers.ValidationError(
                {"namespace": ["Give either namespace (all its images) or image (one image)."]}
            )
        return attrs


class EmptySerializer(StrictSerializer):
    pass


class EventSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="As chosen in `events`; a delivery's `type`.")
    label = serializers.CharField(help_text="What it means, in words.")


def event_json(name: str, label: str) -> dict:
    return {"name": name, "label": label}
