"""Driven by test_build_scaleout.py in a separate process on the PostgreSQL database (the
test process itself runs on SQLite): queue builds, then report what the workers did."""

from __future__ import annotations

import json
import sys

import django


def setup(registry_host: str) -> dict:
    from django.contrib.auth import get_user_model

    from records.models import BuildSetting, BuildSource, Image
    from registry.hosts import registry_for_host

    user = get_user_model().objects.create_user("scale", password="scale-Passw0rd")
    registry = registry_for_host(registry_host)
    for number in range(3):
        image = Image.objects.create(
            name=f"{registry_host}/scale/app{number}", owner=user, registry=registry
        )
        source = BuildSource.objects.create(image=image, owner="acme", repository="scale")
        for tag in ("a", "b"):
            BuildSetting.objects.create(build_source=source, tag=tag, branch="main")
    return queue()


def queue() -> dict:
    """One build per buildable tag, and a second task for two of them (a redelivery)."""
    from builds.queue import start_build
    from builds.tasks import run_build
    from records.models import BuildSetting

    builds = []
    for setting in BuildSetting.objects.select_related("build_source__image").order_by("id"):
        image = setting.build_source.image
        builds.append(start_build(image, setting.tag, user=image.owner))
    for build in builds[:2]:
        run_build.enqueue(build.pk)
    return {"queued": [str(build.uuid) for build in builds]}


def report() -> dict:
    from django_tasks_db.models import DBTaskResult

    from records.models import Build

    builds = [
        {
            "uuid": str(b.uuid),
            "tag": b.tag.full_name,
            "state": b.state,
            "worker": b.worker,
            "started": b.started.timestamp() if b.started else None,
            "finished": b.finished.timestamp() if b.finished else None,
            "clones": b.log.count("==> Cloning"),
            "error": b.error,
            "log_tail": b.log[-1500:] if b.state != "Success" else "",
        }
        for b in Build.objects.select_related("tag__image").order_by("created")
    ]
    tasks = [
        {"status": t.status, "return_value": t.return_value, "workers": t.worker_ids}
        for t in DBTaskResult.objects.all()
    ]
    return {"builds": builds, "tasks": tasks}


if __name__ == "__main__":
    django.setup()
    command, *args = sys.argv[1:]
    print(json.dumps({"setup": setup, "queue": queue, "report": report}[command](*args)))
