"""Several build workers on PostgreSQL: every build runs exactly once, on one worker, and a
tag never runs two builds at once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from itertools import combinations

import pytest

from tests.fixtures.builds import ROOT, start_worker, worker_environment
from tests.fixtures.registry import BUSYBOX

pytestmark = pytest.mark.registry

# The NUL byte: PostgreSQL text cannot store one, and a build printing binary once broke the
# log writes and, with them, the heartbeat (the build was failed as "worker stopped").
DOCKERFILE = (
    'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
    "RUN sleep 1 && echo built > /built.txt && printf 'binary\\000output\\n'\n"
)


def driver(database_url: str, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "tests.drivers.scaleout", *args],
        cwd=ROOT,
        env=worker_environment(database_url),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def wait_for_all(database_url: str, count: int, seconds: float = 180) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        report = driver(database_url, "report")
        finished = [b for b in report["builds"] if b["state"] in ("Success", "Failed")]
        # Redelivered tasks may still be on their way to "skipped": wait for them too.
        tasks_done = all(t["status"] in ("SUCCESSFUL", "FAILED") for t in report["tasks"])
        if len(finished) == count and tasks_done:
            return report
        time.sleep(1)
    raise AssertionError(f"builds did not finish: {report}")


def test_two_workers_on_postgresql_run_each_build_exactly_once(
    postgres, plain_registry, git_server, builds_env, tmp_path
):
    git_server.push("acme", "scale", {"busybox": BUSYBOX, "Dockerfile": DOCKERFILE})
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env=worker_environment(postgres.url),
        capture_output=True,
        text=True,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    driver(postgres.url, "setup", plain_registry.host)
    workers = [start_worker(tmp_path, postgres.url, name=f"worker{n}") for n in (1, 2)]
    try:
        wait_for_all(postgres.url, 6)
        driver(postgres.url, "queue")  # a second round on the same tags
        report = wait_for_all(postgres.url, 12)
    finally:
        for worker in workers:
            worker.stop()

    builds = report["builds"]
    failed = [b for b in builds if b["state"] != "Success"]
    assert not failed, "\n".join(
        f"{b['tag']} {b['state']}: {b['error']}\n{b['log_tail']}" for b in failed
    ) + "".join(worker.output()[-3000:] for worker in workers)
    # Each build ran once: one clone in its log, though two had a second task delivered.
    assert [b["clones"] for b in builds] == [1] * 12
    assert sorted(t["return_value"] for t in report["tasks"]) == ["Success"] * 12 + ["skipped"] * 4
    assert all(len(t["workers"]) == 1 for t in report["tasks"])
    # Both workers took part.
    assert len({b["worker"] for b in builds}) == 2, {b["worker"] for b in builds}
    # A tag never ran two builds at the same time.
    by_tag: dict[str, list[tuple[float, float]]] = {}
    for b in builds:
        by_tag.setdefault(b["tag"], []).append((b["started"], b["finished"]))
    for tag, spans in by_tag.items():
        assert len(spans) == 2
        for (start1, end1), (start2, end2) in combinations(spans, 2):
            assert end1 <= start2 or end2 <= start1, f"{tag} built twice at once: {spans}"
