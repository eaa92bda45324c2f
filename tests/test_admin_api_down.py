"""Stop a real API server under the admin: friendly messages and a retry, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test import Client

from tests.fixtures_registry import free_port

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def api_process(settings, alice):
    """The API in its own gunicorn process, on the test database."""
    # That process uses the production password hashers, not the suite's fast one.
    alice.user.password = make_password(alice.password, hasher="pbkdf2_sha256")
    alice.user.save()
    port = free_port()
    env = {
        **os.environ,
        # A key of its own (the suite's is the refused development default), encrypting
        # secrets as the suite does.
        "SECRET_KEY": "api-process-secret-key-for-this-test",
        "ENCRYPTION_KEY": settings.ENCRYPTION_KEY or settings.SECRET_KEY,
        "DATA_DIR": str(settings.DATA_DIR),
        "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
        "REGISTRY_HOST": settings.REGISTRY_HOST,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tutumweb.wsgi", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{url}/api/schema/", timeout=1)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.terminate()
                errors = process.stderr.read().decode()[-2000:]
                raise RuntimeError(f"the API server did not start:\n{errors}") from None
            time.sleep(0.1)
    settings.TUTUM_API_URL = url
    yield process
    # SIGTERM lets gunicorn's master stop its worker too; SIGKILL would orphan it.
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_the_admin_survives_the_api_stopping(api_process, alice, make_image):
    make_image(alice, "web", description="Still here")
    client = Client()
    client.post("/login/", {"username": "alice", "password": alice.password})
    assert "Still here" in client.get("/").content.decode()

    api_process.terminate()
    api_process.wait()
    page = client.get("/?q=web")
    partial = client.get("/?q=web", headers={"HX-Request": "true"})
    login = client.post("/login/", {"username": "alice", "password": alice.password})

    assert page.status_code == 503
    assert "We can't reach the image service" in page.content.decode()
    assert 'href="/?q=web"' in page.content.decode()
    assert partial.status_code == 200 and "Try again" in partial.content.decode()
    assert "cannot be reached right now" in login.content.decode()
    for response in (page, partial, login):
        assert "Traceback" not in response.content.decode()


def test_htmx_posts_need_the_csrf_header(signed_in, alice):
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = signed_in.cookies
    form = {"autotests": "OFF", "settings-TOTAL_FORMS": "0", "settings-INITIAL_FORMS": "0"}

    refused = strict.post("/images/new/", {**form, "add_row": "1"}, headers={"HX-Request": "true"})
    token = signed_in.get("/images/new/").context["csrf_token"]
    strict.cookies = signed_in.cookies
    accepted = strict.post(
        "/images/new/",
        {**form, "add_row": "1"},
        headers={"HX-Request": "true", "X-CSRFToken": str(token)},
    )

    assert refused.status_code == 403
    assert accepted.status_code == 200
    assert 'name="settings-TOTAL_FORMS" value="1"' in accepted.content.decode()
