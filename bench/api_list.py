"""Figure: GET /api/v1/image/?limit=25 (and ?name=) against a minimal Django JSON view.

10,000 images with 3 tags each in a SQLite database. The baseline (bench/urls.py) returns the
same page of images with their tag names from plain ORM calls, without authentication, DRF,
filters, categories or build sources. Both are served by the same gunicorn, requests
interleaved, medians compared. Prints the ratios (goal <= 2.0x) and the API's query count.
Run: .venv/bin/python bench/api_list.py [--images 10000] [--rounds 300]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def populate(count: int) -> tuple[str, str]:
    """Fill the database; returns (username, api key) of the owner."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from api.models import ApiKey, Image, Layer, Registry, State, Tag

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
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
        for i in range(count)
    )
    layers = Layer.objects.bulk_create(
        Layer(
            docker_id=f"{i:064x}",
            author="bench",
            envvars=[{"key": "PATH", "value": "/bin"}],
            labels=[{"key": "a", "value": "b"}],
            ports=[{"port": 80, "protocol": "tcp"}],
            volumes=[{"container_path": "/data"}],
        )
        for i in range(count)
    )
    Tag.objects.bulk_create(
        Tag(image=image, name=tag, layer=layer, state=State.SUCCESS)
        for image, layer in zip(images, layers, strict=True)
        for tag in ("latest", "v1", "v2")
    )
    return "bench", key


def query_count(path: str, auth: str) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"Authorization": auth}, SERVER_NAME="localhost")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def timed(session: requests.Session, url: str, headers: dict) -> float:
    start = time.perf_counter()
    response = session.get(url, headers=headers)
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="tutumweb-bench-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        SECRET_KEY="bench-only-secret-key",
        DATA_DIR=str(data_dir),
        DATABASE_URL=f"sqlite:///{data_dir / 'bench.sqlite3'}",
    )
    username, key = populate(args.images)
    auth = f"ApiKey {username}:{key}"
    name = f"127.0.0.1:5000/bench/app{args.images // 2:05d}"

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        session = requests.Session()
        for _ in range(100):
            try:
                session.get(f"{base}/baseline/hello/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        pairs = {
            "list ?limit=25": ("/api/v1/image/?limit=25", "/baseline/images/"),
            "filter ?name=": (f"/api/v1/image/?name={name}", f"/baseline/images/?name={name}"),
        }
        headers = {"Authorization": auth}
        print(f"{args.images} images x 3 tags, {args.rounds} interleaved rounds, 1 gunicorn worker")
        for label, (api_path, baseline_path) in pairs.items():
            for _ in range(20):  # warm-up
                timed(session, base + api_path, headers)
                timed(session, base + baseline_path, {})
            api_times, baseline_times = [], []
            for _ in range(args.rounds):
                api_times.append(timed(session, base + api_path, headers))
                baseline_times.append(timed(session, base + baseline_path, {}))
            api_ms = statistics.median(api_times) * 1000
            baseline_ms = statistics.median(baseline_times) * 1000
            queries = query_count(api_path, auth)
            print(
                f"{label:16} API {api_ms:6.2f} ms  baseline {baseline_ms:6.2f} ms  "
                f"ratio {api_ms / baseline_ms:4.2f}x (goal <= 2.0x)  queries {queries}"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
