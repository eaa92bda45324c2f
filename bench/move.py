"""Figure: how long moving a one-machine installation onto the several-machine layout takes:
`manage.py move_database` from SQLite into an empty PostgreSQL database, and `manage.py
move_storage` from the registry's filesystem storage into an S3 bucket (twice: the second run
finds everything there).

The database: IMAGES images with 3 tags each, each tag on a layer of its own (half the
images a person's, half in 50 teams: harness.populate and populate_teams), in SQLite; the
target a throwaway PostgreSQL server (Debian's, tests/fixtures/postgres.py). The storage: a real
docker-registry (filesystem) holding TAGS tags in 20 repositories, each an OCI image with a
layer of its own (LAYER_MB of random bytes) on a 5 MB base layer they share
(bench/backup.py's), copied into SeaweedFS's S3 gateway on this machine. Each command runs as
its own process, as the operator runs it; the times include starting Django.

Run: .venv/bin/python bench/move.py [--images 10000] [--tags 200] [--layer-mb 1.5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402

DATA_DIR = harness.configure()
from bench.backup import fill, manage  # noqa: E402
from tests.fixtures.postgres import start_postgres  # noqa: E402
from tests.fixtures.registry import start_registry  # noqa: E402
from tests.fixtures.seaweedfs import start_seaweedfs  # noqa: E402


def environment(**extra: str) -> dict:
    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "tutumweb.settings",
        "SECRET_KEY": "bench-only-secret-key",
        "DATA_DIR": str(DATA_DIR),
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def move_the_database(images: int) -> None:
    started = time.monotonic()
    harness.populate(images // 2)
    harness.populate_teams(images - images // 2)
    database = Path(os.environ["DATABASE_URL"].removeprefix("sqlite:///"))
    print(
        f"filled SQLite with {images:,} images in {time.monotonic() - started:.1f} s "
        f"({database.stat().st_size / 1e6:,.1f} MB)"
    )
    server = start_postgres()
    try:
        seconds, said = manage(environment(), "move_database", server.create_database("moved"))
        print(f"\nmove_database into an empty PostgreSQL database: {seconds:.2f} s")
        print(_indent(said))
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


def move_the_storage(work: Path, tags: int, layer_bytes: int) -> None:
    port = harness.free_port()
    registry = start_registry(work / "registry", {"log": {"level": "error"}}, port=port)
    store = start_seaweedfs(work / "seaweedfs")
    try:
        started = time.monotonic()
        fill(f"http://127.0.0.1:{port}", tags, layer_bytes)
        storage = work / "registry" / "storage"
        files = [path for path in storage.rglob("*") if path.is_file()]
        print(
            f"\nfilled the registry with {tags} tags in {time.monotonic() - started:.1f} s: "
            f"{sum(path.stat().st_size for path in files) / 1e6:,.1f} MB in {len(files):,} files"
        )
        registry.stop()
        # The registry's own config names its storage, as REGISTRY_CONFIG does.
        config = {"REGISTRY_CONFIG": str(work / "registry" / "config.yml")}
        url = store.storage_url(rootdirectory="/registry")
        for run in ("move_storage into an empty bucket", "move_storage again"):
            seconds, said = manage(environment(**config), "move_storage", url)
            print(f"\n{run}: {seconds:.2f} s")
            print(_indent(said))
    finally:
        registry.stop()
        store.stop()


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.strip().splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--tags", type=int, default=200)
    parser.add_argument("--layer-mb", type=float, default=1.5)
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tutumweb-bench-move-"))
    try:
        move_the_database(arguments.images)
        move_the_storage(work, arguments.tags, int(arguments.layer_mb * 1_000_000))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(DATA_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
