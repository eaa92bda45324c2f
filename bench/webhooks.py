"""Figures: what webhooks cost a push, and how many deliveries a webhook worker sends a second.

1. A push with 5 webhooks against one with none. Our registry (token auth, notifications to a
   live gunicorn API, as `make run`) and a `webhook_worker` process sending to a receiver in
   this script, which answers 200 at once. Two accounts: `quiet` (no webhooks) and `loud` (5
   webhooks on its namespace, every event). Each round pushes one new image (a layer of 64 KiB
   of random bytes on busybox) as each account, the order turning. Shown: the push's own time
   (buildah push, start to return; goal loud/quiet <= 1.05x, medians), and from the push's
   return until the API recorded the tag (its pushed_at: the registry's event, the deliveries
   made and queued in that event's transaction), and until the 5 deliveries arrived.
2. Deliveries a second: --deliveries deliveries queued at once (one event to --webhooks
   webhooks, repeated), then one `webhook_worker` (WEBHOOK_WORKER_THREADS threads, each its
   own database connection) started and timed until every delivery has arrived; against the
   floor, the same number of bare signed POSTs from this script to the same receiver with
   as many threads (requests, keep-alive): what sending costs without the queue.

Run: .venv/bin/python bench/webhooks.py [--rounds 20] [--deliveries 1000] [--threads 4]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402
from bench.push import Buildah, start_registry  # noqa: E402

RATIO_GOAL = 1.05
ACCOUNTS = ("quiet", "loud")
WEBHOOKS = 5


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a client gone mid keep-alive (a worker stopped): nothing to report


class Receiver:
    """Counts POSTs and answers 200 at once."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes: without this, Nagle's algorithm and the
            # client's delayed ACK hold each answer ~40 ms.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def wait_for(self, count: int, seconds: float = 600) -> float:
        start = time.perf_counter()
        while self.count < count:
            if time.perf_counter() - start > seconds:
                raise RuntimeError(f"{self.count} of {count} deliveries arrived")
            time.sleep(0.01)
        return time.perf_counter()


def start_worker(threads: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "webhook_worker",
            "--no-startup-delay",
            "--threads",
            str(threads),
            "--verbosity",
            "0",
        ],
        cwd=harness.ROOT,
        env={**os.environ, "WEBHOOK_WORKER_THREADS": str(threads)},
    )


def median_ratio(loud: list[float], quiet: list[float]) -> tuple[float, float, float]:
    a, b = statistics.median(loud), statistics.median(quiet)
    return a, b, a / b


def pushes(args, receiver: Receiver) -> None:
    from django.contrib.auth import get_user_model

    from records.models import ApiKey
    from webhooks import events, subscriptions

    data_dir = Path(os.environ["DATA_DIR"])
    api_port, ours = harness.free_port(), os.environ["REGISTRY_HOST"]
    keys = {}
    for name in ACCOUNTS:
        _, keys[name] = ApiKey.issue(get_user_model().objects.create_user(name))
    loud = get_user_model().objects.get(username="loud")
    for _ in range(WEBHOOKS):
        subscriptions.create(
            loud, {"url": receiver.url, "events": list(events.EVENTS)}, namespace="loud"
        )
    processes = []
    buildah = Buildah(data_dir / "buildah")
    try:
        config = harness.our_registry_config(
            ours, data_dir / "registry" / "storage", f"http://127.0.0.1:{api_port}"
        )
        processes.append(start_registry(data_dir / "registry", config))
        (data_dir / "static").mkdir(exist_ok=True)
        processes.append(harness.start_gunicorn(api_port, workers=2))
        processes.append(start_worker(args.threads))
        buildah.build_base()
        refs = buildah.make_images(2 * (args.rounds + 1))
        times: dict[str, list[float]] = {name: [] for name in ACCOUNTS}
        recorded: dict[str, list[float]] = {name: [] for name in ACCOUNTS}
        arrived: list[float] = []
        for number in range(args.rounds + 1):
            order = ACCOUNTS if number % 2 else ACCOUNTS[::-1]
            for name in order:
                ref = refs.pop()
                before = receiver.count
                seconds, _ = buildah.push(
                    ref, f"{ours}/{name}/app:p{number}", f"{name}:{keys[name]}"
                )
                ended, ended_clock = time.time(), time.perf_counter()
                tag = _wait_recorded(f"{ours}/{name}/app", f"p{number}")
                if number == 0:
                    continue  # the first push of each carries the base layer
                times[name].append(seconds)
                recorded[name].append(tag.pushed_at.timestamp() - ended)
                if name == "loud":
                    # p0's image.registered came first; each push is one tag.pushed per hook.
                    arrived.append(receiver.wait_for(before + WEBHOOKS) - ended_clock)
        loud_s, quiet_s, ratio = median_ratio(times["loud"], times["quiet"])
        verdict = "PASS" if ratio <= RATIO_GOAL else "MISS"
        print(
            f"push, {args.rounds} each: with {WEBHOOKS} webhooks {loud_s:.3f} s / none "
            f"{quiet_s:.3f} s = {ratio:.3f}x (goal <= {RATIO_GOAL}x) {verdict}"
        )
        loud_r, quiet_r = statistics.median(recorded["loud"]), statistics.median(recorded["quiet"])
        print(
            f"  push end -> recorded by the API: with webhooks {loud_r * 1000:.0f} ms, none "
            f"{quiet_r * 1000:.0f} ms (medians, no goal)"
        )
        print(
            f"  push end -> all {WEBHOOKS} deliveries arrived: median "
            f"{statistics.median(arrived) * 1000:.0f} ms, max {max(arrived) * 1000:.0f} ms"
        )
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait()
        harness.remove_tree(data_dir / "buildah")


