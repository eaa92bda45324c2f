"""Deleting what has expired, so the database stays the size of what is in use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts import invitations
from accounts import sessions as admin_sessions
from audit import trail
from teams import invitations as team_invitations

# Builds keep their own record (api.models.Build); the queue's copy of a finished build task
# is only kept a while, to look into a problem.
TASK_RESULT_DAYS = 7


@dataclass
class Swept:
    sessions: int
    sign_in_failures: int
    task_results: int
    admin_sign_ins: int = 0
    invitations: int = 0
    audit_events: int = 0


def sweep() -> Swept:
    """Delete expired sessions (both session engines keep them in the database), sign-in
        failures older than the lockout (they no longer count), old finished build tasks, the
        web admin's expired sign-in credentials, invitations used or expired a month ago, and
    audit events older than AUDIT_DAYS."""
    now = timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    failures, _ = AccessAttempt.objects.filter(
        attempt_time__lt=now - settings.AXES_COOLOFF_TIME
    ).delete()
    tasks, _ = (
        DBTaskResult.objects.finished()
        .filter(finished_at__lt=now - timedelta(days=TASK_RESULT_DAYS))
        .delete()
    )
    return Swept(
        sessions,
        failures,
        tasks,
        admin_sessions.delete_expired(),
        invitations.delete_stale() + team_invitations.delete_stale(),
        trail.prune(),
    )
