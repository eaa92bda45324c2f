"""Garbage collections through the API (staff): started in the background, listed newest first
with every figure, one at a time, and refused to everybody else. The runs are real collections
of a real registry's storage (tests/fixtures/collections.py)."""

from __future__ import annotations

import pytest

from api.collections.shapes import CollectionSerializer, collection_json
from api.core.shapes import mismatches
from lifecycle import collections
from lifecycle.collect import collect
from records.models import Collection
from tests.api.test_api_team_tokens import as_token, make_token
from tests.fixtures.api import ApiClient
from tests.fixtures.collections import collection_held_once_marked, run_queued_collection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def root(make_account):
    return make_account("root", staff=True)


@pytest.fixture
def staff(root) -> ApiClient:
    return ApiClient(root.basic())


def test_staff_start_a_collection_that_frees_the_garbage_and_is_listed_with_its_figures(
    staff, garbage
):
    started = staff.post("/api/v1/collection/")

    assert started.status_code == 202, started.json()
    queued = started.json()
    assert queued["started"]
    assert queued | {"workers_online": 0, "started": None} == {
        "id": queued["id"],
        "resource_uri": f"/api/v1/collection/{queued['id']}/",
        "state": "Queued",
        "trigger": "root",
        "started": None,
        "finished": None,
        "seconds": 0.0,
        "bytes_before": 0,
        "bytes_after": 0,
        "bytes_freed": 0,
        "repositories": 0,
        "manifests": 0,
        "blobs_deleted": 0,
        "blobs_deferred": 0,
        "blobs_restored": 0,
        "bin_repositories_removed": 0,
        "error": "",
        "workers_online": 0,
    }
    waiting = staff.get("/api/v1/collection/").json()
    assert [run["state"] for run in waiting["objects"]] == ["Queued"]
    assert waiting["meta"]["total_count"] == 1

    assert run_queued_collection() == "done"

    listed = staff.get("/api/v1/collection/").json()
    assert listed["meta"]["total_count"] == 1
    [run] = listed["objects"]
    assert run["id"] == queued["id"]
    assert run["state"] == "Done"
    assert run["trigger"] == "root"
    assert run["bytes_freed"] == garbage.freed_bytes
    assert run["blobs_deleted"] == garbage.blobs
    assert run["bytes_before"] - run["bytes_after"] == garbage.freed_bytes
    assert (run["repositories"], run["manifests"]) == (1, 1)
    assert run["started"] and run["finished"] and run["seconds"] > 0
    assert run["resource_uri"] == f"/api/v1/collection/{run['id']}/"
    assert staff.get(run["resource_uri"]).json() == run


def test_the_list_is_newest_first_with_a_waiting_collection_first(staff, garbage):
    for trigger in ("schedule", "after a purge"):
        collect(trigger)
    assert staff.post("/api/v1/collection/", {}).status_code == 202

    first = staff.get("/api/v1/collection/?limit=2").json()
    second = staff.get(first["meta"]["next"]).json()

    assert [r["state"] for r in first["objects"]] == ["Queued", "Done"]
    assert [r["trigger"] for r in first["objects"]] == ["root", "after a purge"]
    assert [r["trigger"] for r in second["objects"]] == ["schedule"]
    assert first["meta"]["total_count"] == second["meta"]["total_count"] == 3
    assert second["meta"]["next"] is None
    queued_only = staff.get("/api/v1/collection/?state=Queued").json()
    assert [r["trigger"] for r in queued_only["objects"]] == ["root"]
    done_only = staff.get("/api/v1/collection/?state=Done&offset=1").json()
    assert [r["trigger"] for r in done_only["objects"]] == ["schedule"]


@pytest.mark.parametrize(
    "method, path",
    [("get", "/api/v1/collection/"), ("post", "/api/v1/collection/"), ("get", "DETAIL")],
)
def test_collections_are_staff_only(alice, method, path):
    run = Collection.objects.create(trigger="schedule", state=Collection.State.DONE)
    path = f"/api/v1/collection/{run.pk}/" if path == "DETAIL" else path

    refused = getattr(ApiClient(alice.basic()), method)(path)
    anonymous = getattr(ApiClient(), method)(path)

    assert refused.status_code == 403
    assert refused.json() == {
        "error": "Only staff can see and start the registry's garbage collections."
    }
    assert anonymous.status_code == 401
    assert not collections.under_way().busy


