"""Figure: what one scrape of /metrics costs over a big build history.

Fills a database with --builds builds (all finished but 20 queued and 5 running, over 3,000
tags), the tallies the build workers would have written for them, and three years of daily
garbage collections (their tallies and history rows); then times, interleaved, GET /metrics in
process (the middleware, the view, its three queries and the text) and its database part
alone; then GET /metrics through gunicorn as the Procfile runs it; and for comparison the one
aggregate query that would read the same histogram from the builds table itself. Also prints
the plan of the queue's query.
Run: .venv/bin/python bench/metrics_scrape.py [--database sqlite|postgres|both]
     [--builds 100000] [--rounds 200]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness, scale  # noqa: E402

TOKEN = "bench-metrics-token-" + "x" * 20


def fill(builds: int) -> None:
    from django.utils import timezone

    from builds.leases import DURATION_BUCKETS
    from records.models import Build, Collection, Image, Tag, Tally

    harness.populate(1_000)  # 3,000 tags
    tags = list(Tag.objects.values_list("pk", flat=True))
    now = timezone.now()
    states = [Build.State.SUCCESS] * 8 + [Build.State.FAILED] + [Build.State.CANCELLED]
    rows, tallies = [], {}
    for n in range(builds):
        if n < 25:  # one active build per tag at most
            state = Build.State.QUEUED if n < 20 else Build.State.BUILDING
            seconds = None
        else:
            state = random.choice(states)
            seconds = random.lognormvariate(4, 1)
            bucket = next((str(b) for b in DURATION_BUCKETS if seconds <= b), "+Inf")
            count, total = tallies.get((state, bucket), (0, 0.0))
            tallies[state, bucket] = (count + 1, total + seconds)
        created = now - timedelta(minutes=builds - n)
        rows.append(
            Build(
                tag_id=tags[n % len(tags)],
                state=state,
                clone_url="https://github.com/acme/app.git",
                branch="main",
                dockerfile="/",
                created=created,
                started=created if state != Build.State.QUEUED else None,
                finished=created + timedelta(seconds=seconds) if seconds is not None else None,
            )
        )
    Build.objects.bulk_create(rows, batch_size=5_000)
    Tally.objects.bulk_create(
        [Tally(name=Tally.Name.PUSHES, count=builds * 2)]
        + [
            Tally(name=name, count=3 * 365, total=3 * 365 * 10**7)
            for name in Tally.Name
            if name.startswith("gc_")
        ]
        + [
            Tally(name=Tally.Name.BUILDS, label=state, bucket=bucket, count=count, total=total)
            for (state, bucket), (count, total) in tallies.items()
        ]
    )
    Collection.objects.bulk_create(
        Collection(
            started=now - timedelta(days=day),
            finished=now - timedelta(days=day) + timedelta(seconds=3),
            state=Collection.State.DONE,
            seconds=3.0,
            bytes_before=10**10,
            bytes_after=10**10 - 10**7,
            bytes_freed=10**7,
            blobs_deleted=12,
        )
        for day in range(3 * 365)
    )
    print(
        f"{Build.objects.count():,} builds over {Image.objects.count():,} images, "
        f"{Tally.objects.count()} tally rows, {Collection.objects.count():,} collections"
    )


def from_the_builds_table() -> list:
    """The alternative: the histogram aggregated from every finished build at each scrape."""
    from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum

    from builds.leases import DURATION_BUCKETS
    from records.models import Build

    ran = ExpressionWrapper(F("finished") - F("started"), DurationField())
    finished = Build.objects.exclude(state__in=Build.ACTIVE).filter(started__isnull=False)
    within = {f"le{b}": Q(ran__lte=timedelta(seconds=b)) for b in DURATION_BUCKETS}
    return list(
        finished.annotate(ran=ran)
        .values("state")
        .annotate(
            builds=Count("pk"),
            total=Sum("ran"),
            **{name: Count("pk", filter=condition) for name, condition in within.items()},
        )
        .order_by()
    )


def plan() -> None:
    from django.db import connection
    from django.db.models import Count, Min

    from records.models import Build

    query = (
        Build.objects.filter(state__in=Build.ACTIVE)
        .values("state")
        .annotate(builds=Count("pk"), oldest=Min("created"))
        .order_by()
    )
    sql, params = query.query.sql_with_params()
    explain = "EXPLAIN " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql, params)
        print("the queue's query:", " | ".join(str(row[-1]) for row in cursor.fetchall()))


# What a server has answered before it is scraped: each path a series of the request
# histogram (a route, method and status class), 30 in all, as a busy server has more.
PATHS = [
    "/healthz",
    "/api/v1/user/",
    "/login/",
    "/api/v1/image/",
    "/api/v1/image/a/b/",
    "/api/v1/image/a/b/tag/",
    "/api/v1/image/a/b/tag/c/",
    "/api/v1/registry/",
    "/api/v1/auth/",
    "/api/v1/layer/abc/",
    "/no/such/page",
    "/static/no-such-file.css",
    "/",
    "/people/",
    "/api/docs/",
]


def through_gunicorn(rounds: int) -> list[float]:
    """Scrapes of a gunicorn server run with the project's configuration (multiprocess mode:
    its workers' files are read and summed), after it answered each of PATHS by GET and POST.
    harness.start_gunicorn's command line sets one worker; the configuration comes in
    GUNICORN_CMD_ARGS."""
    import requests

    port = harness.free_port()
    server = harness.start_gunicorn(
        port, env={"GUNICORN_CMD_ARGS": "--config tutumweb/gunicorn_conf.py"}
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for path in PATHS:
            requests.get(url + path, timeout=30)
            requests.post(url + path, timeout=30)
        session = requests.Session()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        answer = session.get(f"{url}/metrics", headers=headers, timeout=30)
        series = answer.text.count("\ntutumweb_http_request_duration_seconds_count{")
        print(f"  through gunicorn: {series} request series, {len(answer.content):,} bytes")
        return [
            timed(lambda: session.get(f"{url}/metrics", headers=headers)) for _ in range(rounds)
        ]
    finally:
        server.terminate()
        server.wait()


def timed(run) -> float:
    began = time.perf_counter()
    run()
    return time.perf_counter() - began


def run_database(database: str, database_url: str | None, args) -> None:
    data_dir = harness.configure(
        METRICS_TOKEN=TOKEN, **({"DATABASE_URL": database_url} if database_url else {})
    )
    # Static files are not collected into the throwaway data directory: WhiteNoise says so.
    os.environ["PYTHONWARNINGS"] = "ignore:No directory at:UserWarning"
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # this process's own measurements
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client
        from prometheus_client import generate_latest

        from tutumweb import metrics

        call_command("migrate", verbosity=0)
        start = time.perf_counter()
        fill(args.builds)
        print(f"{database}: filled in {time.perf_counter() - start:.1f} s")
        plan()
        client = Client()
        headers = {"HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
        assert client.get("/metrics", **headers).status_code == 200
        lines = {
            "GET /metrics (in process)": lambda: client.get("/metrics", **headers),
            "its database part": lambda: generate_latest(metrics.DATABASE),
        }
        times = {name: [] for name in lines}
        for _ in range(10):
            for run in lines.values():
                run()
        for _ in range(args.rounds):
            for name, run in lines.items():
                times[name].append(timed(run))
        times["GET /metrics through gunicorn"] = through_gunicorn(args.rounds)
        # Seconds each on SQLite (a Python function works out each build's duration): a few.
        times["the builds table aggregated instead (5 runs)"] = [
            timed(from_the_builds_table) for _ in range(5)
        ]
        for name, measured in times.items():
            median = statistics.median(measured) * 1000
            worst = sorted(measured)[int(len(measured) * 0.95)] * 1000
            print(f"  {name}: median {median:.2f} ms, 95th percentile {worst:.2f} ms")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200)
    scale.main_per_database(parser, run_database, script=__file__)


if __name__ == "__main__":
    main()
