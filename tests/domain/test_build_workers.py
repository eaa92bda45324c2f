"""Build workers that die: a kill -9 mid-build leaves no tag Building forever."""

from __future__ import annotations

import time

import pytest

from builds import leases
from records.models import Build, Tag, Worker
from tests.domain.test_builds import build, register
from tests.fixtures.builds import sqlite_url, start_worker, wait_for_build
from tests.fixtures.registry import BUSYBOX

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]

SLOW_DOCKERFILE = (
    'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
    'RUN echo "working..."; sleep 60\n'
)


def wait_until(predicate, seconds: float = 60, what: str = "condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def build_in_background(api, name: str):
    """Queue a build and run it in a thread of this process; returns (thread, build id)."""
    import threading

    from builds import pipeline

    queued = build(api, name)
    build_id = Build.objects.get(uuid=queued["Location"].split("/")[-2]).pk
    runner = threading.Thread(target=pipeline.run, args=(build_id,))
    runner.start()
    wait_until(lambda: "working..." in Build.objects.get(pk=build_id).log, what="the RUN step")
    return runner, build_id, queued["Location"]


def test_a_killed_worker_leaves_the_build_failed_and_the_tag_buildable_again(
    api, git_server, builds_env, tmp_path
):
    builds_env.BUILD_LEASE = 4  # so the test need not wait long for the silence to count
    git_server.push("acme", "slow", {"busybox": BUSYBOX, "Dockerfile": SLOW_DOCKERFILE})
    name = register(api, "slow", source_repo="slow")
    worker = start_worker(tmp_path, sqlite_url())
    try:
        queued = build(api, name)
        uuid = queued["Location"].split("/")[-2]
        wait_until(lambda: "working..." in Build.objects.get(uuid=uuid).log, what="the RUN step")
        assert Worker.objects.count() == 1

        worker.kill()

        assert Build.objects.get(uuid=uuid).state == "Building"
        # Whoever looks next (another worker's reaper, the API) notices the silence.
        failed = wait_until(
            lambda: leases.reap_stale_builds() or Build.objects.get(uuid=uuid).state == "Failed",
            seconds=30,
            what="the lease to run out",
        )
        assert failed
        dead = Build.objects.get(uuid=uuid)
        assert dead.state == "Failed"
        assert "The build worker stopped" in dead.error
        assert Tag.objects.get(image__name=name, name="latest").state == "Failed"
        assert api.get(f"/api/v1/image/{name}/").json()["state"] == "Failed"
        again = build(api, name)
        assert again.status_code == 202, again.content
    finally:
        if worker.process.poll() is None:
            worker.kill()


def test_a_new_worker_picks_up_builds_queued_while_none_ran(
    api, git_server, our_registry, builds_env, tmp_path
):
    git_server.push_app("acme", "hello")
    name = register(api, "later")
    queued = build(api, name)
    uuid = queued["Location"].split("/")[-2]
    assert api.get(queued["Location"]).json()["workers_online"] == 0

    worker = start_worker(tmp_path, sqlite_url())
    try:
        done = wait_for_build(uuid)
    finally:
        worker.stop()

    assert done.state == "Success", done.error
    assert Worker.objects.count() == 0  # a worker stopping cleanly signs off


def test_deleting_an_image_mid_build_does_not_bring_it_back(
    api, git_server, our_registry, builds_env
):
    from records.models import Image

    slow = SLOW_DOCKERFILE.replace("sleep 60", "sleep 2")
    git_server.push("acme", "doomed", {"busybox": BUSYBOX, "Dockerfile": slow})
    name = register(api, "doomed", source_repo="doomed")
    runner, build_id, _ = build_in_background(api, name)

    assert api.delete(f"/api/v1/image/{name}/").status_code == 204
    runner.join(timeout=60)

    time.sleep(1)  # a push would have been notified by now
    assert not Image.objects.filter(name=name).exists()
    assert not Build.objects.filter(pk=build_id).exists()


def test_a_queued_build_can_be_cancelled_and_the_tag_is_as_before(api, bob, git_server, builds_env):
    from tests.fixtures.api import ApiClient

    git_server.push_app("acme", "hello")
    name = register(api, "cancel-queued")
    queued = build(api, name)
    url = queued["Location"] + "cancel/"

    assert ApiClient(bob.basic()).post(url).status_code == 404
    cancelled = api.post(url)

    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["state"] == "Cancelled"
    assert cancelled.json()["error"] == "Cancelled by alice."
    assert api.get(f"/api/v1/image/{name}/tag/latest/").json()["state"] == "Empty"
    assert api.get(f"/api/v1/image/{name}/").json()["state"] == "Empty"
    again = api.post(url)
    assert again.status_code == 409 and "already finished" in again.json()["error"]
    assert build(api, name).status_code == 202


def test_a_running_build_stops_at_once_when_cancelled_and_pushes_nothing(
    api, git_server, our_registry, builds_env
):
    git_server.push("acme", "slow", {"busybox": BUSYBOX, "Dockerfile": SLOW_DOCKERFILE})
    name = register(api, "cancel-running", source_repo="slow")
    runner, build_id, location = build_in_background(api, name)

    assert api.post(location + "cancel/").status_code == 200
    runner.join(timeout=20)

    assert not runner.is_alive(), "the worker kept building a cancelled build"
    stopped = Build.objects.get(pk=build_id)
    assert stopped.state == "Cancelled"
    assert "The build was stopped; nothing was pushed." in stopped.log
    assert not Tag.objects.get(image__name=name, name="latest").digest
