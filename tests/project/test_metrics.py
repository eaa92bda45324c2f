"""/metrics: Prometheus figures for whoever holds METRICS_TOKEN, right with several gunicorn
workers (summed) and several machines (what the database knows, from the database)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.test import Client
from django.utils import timezone
from prometheus_client.multiprocess import MultiProcessCollector

from builds import leases
from lifecycle.collect import record
from records.models import Build, Collection, Maintenance, Tag
from tests.fixtures.api import ApiClient
from tests.fixtures.metrics import TOKEN, Scraped

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = [
    "tutumweb_http_request_duration_seconds",
    "tutumweb_http_requests_in_progress",
    "tutumweb_database_up",
    "tutumweb_builds_queued",
    "tutumweb_builds_queued_oldest_age_seconds",
    "tutumweb_builds_running",
    "tutumweb_build_duration_seconds",
    "tutumweb_registry_pushes",
    "tutumweb_gc_runs",
    "tutumweb_gc_freed_bytes",
    "tutumweb_gc_deleted_blobs",
    "tutumweb_gc_seconds",
    "tutumweb_gc_last_run_timestamp_seconds",
]


def test_metrics_are_not_there_when_no_token_is_set(db, settings):
    settings.METRICS_TOKEN = ""

    assert Client().get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert Client().post("/metrics").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
    ids=["none", "wrong", "not-bearer", "longer", "no-scheme"],
)
def test_metrics_refuse_a_missing_or_wrong_token(db, settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    headers = {"Authorization": authorization} if authorization else {}

    answer = Client().get("/metrics", headers=headers)

    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert TOKEN not in answer.content.decode()
    assert "tutumweb_" not in answer.content.decode()


def test_metrics_are_prometheus_text_with_every_figure_explained(scrape):
    scraped = scrape()

    for name in FAMILIES:
        assert name in scraped.families, name
        assert scraped.families[name].documentation, name
    assert scraped.value("tutumweb_database_up") == 1


def test_metrics_are_plain_text_never_cached_and_refuse_writes(scrape, settings):
    settings.METRICS_TOKEN = TOKEN
    authorization = {"Authorization": f"Bearer {TOKEN}"}

    answer = Client().get("/metrics", headers=authorization)

    assert answer["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-cache" in answer["Cache-Control"]
    assert Client().post("/metrics", headers=authorization).status_code == 405


def test_a_request_is_counted_under_its_route_never_its_path(scrape, make_image, alice):
    image = make_image(alice, "very-secret-project")
    labels = {"route": "image-detail", "method": "GET", "status": "2xx"}
    before = scrape().value("tutumweb_http_request_duration_seconds_count", **labels) or 0

    assert ApiClient(alice.basic()).get(f"/api/v1/image/{image.name}/").status_code == 200
    assert Client().get("/no/such/page/").status_code == 404
    scraped = scrape()

    assert scraped.value("tutumweb_http_request_duration_seconds_count", **labels) == before + 1
    unmatched = {"route": "unmatched", "method": "GET", "status": "4xx"}
    assert scraped.value("tutumweb_http_request_duration_seconds_count", **unmatched) >= 1
    assert "very-secret-project" not in scraped.text
    assert "alice" not in scraped.text
    assert "/no/such/page/" not in scraped.text


def test_queued_and_running_builds_show_in_the_queue_depth(scrape, make_image, alice):
    image = make_image(alice, "app", tags=("a", "b", "c"))
    tags = {tag.name: tag for tag in image.tags.all()}
    an_hour_ago = timezone.now() - timedelta(hours=1)
    make_build(tags["a"], state=Build.State.QUEUED, created=an_hour_ago)
    make_build(tags["b"], state=Build.State.QUEUED)
    make_build(tags["c"], state=Build.State.BUILDING, started=timezone.now())

    scraped = scrape()

    assert scraped.value("tutumweb_builds_queued") == 2
    assert scraped.value("tutumweb_builds_queued_oldest_age_seconds") >= 3600
    assert scraped.value("tutumweb_builds_running") == 1


def test_an_empty_queue_has_no_oldest_build(scrape):
    scraped = scrape()

    assert scraped.value("tutumweb_builds_queued") == 0
    assert scraped.value("tutumweb_builds_queued_oldest_age_seconds") == 0


def test_finished_builds_are_counted_by_state_and_duration_even_once_deleted(
    scrape, make_image, alice
):
    image = make_image(alice, "app", tags=("ok", "broken", "stopped"))
    tags = {tag.name: tag for tag in image.tags.all()}
    started = timezone.now() - timedelta(seconds=45)
    succeeded = make_build(tags["ok"], state=Build.State.BUILDING, started=started)
    failed = make_build(tags["broken"], state=Build.State.BUILDING, started=started)
    cancelled = make_build(tags["stopped"], state=Build.State.QUEUED)

    assert leases.finish(succeeded, Build.State.SUCCESS)
    assert leases.finish(failed, Build.State.FAILED, error="no Dockerfile")
    assert leases.finish(cancelled, Build.State.CANCELLED)
    assert not leases.finish(succeeded, Build.State.FAILED)  # ended once, counted once
    image.delete()  # its builds go with it; what was counted stays
    scraped = scrape()

    seconds = "tutumweb_build_duration_seconds"
    success, failure = {"state": "Success"}, {"state": "Failed"}
    assert scraped.value(f"{seconds}_count", **success) == 1
    assert scraped.value(f"{seconds}_bucket", le="30.0", **success) == 0
    assert scraped.value(f"{seconds}_bucket", le="60.0", **success) == 1
    assert scraped.value(f"{seconds}_bucket", le="+Inf", **success) == 1
    assert 45 <= scraped.value(f"{seconds}_sum", **success) < 60
    assert scraped.value(f"{seconds}_count", **failure) == 1
    assert scraped.value(f"{seconds}_bucket", le="5.0", state="Cancelled") == 1
    assert scraped.value(f"{seconds}_sum", state="Cancelled") == 0


def test_recorded_garbage_collections_are_counted(scrape):
    assert scrape().value("tutumweb_gc_runs_total") == 0
    record(Collection.objects.create(bytes_freed=1000, blobs_deleted=3, seconds=0.5))
    record(Collection.objects.create(bytes_freed=500, blobs_deleted=2, seconds=0.25))

    scraped = scrape()

    assert scraped.value("tutumweb_gc_runs_total") == 2
    assert scraped.value("tutumweb_gc_freed_bytes_total") == 1500
    assert scraped.value("tutumweb_gc_deleted_blobs_total") == 5
    assert scraped.value("tutumweb_gc_seconds_total") == 0.75
    last = Maintenance.objects.get().last_collected
    assert scraped.value("tutumweb_gc_last_run_timestamp_seconds") == last.timestamp()


def test_a_scrape_asks_the_database_four_questions_whatever_it_holds(
    scrape, make_image, alice, django_assert_num_queries
):
    image = make_image(alice, "app", tags=[f"t{n}" for n in range(20)])
    for tag in image.tags.all():
        make_build(tag, state=Build.State.SUCCESS, finished=timezone.now())
    leases.finish(make_build(image.tags.first(), state=Build.State.QUEUED), Build.State.CANCELLED)
    record(Collection.objects.create(bytes_freed=5, blobs_deleted=1, seconds=0.5))

    # No session, no sign-in: the builds waiting and running, the tallies, the last
    # collection, the webhook deliveries still due.
    with django_assert_num_queries(4):
        scrape()


def test_a_short_token_is_refused_at_start(tmp_path):
    script = "import django; django.setup()"
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "tutumweb.settings",
        "SECRET_KEY": "a-deployment-secret-key-for-this-test",
        "DATA_DIR": str(tmp_path),
        "METRICS_TOKEN": "short",
    }

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True
    )

    assert result.returncode != 0
    assert "METRICS_TOKEN is shorter than 32 characters" in result.stderr


@pytest.mark.django_db(transaction=True)  # the server reads what this test writes
def test_every_gunicorn_worker_counts_and_a_scrape_sums_them(project_process, tmp_path):
    process, url = project_process(workers=2, METRICS_TOKEN=TOKEN, METRICS_DIR=str(tmp_path))
    (directory,) = tmp_path.iterdir()  # this server's own
    healthz = {"route": "healthz", "method": "GET", "status": "2xx"}
    sent = 0
    # New connections, several at a time, until both workers have answered some.
    with ThreadPoolExecutor(8) as pool:
        while len(healthz_counts(directory)) < 2 and sent < 2000:
            answers = list(
                pool.map(lambda _: requests.get(f"{url}/healthz", timeout=10), range(20))
            )
            assert all(answer.status_code == 200 for answer in answers)
            sent += len(answers)
    counts = healthz_counts(directory)
    assert len(counts) == 2, "one worker answered every request"
    assert sum(counts.values()) == sent

    for _ in range(4):  # whichever worker answers
        scraped = scrape_server(url)
        assert scraped.value("tutumweb_http_request_duration_seconds_count", **healthz) == sent

    dead = min(counts)
    os.kill(dead, signal.SIGKILL)
    # gunicorn notices (child_exit forgets the dead worker's requests in progress) and starts
    # another; what the dead one counted stays counted.
    wait_until_gone(directory / f"gauge_livesum_{dead}.db")
    for _ in range(4):
        scraped = scrape_server(url)
        assert scraped.value("tutumweb_http_request_duration_seconds_count", **healthz) == sent

    process.terminate()
    process.wait(timeout=15)
    assert not directory.exists()


def make_build(tag: Tag, **fields) -> Build:
    return Build.objects.create(
        tag=tag, clone_url="file:///x.git", branch="main", dockerfile="/", **fields
    )


def scrape_server(url: str) -> Scraped:
    answer = requests.get(
        f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text[:500]
    return Scraped(answer.text)


def healthz_counts(directory: Path) -> dict[int, float]:
    """The requests to /healthz each worker counted, by process id, from its own file."""
    counts = {}
    for path in directory.glob("histogram_*.db"):
        for family in MultiProcessCollector.merge([str(path)]):
            for sample in family.samples:
                if sample.name.endswith("_count") and sample.labels["route"] == "healthz":
                    counts[int(path.stem.split("_")[1])] = sample.value
    return counts


def wait_until_gone(path: Path) -> None:
    deadline = time.monotonic() + 60
    while path.exists():
        assert time.monotonic() < deadline, f"{path.name} is still there"
        time.sleep(0.1)