def test_a_team_access_token_of_staff_is_refused(root, staff, make_team):
    make_team("web", root="Owner")
    token = as_token(make_token(staff))

    assert token.get("/api/v1/collection/").status_code == 403
    assert token.post("/api/v1/collection/").status_code == 403


def test_a_second_start_while_one_waits_for_a_worker_is_a_409_saying_so(staff):
    assert staff.post("/api/v1/collection/").status_code == 202

    again = staff.post("/api/v1/collection/")

    assert again.status_code == 409
    message = again.json()["error"]
    assert message.startswith("A garbage collection asked for by root at ")
    assert "is waiting for a worker to start it" in message
    assert "minute" not in message


def test_a_start_while_a_collection_runs_is_a_409_and_pushes_are_not_mentioned_as_stopped(
    staff, garbage
):
    with collection_held_once_marked():
        listed = staff.get("/api/v1/collection/").json()["objects"]
        refused = staff.post("/api/v1/collection/")

    assert [run["state"] for run in listed] == ["Running"]
    assert refused.status_code == 409
    assert refused.json()["error"].startswith("A garbage collection is already running (since ")
    assert (
        "started by housekeeping on its schedule). Pushes go on as usual"
        in (refused.json()["error"])
    )
    assert staff.get("/api/v1/collection/").json()["objects"][0]["state"] == "Done"


def test_a_record_left_running_by_a_process_that_died_is_shown_failed_and_blocks_nothing(
    staff,
):
    # Running, and nobody holds the lock.
    Collection.objects.create(trigger="schedule", state=Collection.State.RUNNING)

    [run] = staff.get("/api/v1/collection/").json()["objects"]
    started = staff.post("/api/v1/collection/")

    assert run["state"] == "Failed"
    assert run["error"] == collections.STOPPED
    assert staff.get("/api/v1/collection/?state=Running").json()["objects"] == []
    assert staff.get("/api/v1/collection/?state=Failed").json()["meta"]["total_count"] == 1
    assert started.status_code == 202


def test_a_run_whose_worker_cannot_find_the_storage_records_why(staff, settings, tmp_path):
    settings.REGISTRY_CONFIG = tmp_path / "nowhere.yml"
    assert staff.post("/api/v1/collection/").status_code == 202

    assert run_queued_collection() == "failed"

    [run] = staff.get("/api/v1/collection/").json()["objects"]
    assert run["state"] == "Failed"
    assert run["trigger"] == "root"
    assert run["error"].startswith("Nothing was collected: the worker that took this run has no")
    assert str(tmp_path / "nowhere.yml") in run["error"]


@pytest.mark.parametrize(
    "body, field",
    [
        ('{"dry_run": true}', "dry_run"),
        ("[1, 2]", "non_field_errors"),
        ('"now"', "non_field_errors"),
        ("{", None),
        ("", ""),
        ("{}", ""),
    ],
)
def test_a_start_takes_no_fields_and_bad_bodies_are_400s_never_500s(staff, body, field):
    response = staff.generic("POST", "/api/v1/collection/", body, "application/json")

    if field == "":
        assert response.status_code == 202, response.json()
        return
    assert response.status_code == 400, response.content
    assert response.json()["error"]
    if field:
        assert field in response.json()["fields"]
    assert not collections.under_way().busy


def test_the_state_filter_names_what_it_takes(staff):
    response = staff.get("/api/v1/collection/?state=done")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "state": ["'done' is not one of: Queued, Running, Done, Failed."]
    }


def test_an_unknown_collection_is_a_404(staff):
    response = staff.get("/api/v1/collection/999/")

    assert response.status_code == 404
    assert response.json() == {"error": "No garbage collection 999."}


def test_the_collection_shapes_are_what_their_serializer_declares(garbage):
    run = collect("schedule")
    queued = Collection.objects.create(trigger="root", state=Collection.State.QUEUED)

    built = [collection_json(run, 1), collection_json(queued, 1)]

    assert [m for data in built for m in mismatches(CollectionSerializer(), data)] == []


def test_a_queued_collection_another_run_overtakes_leaves_it_the_work(staff, garbage):
    queued = staff.post("/api/v1/collection/").json()
    collect("schedule")  # housekeeping's, before a worker took the one asked for
    with collection_held_once_marked():
        assert run_queued_collection() == "merged"

    assert staff.get(queued["resource_uri"]).status_code == 404
    assert [r["state"] for r in staff.get("/api/v1/collection/").json()["objects"]] == [
        "Done",
        "Done",
    ]
