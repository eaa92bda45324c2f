"""A collection staff ask for through the API is run by a real `manage.py build_worker` process,
as `make run` starts it (the queue "storage" beside the builds)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from tests.fixtures.api import ApiClient
from tests.fixtures.builds import sqlite_url, start_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_build_worker_runs_the_collection_staff_asked_for(
    garbage, builds_env, make_account, monkeypatch, tmp_path
):
    # The worker reads its settings from its environment, as the Procfile's does.
    monkeypatch.setenv("REGISTRY_CONFIG", str(settings.REGISTRY_CONFIG))
    monkeypatch.setenv("GC_GRACE_MINUTES", "0")
    monkeypatch.setenv("GC_SETTLE_SECONDS", "0.2")
    staff = ApiClient(make_account("root", staff=True).basic())
    worker = start_worker(tmp_path, sqlite_url())
    try:
        assert staff.post("/api/v1/collection/").status_code == 202
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            [run] = staff.get("/api/v1/collection/").json()["objects"]
            if run["state"] in ("Done", "Failed"):
                break
            time.sleep(0.2)
    finally:
        worker.stop()

    assert run["state"] == "Done", f"{run}\n{worker.output()}"
    assert run["trigger"] == "root"
    assert run["bytes_freed"] == garbage.freed_bytes
    assert run["blobs_deleted"] == garbage.blobs
