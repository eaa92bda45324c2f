"""Figure: GET /api/v1/image/?limit=25 (and ?name=) against a minimal Django JSON view.

10,000 images with 3 tags each in a SQLite database. The baseline (bench/urls.py) returns the
same page of images with their tag names from plain ORM calls, without authentication, DRF,
filters, categories or build sources. Both are served by the same gunicorn, requests
interleaved, medians compared. Prints the ratios (goal <= 2.0x) and the API's query count.

Then the tutum CLI's habit after `tutum login`: the same list with Basic user:password against
Basic user:apikey (goal <= 1.2x after the first request, which pays PBKDF2 once).

Last, as many images again spread over 50 team namespaces (one in ten public) join the same
database, and the list is asked for by `member`, who is in 20 of the teams and owns nothing,
against the baseline's `?member=` (public, own or their teams' images: the same rows), goal
<= 2.0x. The lines above are measured before, over the database they always had.
Run: .venv/bin/python bench/api_list.py [--images 10000] [--rounds 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402


def query_count(path: str, auth: str) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"Authorization": auth}, SERVER_NAME="localhost")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def against_baseline(session, base, label, api_path, baseline_path, auth, rounds) -> None:
    api_s, baseline_s = harness.compare(
        lambda: session.get(base + api_path, headers={"Authorization": auth}).raise_for_status(),
        lambda: session.get(base + baseline_path).raise_for_status(),
        rounds,
    )
    print(
        f"{label:16} API {api_s * 1000:6.2f} ms  baseline {baseline_s * 1000:6.2f} ms  "
        f"ratio {api_s / baseline_s:4.2f}x (goal <= 2.0x)  "
        f"queries {query_count(api_path, auth)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()

    harness.configure()
    username, password, key = harness.populate(args.images)
    auth = f"ApiKey {username}:{key}"
    name = f"127.0.0.1:5000/bench/app{args.images // 2:05d}"
    port = harness.free_port()
    server = harness.start_gunicorn(port)
    try:
        base = f"http://127.0.0.1:{port}"
        session = requests.Session()
        pairs = {
            "list ?limit=25": ("/api/v1/image/?limit=25", "/baseline/images/"),
            "filter ?name=": (f"/api/v1/image/?name={name}", f"/baseline/images/?name={name}"),
        }
        print(f"{args.images} images x 3 tags, {args.rounds} interleaved rounds, 1 gunicorn worker")
        for label, (api_path, baseline_path) in pairs.items():
            against_baseline(session, base, label, api_path, baseline_path, auth, args.rounds)
        password_auth = harness.basic(username, password)
        key_auth = harness.basic(username, key)
        path = base + "/api/v1/image/?limit=25"
        start = time.perf_counter()
        session.get(path, headers={"Authorization": password_auth}).raise_for_status()
        first = time.perf_counter() - start
        password_s, key_s = harness.compare(
            lambda: session.get(path, headers={"Authorization": password_auth}).raise_for_status(),
            lambda: session.get(path, headers={"Authorization": key_auth}).raise_for_status(),
            args.rounds,
        )
        print(
            f"{'password vs key':16} password {password_s * 1000:6.2f} ms  "
            f"key {key_s * 1000:6.2f} ms  ratio {password_s / key_s:4.2f}x (goal <= 1.2x)  "
            f"first password request {first * 1000:.0f} ms"
        )
        member_id, member, member_key = harness.populate_teams(args.images)
        against_baseline(
            session,
            base,
            "member, 20 teams",
            "/api/v1/image/?limit=25",
            f"/baseline/images/?member={member_id}",
            f"ApiKey {member}:{member_key}",
            args.rounds,
        )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
