"""Webhooks: where a namespace's (or one image's) events are sent, each delivery made, and
each attempt at it (see the `webhooks` package)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from lib import crypto
from records.models.teams import Team


class Webhook(models.Model):
    """A URL told about the events chosen, for a namespace (a person's or a team's) or for one
    image in it. The image is named, not linked: a webhook outlives its image's time in the
    recycle bin, and comes back with it."""

    class Format(models.TextChoices):
        STANDARD = "standard"  # Standard Webhooks: signed JSON {type, timestamp, data}
        SLACK = "slack"  # {"text": ...}, which Slack, Mattermost and Rocket.Chat take

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The namespace whose Owners manage it: the team's, or the person's own (`owner`).
    namespace = models.CharField(max_length=255)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhooks",
    )
    # "" for the whole namespace; else the one image it is for.
    image_name = models.CharField(max_length=255, blank=True)
    url = models.CharField(max_length=2000)
    events = models.JSONField(default=list)
    tag_pattern = models.CharField(max_length=128, blank=True)
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.STANDARD)
    description = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    # Set when deliveries kept failing and it was paused: why, in words, and when.
    paused_reason = models.TextField(blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Deliveries that failed for good since the last one that arrived.
    failures_in_a_row = models.PositiveIntegerField(default=0)
    secret_encrypted = models.TextField(editable=False)
    # After a rotation the previous secret signs too, until `previous_secret_until`, so that a
    # receiver can switch without losing a delivery.
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.CharField(max_length=150, blank=True)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["namespace", "image_name", "created"]
        indexes = [
            models.Index(fields=["namespace", "image_name"], name="webhook_target"),
        ]

    def __str__(self) -> str:
        return f"webhook {self.url} for {self.image_name or self.namespace}"

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = crypto.encrypt(value)

    @property
    def previous_secret(self) -> str:
        if not self.previous_secret_encrypted:
            return ""
        if self.previous_secret_until is None or self.previous_secret_until <= timezone.now():
            return ""
        return crypto.decrypt(self.previous_secret_encrypted)


class WebhookDelivery(models.Model):
    """One event sent to one webhook: the same message (id and body) on every attempt and
    when sent again by hand, so that a receiver can tell a repeat from a new event."""

    class State(models.TextChoices):
        PENDING = "pending"  # an attempt is due (the first, or a retry)
        DELIVERED = "delivered"
        FAILED = "failed"  # no more attempts: the answer will not change, or a day has passed

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    # The Standard Webhooks `webhook-id`.
    message_id = models.CharField(max_length=40, unique=True)
    event = models.CharField(max_length=40)
    # What happened, once per event for every webhook it went to: a second delivery of the
    # same event to the same webhook is never made (the registry repeats its notifications).
    event_key = models.CharField(max_length=400)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created = models.DateTimeField(default=timezone.now)
    attempts_made = models.PositiveIntegerField(default=0)
    next_attempt = models.DateTimeField(null=True, blank=True)
    # Why it failed for good, in words, when it did.
    outcome = models.TextField(blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event_key"], name="one_delivery_per_event")
        ]
        indexes = [
            models.Index(fields=["webhook", "-created"], name="delivery_log"),
            # What is still due (metrics, housekeeping's lost deliveries): a small range.
            models.Index(fields=["state", "next_attempt"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook_id} ({self.state})"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: when, how long, the answer's status and first bytes,
    or why there was no answer."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    by_hand = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
