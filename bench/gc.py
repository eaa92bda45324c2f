"""Figure: pushes per second while garbage collections run, against pushes per second with none
(goal >= 0.8x); and how long one collection takes for N repositories.

One throwaway installation as `make run` has it: our registry (Debian's docker-registry, token
auth, notifications) on a local directory, the API on gunicorn (2 workers of 4 threads), SQLite.
N repositories are filled first, each with an image kept and one deleted by digest (garbage).

- Collection time: once nothing is being pushed, one collection of the N repositories (it
  lists every blob and every manifest, reads each manifest, sets aside and deletes the garbage).
- Throughput: --pushers threads push without pause for --seconds into --active of the
  repositories (what a CI system keeps pushing to; the rest sit still, as most of a registry
  does), each push a new image (a config and two 4 KiB layers) the way docker does
  (tests/fixtures/pushing.py: a token from our API, a HEAD per blob, uploads, the manifest),
  every other one deleted by digest at once, so there is always garbage to collect. Phases
  alternate: no collection; then collections back to back in a process of their own (as
  housekeeping runs them, at GC_NICENESS), for the whole phase. The figure is the pushes per
  second with collections over those without (medians of the phases). Every push must
  succeed: one refused stops the bench.

Run: .venv/bin/python bench/gc.py [--repositories 200] [--active 20] [--pushers 2] [--seconds 15]
     [--phases 2]
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402
from bench.push import start_registry  # noqa: E402

RATIO_GOAL = 0.8
OWNER = "bench"
COLLECTING = """
import os, pathlib, django
django.setup()
from datetime import timedelta
from lifecycle.collect import collect
from registry import writers
writers.REGISTRY_LEEWAY = timedelta(seconds=1)
stop = pathlib.Path(os.environ["BENCH_STOP"])
while not stop.exists():
    run = collect("bench")
    print(run.seconds, run.blobs_deleted, run.blobs_deferred, run.blobs_restored, flush=True)
