"""The background task that sends webhook deliveries (django-tasks, database backend, queue
"webhooks": `manage.py webhook_worker` takes it)."""

from __future__ import annotations

from django_tasks import task

from webhooks.delivery import attempt


@task(queue_name="webhooks")
def deliver(delivery_id: int, number: int | None = None, by_hand: bool = False) -> str:
    """Make a delivery's attempt `number` (its next, by hand); returns its state after it."""
    return attempt(delivery_id, number=number, by_hand=by_hand)
