"""Shared by the benchmarks: a populated throwaway database and gunicorn servers."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import stat
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def remove_tree(path: Path) -> None:
    """rmtree that also removes what buildah's vfs storage left read-only."""

    def make_writable(function, name, _):
        os.chmod(name, stat.S_IRWXU)
        function(name)

    if path.exists():
        shutil.rmtree(path, onerror=make_writable)


@dataclass
class Buildah:
    """buildah with storage of its own under `root`, set up as the build worker's (vfs
    storage, chroot isolation, no logins of the machine's user)."""

    root: Path

    def __post_init__(self) -> None:
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        (self.root / "auth.json").write_text('{"auths": {}}')

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
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
            # The subcommand only: the arguments may hold credentials (push --creds).
            raise RuntimeError(f"buildah {args[0]} failed:\n{result.stderr[-3000:]}")
        return result


def our_registry_config(addr: str, storage_dir: Path, api: str) -> dict:
    """Our registry's config as `make run` writes it: token auth against the API at `api`,
    push notifications to it (the signing key is made if it is missing)."""
    from django.conf import settings

    from registry import config as registry_config
    from registry import tokens as registry_token

    registry_token.ensure_signing_key()
    return registry_config.registry_config(
        addr=addr,
        storage_dir=storage_dir,
        realm=f"{api}/api/v1/registry-token/",
        notify_url=f"{api}/api/v1/registry-events/",
        secret=settings.REGISTRY_NOTIFICATION_SECRET,
        cert_path=settings.REGISTRY_TOKEN_KEY.with_suffix(".crt"),
    )


