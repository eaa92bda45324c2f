"""`manage.py housekeeping`: what has expired goes, what is still in use stays."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts import sessions as admin_sessions
from builds.tasks import run_build
from lifecycle.collect import collect
from records.models import (
    ApiKey,
    AuditEvent,
    Collection,
    Invitation,
    ListWalk,
    Team,
    TeamInvitation,
    Webhook,
    WebhookDelivery,
    WriteToken,
)
from registry import config as registry_config

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def session(expires_in: timedelta) -> str:
    store = SessionStore()
    store["x"] = 1
    store.set_expiry(expires_in)
    store.save()
    return store.session_key


def failure(username: str, minutes_ago: int) -> None:
    attempt = AccessAttempt.objects.create(
        username=username, ip_address="10.0.0.1", user_agent="curl", failures_since_start=3
    )
    # attempt_time is set on creation; move it back as if the failure were that old.
    AccessAttempt.objects.filter(pk=attempt.pk).update(
        attempt_time=NOW - timedelta(minutes=minutes_ago)
    )


def task(status: str | None, days_ago: int) -> str:
    result_id = run_build.enqueue(1).id
    if status:
        DBTaskResult.objects.filter(id=result_id).update(
            status=status, finished_at=NOW - timedelta(days=days_ago)
        )
    return result_id


def test_housekeeping_deletes_what_expired_and_keeps_the_rest(alice, settings, tmp_path):
    # The recycle bin and garbage collection are tests/domain/test_storage_reclaimed.py's.
    settings.REGISTRY_CONFIG = tmp_path / "no-registry.yml"
    expired, live = session(timedelta(seconds=-60)), session(timedelta(hours=1))
    ended_sign_in, _ = admin_sessions.start_session(alice.user)
    ApiKey.objects.filter(pk=ended_sign_in.pk).update(expires=NOW - timedelta(seconds=1))
    current_sign_in, _ = admin_sessions.start_session(alice.user)
    failure("old", minutes_ago=60)
    failure("recent", minutes_ago=1)
    old_done, old_failed = task(TaskResultStatus.SUCCESSFUL, 8), task(TaskResultStatus.FAILED, 8)
    recent_done, waiting = task(TaskResultStatus.SUCCESSFUL, 1), task(None, 0)
    used = Invitation.objects.create(email="u@x.test", token_hash="u", expires=NOW)
    Invitation.objects.filter(pk=used.pk).update(accepted=NOW - timedelta(days=31))
    Invitation.objects.create(email="s@x.test", token_hash="s", expires=NOW - timedelta(days=31))
    recently_expired = Invitation.objects.create(
        email="r@x.test", token_hash="r", expires=NOW - timedelta(days=2)
    )
    team = Team.objects.create(name="web")
    TeamInvitation.objects.create(
        team=team, role="Reader", token_hash="t", expires=NOW - timedelta(days=31)
    )
    kept_invitation = TeamInvitation.objects.create(
        team=team, role="Reader", token_hash="k", expires=NOW - timedelta(days=2)
    )
    old_event = AuditEvent.objects.create(action="sign_in", actor_kind="person")
    AuditEvent.objects.filter(pk=old_event.pk).update(time=NOW - timedelta(days=401))
    recent_event = AuditEvent.objects.create(action="sign_in", actor_kind="person")
    ListWalk.objects.create(key="idle", until=NOW - timedelta(seconds=1))
    walking = ListWalk.objects.create(key="walking", until=NOW + timedelta(minutes=5))
    WriteToken.objects.create(repository="alice/old", until=NOW - timedelta(days=2))
    pushing = WriteToken.objects.create(repository="alice/app", until=NOW - timedelta(hours=1))
    hook = Webhook.objects.create(namespace="alice", owner=alice.user, url="https://x.example/")
    for days, state in ((31, "delivered"), (31, "pending"), (29, "failed")):
        WebhookDelivery.objects.create(
            webhook=hook,
            message_id=f"msg_{days}_{state}",
            event="tag.pushed",
            event_key=f"{days} {state}",
            payload={},
            state=state,
            created=NOW - timedelta(days=days),
            next_attempt=NOW + timedelta(hours=1) if state == "pending" else None,
        )
    out = StringIO()

    call_command("housekeeping", stdout=out)

    assert set(Session.objects.values_list("session_key", flat=True)) == {live}
    assert expired != live
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["recent"]
    kept = {str(pk) for pk in DBTaskResult.objects.values_list("id", flat=True)}
    assert kept == {str(recent_done), str(waiting)}
    assert {str(old_done), str(old_failed)}.isdisjoint(kept)
    kept_keys = set(ApiKey.objects.filter(user=alice.user).values_list("pk", flat=True))
    assert ended_sign_in.pk not in kept_keys and current_sign_in.pk in kept_keys
    assert out.getvalue().splitlines()[0] == (
        "deleted 1 expired sessions, 1 old sign-in failures, 2 old build task results, "
        "1 expired admin sign-ins, 3 old invitations, 1 audit events older than AUDIT_DAYS, "
        "1 idle walks of offset pages, 1 expired registry write tokens, "
        "1 old webhook deliveries (0 lost ones queued again)"
    )
    # A delivery still due is kept however old: its retries are not over.
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"pending", "failed"}
    assert list(WriteToken.objects.all()) == [pushing]
    assert list(ListWalk.objects.all()) == [walking]
    assert list(Invitation.objects.all()) == [recently_expired]
    assert list(TeamInvitation.objects.all()) == [kept_invitation]
    assert list(AuditEvent.objects.all()) == [recent_event]


@pytest.mark.django_db
def test_a_registry_nothing_was_pushed_to_has_nothing_to_collect(settings, tmp_path):
    config = registry_config.registry_config(
        addr="127.0.0.1:5999",
        storage_dir=tmp_path / "storage",
        realm="http://127.0.0.1:1/",
        notify_url="http://127.0.0.1:1/",
        secret="s",
        cert_path=tmp_path / "token.crt",
    )
    registry_config.write_registry_config(tmp_path / "config.yml", config)
    settings.REGISTRY_CONFIG = tmp_path / "config.yml"

    collected = collect()

    assert (collected.bytes_freed, collected.blobs_deleted) == (0, 0)
    recorded = Collection.objects.get()  # a run all the same, for its history and /metrics
    assert (recorded.bytes_before, recorded.bytes_after, recorded.blobs_deleted) == (0, 0, 0)
