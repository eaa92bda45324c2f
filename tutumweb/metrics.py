"""Prometheus metrics at /metrics, on every API and admin process, for whoever holds
METRICS_TOKEN.

Two kinds of figures, each counted where it is right with several processes and machines:

- How this server answers requests (`tutumweb_http_*`), measured in each process by the
  middleware below. Under gunicorn the workers write them to files in one directory per
  server (tutumweb/gunicorn_conf.py, prometheus_client's multiprocess mode), so the worker
  that answers a scrape sums them all; without it (runserver, tests) they are this process's.
  Each server has its own: scrape every API and admin server.
- What the database knows (builds, pushes, garbage collections), read from it at each scrape:
  the same on every server. Its counters come from tallies (records.Tally) added to as things
  happen, never from counting rows that get deleted, which Prometheus would read as a counter
  that restarted, or that grow with the history, which would make each scrape dearer.

Label values are route names, methods, status classes and build states only: never a path,
an image name or a username (private names must not leak, and a label per path would grow
without bound).
"""

from __future__ import annotations

import hmac
import logging
import os
import time

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, Histogram, multiprocess
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from builds.leases import DURATION_BUCKETS
from records.models import Build, Maintenance, Tally, WebhookDelivery

log = logging.getLogger(__name__)

REQUEST_SECONDS = Histogram(
    "tutumweb_http_request_duration_seconds",
    "Time this server took to answer a request, by route (the name of the URL pattern it "
    "matched: never the path), method and status class (2xx, 4xx, ...).",
    ["route", "method", "status"],
    # prometheus_client's default buckets but 0.075, 0.75 and 7.5: a scrape's cost grows with
    # its samples (each bucket of each route's series is one), and these tell apart what a
    # page (a few ms) and a slow one (seconds) take.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
IN_PROGRESS = Gauge(
    "tutumweb_http_requests_in_progress",
    "Requests this server is answering right now.",
    # Summed over the workers alive: a worker that died answers nothing (gunicorn_conf.py).
    multiprocess_mode="livesum",
)
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def measure_requests(get_response):
    """Middleware, first in the list, so its time includes the other middleware's."""

    def middleware(request):
        IN_PROGRESS.inc()
        started = time.perf_counter()
        try:
            response = get_response(request)
        finally:
            IN_PROGRESS.dec()
        REQUEST_SECONDS.labels(
            _route(request),
            request.method if request.method in METHODS else "other",
            f"{response.status_code // 100}xx",
        ).observe(time.perf_counter() - started)
        return response

    return middleware


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        # "image-detail", "images:list"; a view without a name has its dotted path.
        return match.view_name
    if request.path.startswith(settings.STATIC_URL):
        return "static"  # answered by WhiteNoise before any URL pattern is tried
    return "unmatched"


# A scraper sends no CSRF token; there is nothing to write anyway.
@csrf_exempt
@never_cache
def metrics(request):
    if not settings.METRICS_TOKEN:
        raise Http404  # metrics are off: as any path that is not there
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode()
    ):
        refused = HttpResponse(
            "Send Authorization: Bearer <METRICS_TOKEN>.\n", status=401, content_type="text/plain"
        )
        refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    body = generate_latest(_this_server()) + generate_latest(DATABASE)
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)


