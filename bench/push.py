"""Figure: pushes through our registry against the same registry bare, and how soon the API
lists a pushed tag.

Two registries from the same Debian `docker-registry` binary, each on fresh storage and
started with a clean environment, as the Procfile starts ours:
- ours, with the config the product writes (registry.config.registry_config): token auth
  against a live gunicorn API (API_WORKERS' default, 2 workers of 4 threads, as `make run`)
  and push notifications to it;
- a plain one: the same config without `auth` and `notifications` (same storage driver,
  same options).

Every push carries a new blob: a layer of 64 KiB of random bytes on busybox-static, one image
per push, all committed with buildah (vfs storage) before anything is timed. A push is one
`buildah push`, from its start until it returns; the same local image goes to both
registries, to ours with a real account's API key (`--creds user:key`). Each repository gets
one push first, unmeasured, which carries the base layer and creates the image in the API.

After every push to ours the tag's detail is polled through the API with the account's key
(every --poll seconds) until it answers with the pushed digest: the latency from the push's
return to the tag being listed. Two phases:
- sequential: --pushes rounds of one push to each registry, the order alternating; nothing
  else runs, so a push never meets the API still recording the one before;
- concurrent: --pushers threads, each with a repository of its own in both registries, each
  pushing --rounds images to both (order alternating), polling after its pushes to ours.
Goals: push time ours / plain (medians) <= 1.2x; latency p99 <= 1 s with the concurrent
pushers. Absolute times vary between machines; the ratio and the latency are the figures.

Run: .venv/bin/python bench/push.py [--pushes 40] [--pushers 10] [--rounds 4] [--poll 0.02]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402

RATIO_GOAL = 1.2
LATENCY_GOAL = 1.0  # seconds, p99 with the concurrent pushers
OWNER = "bench"
BUSYBOX = Path("/bin/busybox")
BASE_IMAGE = "localhost/push-bench-base:latest"
LAYER_BYTES = 64 * 1024
# A push that is not listed by then was lost, not slow.
LISTED_SECONDS = 60


@dataclass
class Buildah:
    """buildah with storage of its own, set up as the build worker's (vfs, chroot)."""

    root: Path

    def __post_init__(self) -> None:
        (self.root / "tmp").mkdir(parents=True)
        # No logins of the machine's user.
        (self.root / "auth.json").write_text('{"auths": {}}')

    def __call__(self, *args: str) -> str:
        command = ["buildah", "--root", str(self.root / "storage")]
        command += ["--runroot", str(self.root / "run"), "--storage-driver", "vfs", *args]
        env = {
            **os.environ,
            "BUILDAH_ISOLATION": "chroot",
            "REGISTRY_AUTH_FILE": str(self.root / "auth.json"),
            "TMPDIR": str(self.root / "tmp"),
        }
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"buildah {args[0]} failed:\n{result.stderr[-3000:]}")
        return result.stdout.strip()

    def build_base(self) -> None:
        """scratch with busybox-static as /bin/sh: what the tests build their images on."""
        rootfs = self.root / "rootfs"
        (rootfs / "bin").mkdir(parents=True)
        (rootfs / "bin" / "busybox").write_bytes(BUSYBOX.read_bytes())
        (rootfs / "bin" / "busybox").chmod(0o755)
        (rootfs / "bin" / "sh").symlink_to("busybox")
        container = self("from", "scratch")
        self("copy", container, f"{rootfs}/", "/")
        self("config", "--env", "PATH=/bin", "--cmd", "/bin/sh", container)
        self("commit", "--quiet", "--rm", container, BASE_IMAGE)

    def make_images(self, count: int) -> list[str]:
        """`count` images on the base, each with one layer of its own: a file of random bytes
        (so no two layers are alike and none compresses away). One working container, the
        file rewritten before each commit, so each layer holds that one file."""
        container = self("from", "--pull-never", BASE_IMAGE)
        stamp = self.root / "stamp"
        refs = []
        for number in range(count):
            stamp.write_bytes(os.urandom(LAYER_BYTES))
            self("copy", container, str(stamp), "/stamp")
            refs.append(f"localhost/push-bench:{number}")
            self("commit", "--quiet", container, refs[-1])
        self("rm", container)
        return refs

    def push(self, ref: str, destination: str, creds: str | None) -> tuple[float, str]:
        """(seconds the push took, the manifest digest it pushed)."""
        digest_file = self.root / f"digest-{threading.get_ident()}"
        args = ["push", "--tls-verify=false", "--digestfile", str(digest_file)]
        args += ["--creds", creds] if creds else []
        start = time.perf_counter()
        self(*args, ref, f"docker://{destination}")
        return time.perf_counter() - start, digest_file.read_text().strip()


