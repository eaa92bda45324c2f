"""The background task a build worker runs (django-tasks, database backend)."""

from __future__ import annotations

from django_tasks import task

from builds import pipeline


@task(queue_name="builds")
def run_build(build_id: int) -> str:
    """Run one queued build; returns its final state. Failures are recorded, not raised."""
    return pipeline.run(build_id)
