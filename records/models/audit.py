"""The audit trail's rows: who changed what, when and from where."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from records.models.teams import Team


class AuditEvent(models.Model):
    """One change, as the audit trail shows it (audit.trail). Names are copied so an event
    still reads right after the person, token or team it names is gone."""

    class Actor(models.TextChoices):
        PERSON = "person"
        TOKEN = "token", "team access token"
        SYSTEM = "system"

    time = models.DateTimeField(default=timezone.now)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # audit_actor below
    )
    actor_kind = models.CharField(max_length=10, choices=Actor.choices)
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)
    target = models.CharField(max_length=500, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    team_name = models.CharField(max_length=30, blank=True)
    address = models.CharField(max_length=100, blank=True, help_text="Where it came from.")
    details = models.JSONField(default=dict, blank=True)
    # A registry event's id: the registry retries deliveries, so one event arrives twice.
    event_id = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-time", "-pk"]
        # Each reader's view (staff: all; a person: their own; Owners: their team's), newest
        # first, is an index range.
        indexes = [
            models.Index(fields=["-time", "-id"], name="audit_time"),
            models.Index(fields=["actor_user", "-time"], name="audit_actor"),
            models.Index(fields=["team", "-time"], name="audit_team"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.time:%Y-%m-%d %H:%M} {self.actor_name or 'system'} {self.action} {self.target}"
        )