def start_registry(root: Path, config: dict) -> subprocess.Popen:
    """docker-registry on `config`, with a clean environment (`env -i PATH=...` as the
    Procfile), answering once it serves /v2/ (401 for ours, 200 for the plain one)."""
    from registry.config import write_registry_config

    write_registry_config(root / "config.yml", config)
    with (root / "registry.log").open("w") as log:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(root / "config.yml")],
            env={"PATH": os.environ["PATH"]},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        try:
            requests.get(f"http://{config['http']['addr']}/v2/", timeout=5)
            return process
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    process.wait()
    raise RuntimeError(f"docker-registry did not start: {(root / 'registry.log').read_text()}")


@dataclass
class Figures:
    """What one phase measured, appended to from its threads."""

    ours: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)
    listed: list[float] = field(default_factory=list)


class Setup:
    """The throwaway installation: database, API, both registries, buildah storage."""

    def __init__(self, poll: float) -> None:
        self.poll = poll
        self.api_port = harness.free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.ours = f"127.0.0.1:{harness.free_port()}"
        self.plain = f"127.0.0.1:{harness.free_port()}"
        self.data_dir = harness.configure(
            REGISTRY_HOST=self.ours,
            REGISTRY_URL=f"http://{self.ours}",
            REGISTRY_NOTIFICATION_SECRET=secrets.token_urlsafe(24),
            API_PUBLIC_URL=self.api,
        )
        self.processes: list[subprocess.Popen] = []
        self.buildah = Buildah(self.data_dir / "buildah")
        self.local = threading.local()

    def start(self) -> None:
        import django

        django.setup()
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        from records.models import ApiKey
        from registry import config as registry_config
        from registry import tokens as registry_token

        call_command("migrate", verbosity=0)
        _, self.key = ApiKey.issue(get_user_model().objects.create_user(OWNER))
        registry_token.ensure_signing_key()
        ours = registry_config.registry_config(
            addr=self.ours,
            storage_dir=self.data_dir / "registry" / "storage",
            realm=f"{self.api}/api/v1/registry-token/",
            notify_url=f"{self.api}/api/v1/registry-events/",
            secret=settings.REGISTRY_NOTIFICATION_SECRET,
            cert_path=settings.REGISTRY_TOKEN_KEY.with_suffix(".crt"),
        )
        plain = {key: value for key, value in ours.items() if key not in ("auth", "notifications")}
        plain["http"] = {**ours["http"], "addr": self.plain}
        plain["storage"] = {
            **ours["storage"],
            "filesystem": {"rootdirectory": str(self.data_dir / "plain" / "storage")},
        }
        # Where `make run` keeps it: REGISTRY_CONFIG's default names this config, as there.
        self.processes.append(start_registry(self.data_dir / "registry", ours))
        self.processes.append(start_registry(self.data_dir / "plain", plain))
        # whitenoise warns on every start when STATIC_ROOT is missing; nothing is collected.
        (self.data_dir / "static").mkdir()
        self.processes.append(harness.start_gunicorn(self.api_port, workers=2))
        self.buildah.build_base()

    def session(self) -> requests.Session:
        """One keep-alive session a thread, as a client polling the API would hold."""
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            # gunicorn closes a connection idle for 2 s (its keep-alive); a poll that
            # raced that close is sent again rather than ending the run.
            retry = Retry(total=2, allowed_methods=["GET"], status_forcelist=[])
            self.local.session.mount("http://", HTTPAdapter(max_retries=retry))
            self.local.session.headers["Authorization"] = f"ApiKey {OWNER}:{self.key}"
        return self.local.session

    def push_ours(self, ref: str, repository: str, tag: str) -> tuple[float, float]:
        """(push seconds, seconds from the push's return until the API lists the tag)."""
        seconds, digest = self.buildah.push(
            ref, f"{self.ours}/{repository}:{tag}", f"{OWNER}:{self.key}"
        )
        pushed = time.perf_counter()
        url = f"{self.api}/api/v1/image/{self.ours}/{repository}/tag/{tag}/"
        while True:
            response = self.session().get(url, timeout=10)
            if response.status_code == 200 and response.json()["digest"] == digest:
                return seconds, time.perf_counter() - pushed
            if response.status_code not in (200, 404):
                raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text}")
            if time.perf_counter() - pushed > LISTED_SECONDS:
                raise RuntimeError(f"{repository}:{tag} ({digest}) was never listed")
            time.sleep(self.poll)

    def push_plain(self, ref: str, repository: str, tag: str) -> float:
        return self.buildah.push(ref, f"{self.plain}/{repository}:{tag}", None)[0]

    def push_both(
        self, ref: str, repository: str, tag: str, ours_first: bool, figures: Figures
    ) -> None:
        if not ours_first:
            figures.plain.append(self.push_plain(ref, repository, tag))
        seconds, listed = self.push_ours(ref, repository, tag)
        figures.ours.append(seconds)
        figures.listed.append(listed)
        if ours_first:
            figures.plain.append(self.push_plain(ref, repository, tag))

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
            process.wait()
        with contextlib.suppress(Exception):
            self.buildah("rmi", "--all", "--force")
        harness.remove_tree(self.data_dir)


