"""The web admin against a real API server (pytest-django's live server, real database)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.contrib.auth.hashers import make_password
from django.core.cache import caches
from django.db import connection
from django.test import Client

from tests.fixtures_registry import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def api_server(live_server, settings, transactional_db):
    """Point the admin's service module at the live API server."""
    settings.TUTUM_API_URL = live_server.url
    # The API's rate-limit counts live in a cache table that transactional tests' flush
    # leaves alone.
    caches["rate-limits"].clear()
    # The admin keeps each person's registry list a minute; another test's is not this one's.
    caches["default"].clear()
    return live_server


@pytest.fixture
def signed_in(api_server, alice) -> Client:
    """A browser-like client signed in to the admin as alice."""
    client = Client()
    response = client.post("/login/", {"username": alice.username, "password": alice.password})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


@pytest.fixture
def staff_browser(api_server, make_account) -> Client:
    """A browser-like client signed in to the admin as root, a staff member."""
    root = make_account("root", staff=True)
    client = Client()
    response = client.post("/login/", {"username": "root", "password": root.password})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


@pytest.fixture
def project_process(settings, alice):
    """Start this project (API and admin) in its own gunicorn, on the test database.

    `start(workers=1, **environment)` returns (process, url); every process is stopped after
    the test.
    """
    # That process uses the production password hashers, not the suite's fast one.
    alice.user.password = make_password(alice.password, hasher="pbkdf2_sha256")
    alice.user.save()
    started: list[subprocess.Popen] = []

    def start(workers: int = 1, **environment: str) -> tuple[subprocess.Popen, str]:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            # A key of its own (the suite's is the refused development default), encrypting
            # secrets as the suite does.
            "SECRET_KEY": "api-process-secret-key-for-this-test",
            "ENCRYPTION_KEY": settings.ENCRYPTION_KEY or settings.SECRET_KEY,
            "DATA_DIR": str(settings.DATA_DIR),
            "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
            "REGISTRY_HOST": settings.REGISTRY_HOST,
            "INSECURE_REGISTRIES": ",".join(settings.INSECURE_REGISTRIES),
            "OUTBOUND_ALLOW": ",".join(settings.OUTBOUND_ALLOW),
            "TUTUM_API_URL": url,
            **environment,
        }
        command = [sys.executable, "-m", "gunicorn", "tutumweb.wsgi", "--bind", url[7:]]
        command += ["--workers", str(workers), "--threads", "4"]
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        started.append(process)
        deadline = time.monotonic() + 60
        while True:
            try:
                # A cheap page: the schema takes seconds on a cold, busy machine.
                requests.get(f"{url}/login/", timeout=5)
                return process, url
            except requests.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    process.terminate()
                    errors = process.stderr.read().decode()[-2000:]
                    raise RuntimeError(f"the server did not start:\n{errors}") from None
                time.sleep(0.1)

    yield start
    for process in started:
        # SIGTERM lets gunicorn's master stop its workers too; SIGKILL would orphan them.
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