def _wait_recorded(name: str, tag: str):
    from django.db import close_old_connections

    from records.models import Tag

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        close_old_connections()
        found = Tag.objects.filter(image__name=name, name=tag).exclude(pushed_at=None).first()
        if found is not None:
            return found
        time.sleep(0.02)
    raise RuntimeError(f"{name}:{tag} was never recorded")


def throughput(args, receiver: Receiver) -> None:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from records.models import Image, Registry, WebhookDelivery
    from webhooks import events, messages, subscriptions

    person = get_user_model().objects.create_user("many")
    hooks = [
        subscriptions.create(
            person, {"url": receiver.url, "events": ["tag.pushed"]}, namespace="many"
        )[0]
        for _ in range(args.webhooks)
    ]
    registry = Registry.objects.get_or_create(
        host=os.environ["REGISTRY_HOST"], defaults={"is_tutum_registry": True}
    )[0]
    image = Image.objects.create(name=f"{registry.host}/many/app", owner=person, registry=registry)
    for number in range(args.deliveries // args.webhooks):
        events.emit("tag.pushed", image, tag=f"t{number}", digest="sha256:" + "0" * 64)
    queued = WebhookDelivery.objects.filter(webhook__in=hooks).count()
    before = receiver.count
    start = time.perf_counter()
    worker = start_worker(args.threads)
    try:
        done = receiver.wait_for(before + queued)
    finally:
        worker.terminate()
        worker.wait()
    worker_rate = queued / (done - start)

    # The floor: the same signed bodies POSTed from here, as many at once.
    delivery = WebhookDelivery.objects.filter(webhook=hooks[0]).first()
    body = messages.body_of(hooks[0], delivery.payload)
    local = threading.local()

    def post(_: int) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        headers = messages.headers(hooks[0], delivery.message_id, timezone.now(), body)
        local.session.post(receiver.url, data=body.encode(), headers=headers, timeout=10)

    start = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(post, range(queued)))
    floor_rate = queued / (time.perf_counter() - start)
    print(
        f"deliveries: {queued} by one worker of {args.threads} threads: {worker_rate:.0f} a "
        f"second; bare signed POSTs from {args.threads} threads: {floor_rate:.0f} a second; "
        f"worker/floor {worker_rate / floor_rate:.2f}x (no goal)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="measured pushes per account")
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--webhooks", type=int, default=5, help="for the deliveries figure")
    parser.add_argument("--threads", type=int, default=4, help="the worker's")
    args = parser.parse_args()
    receiver = Receiver()
    ours = f"127.0.0.1:{harness.free_port()}"
    data_dir = harness.configure(
        REGISTRY_HOST=ours,
        REGISTRY_URL=f"http://{ours}",
        REGISTRY_NOTIFICATION_SECRET=secrets.token_urlsafe(24),
        OUTBOUND_ALLOW=receiver.url.split("/")[2],
    )
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        pushes(args, receiver)
        throughput(args, receiver)
    finally:
        harness.remove_tree(data_dir)


if __name__ == "__main__":
    main()