def sequential(setup: Setup, refs: list[str]) -> Figures:
    figures = Figures()
    for number, ref in enumerate(refs):
        setup.push_both(ref, f"{OWNER}/sequential", f"p{number}", number % 2 == 0, figures)
    return figures


def concurrent(setup: Setup, refs: list[str], pushers: int) -> Figures:
    """`pushers` threads at once, each through its share of `refs` in a repository of its
    own."""
    figures = Figures()

    def pusher(index: int) -> None:
        for number, ref in enumerate(refs[index::pushers]):
            repository = f"{OWNER}/concurrent{index}"
            setup.push_both(ref, repository, f"p{number}", (index + number) % 2 == 0, figures)

    with ThreadPoolExecutor(pushers) as pool:
        # list(): a pusher's exception ends the run here.
        list(pool.map(pusher, range(pushers)))
    return figures


def percentile(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def report(title: str, figures: Figures, latency_goal: float | None) -> None:
    ours, plain = statistics.median(figures.ours), statistics.median(figures.plain)
    ratio = ours / plain
    verdict = "PASS" if ratio <= RATIO_GOAL else "MISS"
    print(
        f"{title}: push ours {ours:.3f} s / plain {plain:.3f} s = {ratio:.2f}x "
        f"(goal <= {RATIO_GOAL}x) {verdict}"
    )
    p50, p99 = percentile(figures.listed, 50), percentile(figures.listed, 99)
    goal = "(no goal)"
    if latency_goal is not None:
        verdict = "PASS" if p99 <= latency_goal else "MISS"
        goal = f"(goal p99 <= {latency_goal:g} s) {verdict}"
    print(
        f"{'':{len(title)}}  push end -> tag listed: p50 {p50:.3f} s, p99 {p99:.3f} s, "
        f"max {max(figures.listed):.3f} s {goal}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=40, help="sequential pushes to each")
    parser.add_argument("--pushers", type=int, default=10, help="concurrent pushing threads")
    parser.add_argument("--rounds", type=int, default=4, help="pushes of each pusher to each")
    parser.add_argument("--poll", type=float, default=0.02, help="seconds between polls")
    args = parser.parse_args()

    setup = Setup(args.poll)
    try:
        start = time.perf_counter()
        setup.start()
        # One image per repository's first push, then one per measured push.
        refs = setup.buildah.make_images(
            1 + args.pushers + args.pushes + args.pushers * args.rounds
        )
        print(f"set up and {len(refs)} images committed in {time.perf_counter() - start:.0f} s")
        warm_ups = [f"{OWNER}/sequential"] + [f"{OWNER}/concurrent{i}" for i in range(args.pushers)]
        for repository, ref in zip(warm_ups, refs, strict=False):
            setup.push_both(ref, repository, "first", True, Figures())
        refs = refs[len(warm_ups) :]
        print(
            f"ours: token auth + notifications to the API; plain: no auth, no notifications. "
            f"Medians; the API polled every {args.poll * 1000:g} ms"
        )
        report(
            f"sequential, {args.pushes} pushes each", sequential(setup, refs[: args.pushes]), None
        )
        report(
            f"{args.pushers} pushers x {args.rounds} each",
            concurrent(setup, refs[args.pushes :], args.pushers),
            LATENCY_GOAL,
        )
    finally:
        setup.stop()


if __name__ == "__main__":
    main()
