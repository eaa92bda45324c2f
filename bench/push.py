"""Figure: pushes through our registry against the same registry bare, and how soon the API
lists a pushed tag.

Registries from the same Debian `docker-registry` binary, each on fresh storage and started
with a clean environment, as the Procfile starts ours:
- ours, with the config the product writes (registry.config.registry_config): token auth
  against a live gunicorn API (API_WORKERS' default, 2 workers of 4 threads, as `make run`)
  and push notifications to it;
- a plain one: the same config without `auth` and `notifications` (same storage driver,
  same options);
- two floors of token auth (sequential phase only): ours without notifications, its tokens
  from a realm that grants what is asked and signs each set of scopes once
  (bench.urls.token_granting): a server in this script ("tokens from memory": what token
  auth costs a push by itself, buildah's extra round trips and the registry's checks), and
  a bare Django view on the API's gunicorn ("a bare Django view": what any token served by
  the API costs, before our realm's own work: sign-in, access rules, the write-token record).

Every push carries a new blob: a layer of 64 KiB of random bytes on busybox-static, one image
per push, all committed with buildah (vfs storage) before anything is timed. A push is one
`buildah push`, from its start until it returns; the same local image goes to every
registry, to ours with a real account's API key (`--creds user:key`). Each repository gets
one push first, unmeasured, which carries the base layer and creates the image in the API.

After every push to ours the tag's detail is polled through the API with the account's key
(every --poll seconds) until it answers with the pushed digest: the latency from the push's
return to the tag being listed. Also shown: from the push's return to the tag's `pushed_at`
(when the API recorded it, read from the database afterwards: what the polls do not add),
and how many polls there were. Two phases:
- sequential: --pushes rounds of one push to each registry, the order turning; nothing else
  runs, so a push never meets the API still recording the one before;
- concurrent: --pushers threads, each with a repository of its own in ours and the plain
  one, each pushing --rounds images to both (order alternating), polling after its pushes to
  ours.
Goals: push time ours / plain (medians) <= 1.2x; latency p99 <= 1 s with the concurrent
pushers. Absolute times vary between machines; the ratio and the latency are the figures.

Run: .venv/bin/python bench/push.py [--pushes 40] [--pushers 10] [--rounds 4] [--poll 0.02]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

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


class Buildah(harness.Buildah):
    """harness.Buildah with the images this bench pushes."""

    def build_base(self) -> None:
        """scratch with busybox-static as /bin/sh: what the tests build their images on."""
        rootfs = self.root / "rootfs"
        (rootfs / "bin").mkdir(parents=True)
        (rootfs / "bin" / "busybox").write_bytes(BUSYBOX.read_bytes())
        (rootfs / "bin" / "busybox").chmod(0o755)
        (rootfs / "bin" / "sh").symlink_to("busybox")
        container = self("from", "scratch").stdout.strip()
        self("copy", container, f"{rootfs}/", "/")
        self("config", "--env", "PATH=/bin", "--cmd", "/bin/sh", container)
        self("commit", "--quiet", "--rm", container, BASE_IMAGE)

    def make_images(self, count: int) -> list[str]:
        """`count` images on the base, each with one layer of its own: a file of random bytes
        (so no two layers are alike and none compresses away). One working container, the
        file rewritten before each commit, so each layer holds that one file."""
        container = self("from", "--pull-never", BASE_IMAGE).stdout.strip()
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
    if harness.answers(process, f"http://{config['http']['addr']}/v2/", 30):
        return process
    process.kill()
    process.wait()
    raise RuntimeError(f"docker-registry did not start: {(root / 'registry.log').read_text()}")


class FreeTokens:
    """A token server that costs next to nothing, outside Django: bench.urls.token_granting's
    tokens (every scope asked granted, each set signed once), answered from memory."""

    def __init__(self) -> None:
        from bench.urls import asked_scopes, token_granting

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn

            def do_GET(self) -> None:
                asked = parse_qs(urlsplit(self.path).query).get("scope", [])
                body = token_granting(asked_scopes(asked))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/token"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# The floors of the sequential phase (see above): name -> what serves their tokens.
FLOORS = {"memory": "tokens from memory", "django": "tokens from a bare Django view"}


@dataclass
class Figures:
    """What one phase measured, appended to from its threads."""

    ours: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)
    # Push seconds to each floor registry (FLOORS), in the sequential phase.
    floors: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in FLOORS})
    # From the end of each push to ours until the API listed its tag, and until the tag was
    # recorded (its pushed_at, read from the database afterwards: polls don't add to it).
    listed: list[float] = field(default_factory=list)
    recorded: list[float] = field(default_factory=list)
    # (repository, tag, time.time() when its push ended) of each push to ours.
    pushed: list[tuple[str, str, float]] = field(default_factory=list)
    polls: list[int] = field(default_factory=list)
    seconds: float = 0.0


class Setup:
    """The throwaway installation: database, API, the registries, buildah storage."""

    def __init__(self, poll: float) -> None:
        self.poll = poll
        self.api_port = harness.free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.ours = f"127.0.0.1:{harness.free_port()}"
        self.plain = f"127.0.0.1:{harness.free_port()}"
        self.floors = {name: f"127.0.0.1:{harness.free_port()}" for name in FLOORS}
        self.tokens: FreeTokens | None = None
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
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        from records.models import ApiKey

        call_command("migrate", verbosity=0)
        _, self.key = ApiKey.issue(get_user_model().objects.create_user(OWNER))
        storage = self.data_dir / "registry" / "storage"
        ours = harness.our_registry_config(self.ours, storage, self.api)
        # Where `make run` keeps it: REGISTRY_CONFIG's default names this config, as there.
        self.processes.append(start_registry(self.data_dir / "registry", ours))
        plain = self._variant(ours, "plain", self.plain, without=("auth", "notifications"))
        self.processes.append(start_registry(self.data_dir / "plain", plain))
        self.tokens = FreeTokens()
        realms = {"memory": self.tokens.url, "django": f"{self.api}/baseline/registry-token/"}
        for name, realm in realms.items():
            floor = self._variant(ours, name, self.floors[name], without=("notifications",))
            floor["auth"] = {"token": {**ours["auth"]["token"], "realm": realm}}
            self.processes.append(start_registry(self.data_dir / name, floor))
        # whitenoise warns on every start when STATIC_ROOT is missing; nothing is collected.
        (self.data_dir / "static").mkdir()
        self.processes.append(harness.start_gunicorn(self.api_port, workers=2))
        self.buildah.build_base()

    def _variant(self, ours: dict, name: str, addr: str, without: tuple[str, ...]) -> dict:
        """Our registry's config without the parts named, at `addr`, storing under `name`."""
        config = {key: value for key, value in ours.items() if key not in without}
        config["http"] = {**ours["http"], "addr": addr}
        config["storage"] = {
            **ours["storage"],
            "filesystem": {"rootdirectory": str(self.data_dir / name / "storage")},
        }
        return config

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

    def push_ours(self, ref: str, repository: str, tag: str, figures: Figures) -> None:
        """Push, then poll the tag until the API lists it."""
        seconds, digest = self.buildah.push(
            ref, f"{self.ours}/{repository}:{tag}", f"{OWNER}:{self.key}"
        )
        pushed = time.perf_counter()
        figures.ours.append(seconds)
        figures.pushed.append((repository, tag, time.time()))
        url = f"{self.api}/api/v1/image/{self.ours}/{repository}/tag/{tag}/"
        for polls in itertools.count(1):
            response = self.session().get(url, timeout=10)
            if response.status_code == 200 and response.json()["digest"] == digest:
                figures.listed.append(time.perf_counter() - pushed)
                figures.polls.append(polls)
                return
            if response.status_code not in (200, 404):
                raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text}")
            if time.perf_counter() - pushed > LISTED_SECONDS:
                raise RuntimeError(f"{repository}:{tag} ({digest}) was never listed")
            time.sleep(self.poll)

    def push_round(
        self, ref: str, repository: str, tag: str, turn: int, figures: Figures, floors: bool
    ) -> None:
        """`ref` pushed to ours, the plain registry and (`floors`) the floors', in an order
        that turns with `turn`, so that each goes first as often as the others."""

        def push_to(host: str, creds: str | None, into: list[float]):
            return lambda: into.append(
                self.buildah.push(ref, f"{host}/{repository}:{tag}", creds)[0]
            )

        pushes = [
            lambda: self.push_ours(ref, repository, tag, figures),
            push_to(self.plain, None, figures.plain),
        ]
        if floors:
            # They grant what is asked: any password does.
            pushes += [push_to(self.floors[n], f"{OWNER}:-", figures.floors[n]) for n in FLOORS]
        turn %= len(pushes)
        for push in pushes[turn:] + pushes[:turn]:
            push()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
            process.wait()
        if self.tokens is not None:
            self.tokens.stop()
        with contextlib.suppress(Exception):
            self.buildah("rmi", "--all", "--force")
        harness.remove_tree(self.data_dir)