def answers(process: subprocess.Popen, url: str, seconds: float) -> bool:
    """Whether `url` answers (whatever the status) within `seconds`, while `process` runs."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            requests.get(url, timeout=10)
            return True
        except requests.RequestException:
            time.sleep(0.1)
    return False


def basic(username: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()


def configure(**extra: str) -> Path:
    """Environment for a throwaway installation; call before Django is imported."""
    sys.path.insert(0, str(ROOT))
    data_dir = Path(tempfile.mkdtemp(prefix="tutumweb-bench-"))
    # `extra` may replace the defaults too (bench/scale.py passes a PostgreSQL DATABASE_URL).
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "SECRET_KEY": "bench-only-secret-key",
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{data_dir / 'bench.sqlite3'}",
            **extra,
        }
    )
    return data_dir


def populate(count: int, *, big_image_tags: int = 0) -> tuple[str, str, str]:
    """`count` images with 3 tags each (and one with `big_image_tags` tags).

    Returns (username, password, api key) of their owner.
    """
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from records.models import ApiKey, Image, Layer, Registry, State, Tag

    call_command("migrate", verbosity=0)
    password = "bench-password-1"
    user = get_user_model().objects.create_user("bench", password=password)
    _, key = ApiKey.issue(user)
    registry = Registry.objects.create(host="127.0.0.1:5000", name="ours", is_tutum_registry=True)
    images = Image.objects.bulk_create(
        Image(
            name=f"127.0.0.1:5000/bench/app{i:05d}",
            owner=user,
            registry=registry,
            description=f"Benchmark image {i}",
            is_private_image=i % 2 == 0,
            state=State.SUCCESS,
        )
        for i in range(count + (1 if big_image_tags else 0))
    )
    if big_image_tags:
        images[-1].name = "127.0.0.1:5000/bench/many-tags"
        images[-1].save()
    layers = Layer.objects.bulk_create(_layer(i) for i in range(len(images)))
    tags = _tags(images[:count], layers)
    if big_image_tags:
        # What a pushed multi-platform image has on its tag page: platforms, steps, layers.
        for name, value in _pushed_layer().items():
            setattr(layers[-1], name, value)
        layers[-1].save()
        tags += [
            Tag(
                image=images[-1],
                name=f"v{i:04d}",
                layer=layers[-1],
                state=State.SUCCESS,
                **_pushed_tag(i),
            )
            for i in range(big_image_tags)
        ]
    Tag.objects.bulk_create(tags, batch_size=2000)
    return "bench", password, key


def populate_teams(count: int, teams: int = 50) -> tuple[int, str, str]:
    """`count` more images (3 tags each) spread evenly over `teams` team namespaces, one in
    ten public, each team with an Owner of its own; and a person `member`, owner of no image,
    in two teams of every five (20 of 50) as Reader, Writer and Owner in turn.

    The teams are acme00, acme01, ..., so their images sort before bench/'s; member is in
    those whose number ends in 1, 3, 6 or 8, so their first page starts in a team they are
    not in. Call after `populate`. Returns (user id, username, api key) of member.
    """
    from django.contrib.auth import get_user_model

    from records.models import ApiKey, Image, Layer, Membership, Registry, Role, State, Tag, Team

    users = get_user_model()
    member = users.objects.create_user("member", password="bench-password-2")
    _, key = ApiKey.issue(member)
    leads = users.objects.bulk_create(users(username=f"lead{t:02d}") for t in range(teams))
    namespaces = Team.objects.bulk_create(Team(name=f"acme{t:02d}") for t in range(teams))
    Membership.objects.bulk_create(
        Membership(team=team, user=lead, role=Role.OWNER)
        for team, lead in zip(namespaces, leads, strict=True)
    )
    chosen = [team for t, team in enumerate(namespaces) if t % 5 in (1, 3)]
    roles = [Role.READER, Role.WRITER, Role.OWNER]
    Membership.objects.bulk_create(
        Membership(team=team, user=member, role=roles[i % 3]) for i, team in enumerate(chosen)
    )
    registry = Registry.objects.get(host="127.0.0.1:5000")
    images = Image.objects.bulk_create(
        (
            Image(
                name=f"127.0.0.1:5000/{team.name}/app{i:05d}",
                team=team,
                registry=registry,
                description=f"Benchmark team image {i}",
                is_private_image=i % 10 != 0,
                state=State.SUCCESS,
            )
            for i in range(count)
            for team in [namespaces[i * teams // count]]
        ),
        batch_size=2000,
    )
    start = Layer.objects.count()
    layers = Layer.objects.bulk_create((_layer(start + i) for i in range(count)), batch_size=2000)
    Tag.objects.bulk_create(_tags(images, layers), batch_size=2000)
    return member.pk, member.username, key


def _layer(number: int):
    from records.models import Layer

    return Layer(
        docker_id=f"{number:064x}",
        author="bench",
        envvars=[{"key": "PATH", "value": "/bin"}],
        labels=[{"key": "a", "value": "b"}],
        ports=[{"port": 80, "protocol": "tcp"}],
        volumes=[{"container_path": "/data"}],
    )


def _pushed_layer() -> dict:
    """An image config's details as a push records them: 12 steps, half of them layers."""
    layers = [
        {"digest": f"sha256:{n:064x}", "size": 3_000_000 * n, "media_type": "tar+gzip"}
        for n in range(1, 7)
    ]
    history = [
        {
            "created": "2024-03-05T09:08:07+00:00",
            "created_by": f"/bin/sh -c #(nop) ENV STEP={n}"
            if n % 2
            else f"/bin/sh -c apt-get update && apt-get install -y package-{n}",
            "comment": "",
            "empty_layer": bool(n % 2),
            "size": 0 if n % 2 else layers[n // 2]["size"],
        }
        for n in range(12)
    ]
    return {"os": "linux", "architecture": "amd64", "layers": layers, "history": history}


def _pushed_tag(number: int) -> dict:
    from django.utils import timezone

    platforms = [
        {"os": "linux", "architecture": arch, "variant": variant, "digest": f"sha256:{n:064x}"}
        | {"size": 63_000_000}
        for n, (arch, variant) in enumerate([("amd64", ""), ("arm64", "v8")])
    ]
    return {
        "digest": f"sha256:{number:064x}",
        "size": 63_001_234,
        "platforms": platforms,
        "pushed_by": "bench",
        "pushed_at": timezone.now(),
    }


def _tags(images: list, layers: list) -> list:
    """Tags latest, v1 and v2 of each image, on its layer."""
    from records.models import State, Tag

    return [
        Tag(image=image, name=tag, layer=layer, state=State.SUCCESS)
        for image, layer in zip(images, layers, strict=False)
        for tag in ("latest", "v1", "v2")
    ]


def start_gunicorn(port: int, env: dict | None = None, workers: int = 1) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            # As `make run` serves (gthread): keep-alive between the admin and the API.
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    # The first answer imports the whole project: slow on a busy machine.
    if answers(server, f"http://127.0.0.1:{port}/baseline/hello/", 60):
        return server
    server.terminate()
    server.wait()
    raise RuntimeError("gunicorn did not start")


def compare(
    measured: Callable[[], object],
    baseline: Callable[[], object],
    rounds: int,
    warmup: int = 20,
):
    """Median seconds of each, interleaved so machine noise hits both alike."""
    for _ in range(warmup):
        measured()
        baseline()
    measured_times, baseline_times = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        measured()
        measured_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        baseline()
        baseline_times.append(time.perf_counter() - start)
    return statistics.median(measured_times), statistics.median(baseline_times)
