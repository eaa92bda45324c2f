"""/healthz and /readyz, what a load balancer asks every API and admin process."""

from __future__ import annotations

import http.server
import threading

import pytest
from django.test import Client

from tests.fixtures.ports import free_port


def test_healthz_answers_without_signing_in_and_is_never_cached(db):
    answer = Client().get("/healthz")

    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    assert "no-cache" in answer["Cache-Control"]


@pytest.mark.registry
def test_readyz_is_ready_when_the_database_and_our_registry_answer(db, our_registry):
    answer = Client().get("/readyz")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "checks": {"database": "ok", "registry": "ok"}}


def test_readyz_names_the_part_that_does_not_answer_and_nothing_more(db, settings, caplog):
    settings.REGISTRY_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    answer = Client().get("/readyz")

    assert answer.status_code == 503
    assert answer.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "registry": "unreachable"},
    }
    assert settings.REGISTRY_URL not in answer.content.decode()
    assert "our registry" in caplog.text


def test_readyz_says_failing_when_the_registry_says_its_storage_fails(db, settings):
    # What docker-registry answers on `/` once its storage health check has failed.
    class StorageDown(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StorageDown)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.REGISTRY_URL = f"http://127.0.0.1:{server.server_port}"
    try:
        answer = Client().get("/readyz")
    finally:
        server.shutdown()

    assert answer.status_code == 503
    assert answer.json()["checks"] == {"database": "ok", "registry": "failing"}


def test_readyz_and_healthz_refuse_writes(db):
    assert Client().post("/healthz").status_code == 405
    assert Client().post("/readyz").status_code == 405


@pytest.mark.registry
def test_readyz_checks_redis_too_when_redis_url_is_set(db, our_registry, settings, redis_server):
    settings.REDIS_URL = redis_server.url

    answer = Client().get("/readyz")

    assert answer.status_code == 200
    assert answer.json()["checks"] == {"database": "ok", "registry": "ok", "redis": "ok"}


def test_readyz_names_redis_when_it_does_not_answer(db, settings, own_redis, caplog):
    settings.REDIS_URL = own_redis.url
    own_redis.stop()

    answer = Client().get("/readyz")

    assert answer.status_code == 503
    assert answer.json()["checks"]["redis"] == "unreachable"
    assert "Redis does not answer" in caplog.text


def test_readyz_says_redis_is_failing_when_it_refuses_us_and_never_shows_the_password(
    db, settings, own_redis, caplog
):
    own_redis.client().config_set("requirepass", "the-right-Passw0rd")
    settings.REDIS_URL = own_redis.url.replace("//", "//:a-secret-Passw0rd@")

    answer = Client().get("/readyz")

    assert answer.status_code == 503
    assert answer.json()["checks"]["redis"] == "failing"
    assert "a-secret-Passw0rd" not in answer.content.decode() + caplog.text
    assert "Redis answers with an error" in caplog.text