"""


class Bench:
    def __init__(self, repositories: int, active: int, pushers: int) -> None:
        self.repositories = [f"{OWNER}/r{n}" for n in range(repositories)]
        self.active = self.repositories[:active]
        self.pushers = pushers
        self.api_port = harness.free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.host = f"127.0.0.1:{harness.free_port()}"
        self.data_dir = harness.configure(
            REGISTRY_HOST=self.host,
            REGISTRY_URL=f"http://{self.host}",
            REGISTRY_NOTIFICATION_SECRET=secrets.token_urlsafe(24),
            API_PUBLIC_URL=self.api,
            # Push tokens of 5 s and no grace period: garbage is collectable seconds after it
            # was made, so every collection has some to delete.
            REGISTRY_TOKEN_TTL="5",
            GC_GRACE_MINUTES="0",
            GC_SETTLE_SECONDS="1",
        )
        self.processes: list[subprocess.Popen] = []
        self.turn = itertools.count()

    def start(self) -> None:
        import django

        django.setup()
        from datetime import timedelta

        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        from records.models import ApiKey
        from registry import writers
        from tests.fixtures.pushing import Pusher

        # The registry's 60 s leeway past a token's expiry is 1 s here: the bench's clients
        # never use a token that old.
        writers.REGISTRY_LEEWAY = timedelta(seconds=1)
        call_command("migrate", verbosity=0)
        _, key = ApiKey.issue(get_user_model().objects.create_user(OWNER))
        config = harness.our_registry_config(
            self.host, self.data_dir / "registry/storage", self.api
        )
        self.processes.append(start_registry(self.data_dir / "registry", config))
        (self.data_dir / "static").mkdir()
        self.processes.append(harness.start_gunicorn(self.api_port, workers=2))
        self.local = threading.local()
        self.make_pusher = lambda: Pusher(f"http://{self.host}", self.api, OWNER, key)

    def pusher(self):
        if not hasattr(self.local, "pusher"):
            self.local.pusher = self.make_pusher()
        return self.local.pusher

    def push(self, repository: str, tag: str, *, delete: bool) -> None:
        """A new image pushed, and deleted by digest at once if `delete`."""
        from registry.tokens import service_token
        from tests.fixtures.pushing import Image

        outcome = self.pusher().push(Image.random(size=4096), repository, tag)
        if outcome.refused:
            raise RuntimeError(f"a push was refused: {outcome}")
        if delete:
            token = service_token([f"repository:{repository}:delete"])
            deleted = requests.delete(
                f"http://{self.host}/v2/{repository}/manifests/{outcome.digest}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            deleted.raise_for_status()

    def fill(self) -> None:
        def one(repository: str) -> None:
            self.push(repository, "kept", delete=False)
            self.push(repository, "gone", delete=True)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, self.repositories))

    def collection_time(self):
        from lifecycle.collect import collect
        from registry import writers

        while writers.being_written():
            time.sleep(0.2)
        return collect("bench")

    def pushes_per_second(self, seconds: float) -> float:
        done = []
        deadline = time.monotonic() + seconds

        def keep_pushing() -> None:
            while time.monotonic() < deadline:
                n = next(self.turn)
                repository = self.active[n % len(self.active)]
                self.push(repository, f"t{n}", delete=n % 2 == 0)
                done.append(n)

        threads = [threading.Thread(target=keep_pushing) for _ in range(self.pushers)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return len(done) / (time.monotonic() - started)

    def with_collections(self, seconds: float) -> tuple[float, list[list[float]]]:
        stop = self.data_dir / "stop"
        stop.unlink(missing_ok=True)
        collector = subprocess.Popen(
            [sys.executable, "-c", COLLECTING],
            cwd=harness.ROOT,
            env={**os.environ, "BENCH_STOP": str(stop)},
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            rate = self.pushes_per_second(seconds)
        finally:
            stop.touch()
            output, _ = collector.communicate(timeout=300)
        if collector.returncode:
            raise RuntimeError("the collections failed")
        return rate, [[float(x) for x in line.split()] for line in output.splitlines()]

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
            process.wait()
        harness.remove_tree(self.data_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=200)
    parser.add_argument("--active", type=int, default=20)
    parser.add_argument("--pushers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--phases", type=int, default=2)
    args = parser.parse_args()
    bench = Bench(args.repositories, args.active, args.pushers)
    try:
        bench.start()
        started = time.monotonic()
        bench.fill()
        print(f"{args.repositories} repositories filled in {time.monotonic() - started:.1f} s")
        run = bench.collection_time()
        from django.conf import settings

        print(
            f"one collection of {run.repositories} repositories, {run.manifests} manifests: "
            f"{run.seconds:.2f} s (of which {settings.GC_SETTLE_SECONDS:.0f} s settling), "
            f"{run.blobs_deleted} blobs "
            f"({run.bytes_freed} bytes) deleted"
        )
        quiet, during, runs = [], [], []
        for _ in range(args.phases):
            quiet.append(bench.pushes_per_second(args.seconds))
            rate, collections = bench.with_collections(args.seconds)
            during.append(rate)
            runs += collections
        print(f"pushes/s without collections: {', '.join(f'{r:.1f}' for r in quiet)}")
        print(f"pushes/s during collections:  {', '.join(f'{r:.1f}' for r in during)}")
        print(
            f"{len(runs)} collections ran during the pushes: "
            f"median {statistics.median(r[0] for r in runs):.2f} s, "
            f"{sum(r[1] for r in runs):.0f} blobs deleted, {sum(r[2] for r in runs):.0f} left "
            f"for later, {sum(r[3] for r in runs):.0f} put back; no push refused"
        )
        ratio = statistics.median(during) / statistics.median(quiet)
        verdict = "meets" if ratio >= RATIO_GOAL else "misses"
        print(f"ratio during / without: {ratio:.2f}x ({verdict} the goal of >= {RATIO_GOAL}x)")
    finally:
        bench.stop()


if __name__ == "__main__":
    main()
