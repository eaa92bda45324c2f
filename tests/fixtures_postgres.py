"""A throwaway PostgreSQL server (Debian's `postgresql` package) for the scale-out tests.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user
the package creates; its data directory and socket live in a temporary directory.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from tests.fixtures_registry import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"{name} not found: install Debian's postgresql package (make test)")
    return found[-1]


@dataclass
class PostgresServer:
    root: Path
    port: int
    run_as: list[str]

    @property
    def url(self) -> str:
        return f"postgres://tutumweb@127.0.0.1:{self.port}/tutumweb"

    def stop(self) -> None:
        subprocess.run(
            [
                *self.run_as,
                _bin("pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            check=False,
        )


def start_postgres() -> PostgresServer:
    root = Path(tempfile.mkdtemp(prefix="tutumweb-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = root / "data"

    def run(*args: str) -> None:
        result = subprocess.run([*run_as, *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    run(_bin("initdb"), "-D", str(data), "-U", "tutumweb", "--auth=trust", "-E", "UTF8")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    server = PostgresServer(root, port, run_as)
    deadline = time.monotonic() + 30
    while True:
        created = subprocess.run(
            [_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "tutumweb", "tutumweb"],
            capture_output=True,
            text=True,
            check=False,
        )
        if created.returncode == 0:
            return server
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"createdb failed: {created.stderr}")
        time.sleep(0.3)


@pytest.fixture(scope="session")
def postgres():
    server = start_postgres()
    yield server
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


def driver_environment(database_url: str, **extra: str) -> dict:
    """The environment of a test driver run as a process of its own on `database_url`: the
    test run's secret key (the development key is only accepted with DEBUG on) and data
    directory, and nothing else of the test's environment."""
    return {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "tutumweb.settings",
        "DEBUG": "1",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(settings.DATA_DIR),
        **extra,
    }