def _this_server() -> CollectorRegistry:
    """Every worker's measurements under gunicorn; this process's otherwise (with its CPU and
    memory, which under gunicorn would be of whichever worker answered)."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


class DatabaseFigures(Collector):
    """What the database knows, in four small queries whatever its size: the builds waiting
    and running (an index range), the tallies (a few dozen rows), when garbage was last
    collected (one row) and the webhook deliveries still due (an index range)."""

    def collect(self):
        try:
            active = list(
                Build.objects.filter(state__in=Build.ACTIVE)
                .values("state")
                .annotate(builds=Count("pk"), oldest=Min("created"))
                .order_by()
            )
            tallies = list(Tally.objects.values_list("name", "label", "bucket", "count", "total"))
            last_collected = (
                Maintenance.objects.filter(pk=1).values_list("last_collected", flat=True).first()
            )
            due = WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING).aggregate(
                deliveries=Count("pk"), earliest=Min("next_attempt")
            )
        except DatabaseError:
            log.exception("metrics: the database does not answer")
            yield _database_up(0)
            return
        yield _database_up(1)
        yield from _builds(active, tallies)
        yield CounterMetricFamily(
            "tutumweb_registry_pushes",
            "Tags pushed to our registry (each push notification counted once, however often "
            "the registry delivers it; a build's push counts too).",
            value=sum(row[3] for row in tallies if row[0] == Tally.Name.PUSHES),
        )
        yield from _collections(tallies, last_collected)
        yield from _webhooks(tallies, due)


DATABASE = CollectorRegistry(auto_describe=False)
DATABASE.register(DatabaseFigures())


def _database_up(value: int) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "tutumweb_database_up",
        "1 when the database answered this scrape's questions; 0 when it did not (the figures "
        "read from it are then missing).",
        value=value,
    )


def _builds(active: list[dict], tallies: list[tuple]):
    by_state = {row["state"]: row for row in active}
    queued = by_state.get(Build.State.QUEUED, {})
    yield GaugeMetricFamily(
        "tutumweb_builds_queued",
        "Builds waiting for a build worker.",
        value=queued.get("builds", 0),
    )
    oldest = queued.get("oldest")
    yield GaugeMetricFamily(
        "tutumweb_builds_queued_oldest_age_seconds",
        "How long the build that has waited longest for a worker has waited (0 when none waits).",
        value=(timezone.now() - oldest).total_seconds() if oldest else 0,
    )
    yield GaugeMetricFamily(
        "tutumweb_builds_running",
        "Builds a worker is running.",
        value=by_state.get(Build.State.BUILDING, {}).get("builds", 0),
    )
    durations = HistogramMetricFamily(
        "tutumweb_build_duration_seconds",
        "Builds finished, by final state (Success, Failed, Cancelled), and how long they ran "
        "(0 for a build cancelled before it started); _count is the number of builds.",
        labels=["state"],
    )
    finished = [row for row in tallies if row[0] == Tally.Name.BUILDS]
    for state in (Build.State.SUCCESS, Build.State.FAILED, Build.State.CANCELLED):
        rows = [
            (float(bucket), count, total)
            for _, label, bucket, count, total in finished
            if label == state
        ]
        buckets = [
            (floatToGoString(bound), sum(count for upper, count, _ in rows if upper <= bound))
            for bound in DURATION_BUCKETS
        ]
        buckets.append(("+Inf", sum(count for _, count, _ in rows)))
        durations.add_metric([state], buckets, sum_value=sum(total for *_, total in rows))
    yield durations


def _collections(tallies: list[tuple], last_collected):
    total = {name: (count, amount) for name, _, _, count, amount in tallies}
    runs, freed = total.get(Tally.Name.GC_FREED_BYTES, (0, 0))
    yield CounterMetricFamily(
        "tutumweb_gc_runs",
        "Garbage collections of our registry's storage that ran to their end.",
        value=runs,
    )
    for name, documentation, tally in (
        (
            "tutumweb_gc_freed_bytes",
            "Bytes of our registry's storage the garbage collections freed.",
            Tally.Name.GC_FREED_BYTES,
        ),
        (
            "tutumweb_gc_deleted_blobs",
            "Blobs (layers, configs, manifests) the garbage collections deleted.",
            Tally.Name.GC_DELETED_BLOBS,
        ),
        (
            "tutumweb_gc_seconds",
            "Time the garbage collections ran (pushes go on meanwhile).",
            Tally.Name.GC_SECONDS,
        ),
    ):
        yield CounterMetricFamily(name, documentation, value=total.get(tally, (0, 0))[1])
    yield GaugeMetricFamily(
        "tutumweb_gc_last_run_timestamp_seconds",
        "When the last garbage collection ended, in seconds since 1970 (0: never).",
        value=last_collected.timestamp() if last_collected else 0,
    )


def _webhooks(tallies: list[tuple], due: dict):
    attempts = CounterMetricFamily(
        "tutumweb_webhook_attempts",
        "Attempts at webhook deliveries, by outcome: delivered (a 2xx) or failed (any other "
        "answer, or none).",
        labels=["outcome"],
    )
    seconds = CounterMetricFamily(
        "tutumweb_webhook_attempt_seconds",
        "Time the webhook attempts took, answer included, by outcome.",
        labels=["outcome"],
    )
    for outcome in ("delivered", "failed"):
        rows = [r for r in tallies if r[0] == Tally.Name.WEBHOOK_ATTEMPTS and r[1] == outcome]
        attempts.add_metric([outcome], sum(r[3] for r in rows))
        seconds.add_metric([outcome], sum(r[4] for r in rows))
    yield attempts
    yield seconds
    yield GaugeMetricFamily(
        "tutumweb_webhook_deliveries_pending",
        "Webhook deliveries not yet delivered or given up: their first attempt, or a retry, is "
        "to come.",
        value=due["deliveries"],
    )
    earliest = due["earliest"]
    late = (timezone.now() - earliest).total_seconds() if earliest else 0
    yield GaugeMetricFamily(
        "tutumweb_webhook_deliveries_overdue_seconds",
        "How long past its time the most overdue webhook attempt is (0 when none is): above a "
        "few seconds, the webhook workers are stopped or cannot keep up.",
        value=max(late, 0),
    )