def sequential(setup: Setup, refs: list[str]) -> Figures:
    figures = Figures()
    start = time.perf_counter()
    for number, ref in enumerate(refs):
        setup.push_round(ref, f"{OWNER}/sequential", f"p{number}", number, figures, floors=True)
    figures.seconds = time.perf_counter() - start
    return recorded(setup, figures)


def concurrent(setup: Setup, refs: list[str], pushers: int) -> Figures:
    """`pushers` threads at once, each through its share of `refs` in a repository of its
    own."""
    figures = Figures()

    def pusher(index: int) -> None:
        repository = f"{OWNER}/concurrent{index}"
        for number, ref in enumerate(refs[index::pushers]):
            setup.push_round(ref, repository, f"p{number}", index + number, figures, floors=False)

    start = time.perf_counter()
    with ThreadPoolExecutor(pushers) as pool:
        # list(): a pusher's exception ends the run here.
        list(pool.map(pusher, range(pushers)))
    figures.seconds = time.perf_counter() - start
    return recorded(setup, figures)


def recorded(setup: Setup, figures: Figures) -> Figures:
    """When each push was recorded (its tag's pushed_at), after its push ended; negative
    when the API recorded it before buildah had returned."""
    from records.models import Tag

    for repository, tag, ended in figures.pushed:
        found = Tag.objects.get(image__name=f"{setup.ours}/{repository}", name=tag)
        figures.recorded.append(found.pushed_at.timestamp() - ended)
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
    indent = " " * len(title)
    for name, label in FLOORS.items():
        if figures.floors[name]:
            floor = statistics.median(figures.floors[name])
            print(
                f"{indent}  floor, {label}: {floor:.3f} s = "
                f"{floor / plain:.2f}x plain; ours {ours / floor:.2f}x it (no goal)"
            )
    p50, p99 = percentile(figures.listed, 50), percentile(figures.listed, 99)
    goal = "(no goal)"
    if latency_goal is not None:
        verdict = "PASS" if p99 <= latency_goal else "MISS"
        goal = f"(goal p99 <= {latency_goal:g} s) {verdict}"
    print(
        f"{indent}  push end -> tag listed: p50 {p50:.3f} s, p99 {p99:.3f} s, "
        f"max {max(figures.listed):.3f} s {goal}"
    )
    polls = sum(figures.polls)
    p50, p99 = percentile(figures.recorded, 50), percentile(figures.recorded, 99)
    print(
        f"{indent}  push end -> recorded (pushed_at): p50 {p50:.3f} s, p99 {p99:.3f} s; "
        f"{polls} polls, {polls / figures.seconds:.0f} a second"
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
            setup.push_round(ref, repository, "first", 0, Figures(), floors=True)
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
