"""Figure: a build through the API against the same build done by hand, end to end.

What a user waits for when they press "build": `POST /api/v1/image/<name>/tag/<tag>/build/`,
then the queue, the worker's clone, `buildah bud`, the push to our registry (token auth,
notifications), the read-back of the pushed manifest and the build record's final state.
The baseline is the least anyone could do for the same result: `git clone --depth=1`,
`buildah bud` and `buildah push` typed by hand against the same git repository and registry,
with buildah's storage configured like the worker's (vfs, chroot isolation).

Everything is local (a bare git repository served as file://, Debian's docker-registry, a
Dockerfile `FROM scratch` with busybox copied in), so no download blurs the figure. Every
build gets a fresh commit whose Dockerfile differs (a new file and label), so neither path
finds layers it could reuse. The two paths alternate after one warm-up round and their
medians are compared; absolute times vary a lot between machines, only the ratio counts.

Also prints the queue pickup latency: from the POST's response to the build's `started`
time, read from the database because the API shows whole seconds only.
Run: .venv/bin/python bench/build_e2e.py [--rounds 5] [--worker-interval 0.2]
(0.2 s is what `manage.py build_worker`, and so `make run`, polls at)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402
from tests.fixtures.builds import DOCKERFILE, GitServer  # noqa: E402
from tests.fixtures.registry import BUSYBOX, RegistryProcess, start_registry  # noqa: E402

OWNER = "bench"
SOURCE = ("bench-src", "app")  # the git repository: owner, name
BUILD_SECONDS = 300  # a build taking longer than this is stuck, not slow


class Setup:
    """The throwaway installation: database, API, registry, build worker, git repository."""

    def __init__(self, worker_interval: float) -> None:
        self.worker_interval = worker_interval
        self.registry_port = harness.free_port()
        self.api_port = harness.free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.host = f"127.0.0.1:{self.registry_port}"
        self.data_dir = harness.configure(
            REGISTRY_HOST=self.host,
            REGISTRY_URL=f"http://{self.host}",
            REGISTRY_NOTIFICATION_SECRET=secrets.token_urlsafe(24),
            API_PUBLIC_URL=self.api,
        )
        self.git = GitServer(self.data_dir / "git")
        os.environ["GIT_BASE_URL"] = self.git.base_url
        self.processes: list[subprocess.Popen] = []
        self.registry: RegistryProcess | None = None
        self.worker: subprocess.Popen | None = None
        self.worker_log = self.data_dir / "worker.log"
        # By hand: buildah storage of its own, set up like the worker's (builds/buildah.py).
        self.manual_dir = self.data_dir / "manual"
        self.buildah = harness.Buildah(self.manual_dir)
        self.session = requests.Session()

    def start(self) -> None:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        from records.models import ApiKey

        call_command("migrate", verbosity=0)
        user = get_user_model().objects.create_user(OWNER)
        _, self.key = ApiKey.issue(user)
        self.session.headers["Authorization"] = f"ApiKey {OWNER}:{self.key}"

        self._start_registry()
        # whitenoise warns on every start when STATIC_ROOT is missing; nothing is collected.
        (self.data_dir / "static").mkdir()
        self.processes.append(harness.start_gunicorn(self.api_port))
        self._start_worker()

        # Registering clones the branch to check the Dockerfile path, so it must exist first.
        self.push_commit("setup")
        self.image = f"{self.host}/{OWNER}/app"
        response = self.session.post(
            f"{self.api}/api/v1/image/",
            json={
                "name": self.image,
                "build_source": {
                    "owner": SOURCE[0],
                    "repository": SOURCE[1],
                    "build_settings": [{"tag": "latest", "branch": "main", "dockerfile": "/"}],
                },
            },
        )
        if response.status_code != 201:
            raise RuntimeError(f"registering {self.image} failed: {response.text}")

    def _start_registry(self) -> None:
        storage = self.data_dir / "registry" / "storage"
        config = harness.our_registry_config(self.host, storage, self.api)
        self.registry = start_registry(self.data_dir / "registry", config, port=self.registry_port)

    def _start_worker(self) -> None:
        # The project's settings rather than bench.settings, which silences logging: the
        # worker's log is what explains a failed build.
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tutumweb.settings", "LOG_LEVEL": "INFO"}
        with self.worker_log.open("w") as log:
            self.worker = subprocess.Popen(
                [
                    sys.executable,
                    "manage.py",
                    "build_worker",
                    "--no-startup-delay",
                    "--interval",
                    str(self.worker_interval),
                ],
                cwd=harness.ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopping it stops its buildah
            )

    def push_commit(self, stamp: str) -> None:
        """A new commit whose Dockerfile and context differ from every earlier one."""
        dockerfile = f'{DOCKERFILE}LABEL bench.stamp="{stamp}"\nCOPY stamp.txt /stamp.txt\n'
        files = {"busybox": BUSYBOX, "Dockerfile": dockerfile, "stamp.txt": f"{stamp}\n"}
        self.git.push(*SOURCE, files, message=f"Build {stamp}")

    def stop(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGTERM)
            try:
                self.worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.worker.pid, signal.SIGKILL)
                self.worker.wait()
        for process in self.processes:
            process.terminate()
            process.wait()
        if self.registry is not None:
            self.registry.stop()
        with contextlib.suppress(Exception):
            for args in (("rm", "--all"), ("rmi", "--all", "--force")):
                self.buildah(*args)
        harness.remove_tree(self.data_dir)


def build_by_hand(setup: Setup, stamp: str) -> float:
    """git clone, buildah bud, buildah push, buildah rmi: the build with nothing around it."""
    setup.push_commit(stamp)
    checkout = setup.data_dir / "checkout"
    local = "localhost/bench-manual:latest"
    digest_file = setup.manual_dir / "digest"
    start = time.perf_counter()
    subprocess.run(
        ["git", "clone", "--quiet", "--depth=1", "--branch", "main"]
        + [f"{setup.git.base_url}/{SOURCE[0]}/{SOURCE[1]}.git", str(checkout)],
        check=True,
        capture_output=True,
    )
    setup.buildah("bud", "--isolation", "chroot", "-t", local, str(checkout))
    setup.buildah(
        "push",
        "--tls-verify=false",
        "--digestfile",
        str(digest_file),
        "--creds",
        f"{OWNER}:{setup.key}",
        local,
        f"docker://{setup.host}/{OWNER}/manual:latest",
    )
    setup.buildah("rmi", local)
    shutil.rmtree(checkout)
    elapsed = time.perf_counter() - start
    # The registry's notification of this push is the API's work to do; let it finish before
    # the next measurement rather than have it land in the middle of one.
    wait_for_push(f"{setup.host}/{OWNER}/manual", digest_file.read_text().strip())
    return elapsed


def wait_for_push(name: str, digest: str, seconds: float = 30) -> None:
    from records.models import Tag

    deadline = time.monotonic() + seconds
    while not Tag.objects.filter(image__name=name, name="latest", digest=digest).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the push of {name} ({digest}) was never recorded")
        time.sleep(0.05)


def build_through_api(setup: Setup, stamp: str) -> tuple[float, float]:
    """POST build, poll the build until it ends; returns (seconds, queue pickup seconds)."""
    from records.models import Build

    setup.push_commit(stamp)
    start = time.perf_counter()
    response = setup.session.post(f"{setup.api}/api/v1/image/{setup.image}/tag/latest/build/")
    posted_at = datetime.now().astimezone()
    if response.status_code != 202:
        raise RuntimeError(f"POST build answered {response.status_code}: {response.text}")
    location = setup.api + response.headers["Location"]
    deadline = time.monotonic() + BUILD_SECONDS
    while True:
        build = setup.session.get(location).json()
        if build["state"] in ("Success", "Failed"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"build {build['uuid']} still {build['state']}: stuck?")
        # As a client would poll; 50 ms of rounding is small against builds of a second or more.
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    if build["state"] == "Failed":
        log = setup.session.get(location + "log/").json()["text"]
        raise RuntimeError(
            f"build {build['uuid']} failed: {build['error']}\n--- build log ---\n{log[-4000:]}"
        )
    started = Build.objects.get(uuid=build["uuid"]).started
    return elapsed, (started - posted_at).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker-interval", type=float, default=0.2)
    args = parser.parse_args()

    setup = Setup(args.worker_interval)
    try:
        setup.start()
        # First runs create buildah's storage and warm Python's and the OS's caches.
        build_by_hand(setup, "warm-up-hand")
        build_through_api(setup, "warm-up-api")

        by_hand, api, pickup = [], [], []
        print(
            f"{args.rounds} rounds, by hand and API alternating, 1 build worker polling every "
            f"{args.worker_interval:g} s"
        )
        print(f"{'round':>5}  {'by hand':>8}  {'API':>8}  {'pickup':>7}")
        for round_ in range(1, args.rounds + 1):
            by_hand.append(build_by_hand(setup, f"hand-{round_}"))
            seconds, latency = build_through_api(setup, f"api-{round_}")
            api.append(seconds)
            pickup.append(latency)
            print(f"{round_:>5}  {by_hand[-1]:7.2f}s  {api[-1]:7.2f}s  {pickup[-1]:6.2f}s")
        hand_s, api_s = statistics.median(by_hand), statistics.median(api)
        print(f"{'median':>5}  {hand_s:7.2f}s  {api_s:7.2f}s  {statistics.median(pickup):6.2f}s")
        print(f"build ratio (API / by hand): {api_s / hand_s:.2f}x (goal <= 1.3x)")
        print(
            f"queue pickup latency: median {statistics.median(pickup):.2f}s, max {max(pickup):.2f}s"
        )
    except Exception:
        if setup.worker_log.exists():
            print(f"--- build worker log ---\n{setup.worker_log.read_text()[-4000:]}")
        raise
    finally:
        setup.stop()


if __name__ == "__main__":
    main()
