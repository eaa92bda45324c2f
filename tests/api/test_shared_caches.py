"""The API's caches in a real Redis (REDIS_URL): remembered password checks and rate limits,
shared by every process, and what the API does while Redis is down."""

from __future__ import annotations

import base64

import pytest
import requests

from tests.fixtures.api import ApiClient

pytestmark = pytest.mark.django_db


def basic(username: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()


def list_images(username: str, secret: str):
    """What the tutum CLI sends after `tutum login`: the password, on every call."""
    return ApiClient(basic(username, secret)).get("/api/v1/image/")


def ask_for_reset_email():
    """Rate-limited per address (ACCOUNT_REQUESTS_PER_HOUR), counted before the answer (400
    here: no email is set up)."""
    return ApiClient().post("/api/v1/password-reset/request/", {"email": "a@example.test"})


def test_password_checks_are_remembered_in_redis_without_the_password_or_its_hash(
    alice, on_redis, redis_server
):
    on_redis(redis_server)

    assert list_images("alice", alice.password).status_code == 200

    [key] = redis_server.keys("tutumweb:password-checks:*")
    value = redis_server.client().get(key)
    for secret in (alice.password, alice.user.password, alice.user.password.split("$")[-1]):
        assert secret.encode() not in key.encode() + value
    assert list_images("alice", alice.password).status_code == 200


def test_rate_limits_are_counted_in_redis(on_redis, redis_server, settings):
    on_redis(redis_server)
    settings.ACCOUNT_REQUESTS_PER_HOUR = 2

    answers = [ask_for_reset_email().status_code for _ in range(3)]

    assert answers == [400, 400, 429]
    assert redis_server.keys("tutumweb:rate-limits:*") != []


def test_while_redis_is_down_passwords_are_checked_every_time(alice, on_redis, own_redis):
    on_redis(own_redis)
    assert list_images("alice", alice.password).status_code == 200

    own_redis.stop()

    assert list_images("alice", alice.password).status_code == 200
    assert list_images("alice", "a-wrong-Passw0rd").status_code == 401
    assert ApiClient(alice.basic()).get("/api/v1/image/").status_code == 200


def test_while_redis_is_down_rate_limited_requests_are_refused_not_let_through(on_redis, own_redis):
    on_redis(own_redis)
    own_redis.stop()

    refused = ask_for_reset_email()

    assert refused.status_code == 503
    assert refused.json() == {
        "error": "Requests like this are counted, and counting is not possible right now. "
        "Try again in a minute."
    }
    assert refused.headers["Retry-After"] == "60"


# The server processes write to the test database: no test transaction may hold it.
@pytest.mark.django_db(transaction=True)
def test_two_api_processes_share_password_checks_and_rate_limits(
    project_process, alice, redis_server
):
    redis_server.client().flushdb()
    environment = {"REDIS_URL": redis_server.url, "ACCOUNT_REQUESTS_PER_HOUR": "2"}
    _, first = project_process(**environment)
    _, second = project_process(**environment)
    password = (alice.username, alice.password)

    checks = [requests.get(f"{url}/api/v1/image/", auth=password) for url in (first, second)]
    asks = [
        requests.post(f"{url}/api/v1/password-reset/request/", json={"email": "a@example.test"})
        for url in (first, second, first)
    ]

    assert [check.status_code for check in checks] == [200, 200]
    # The second process found the first one's check: one entry, not one per process.
    assert len(redis_server.keys("tutumweb:password-checks:*")) == 1
    assert [ask.status_code for ask in asks] == [400, 400, 429]
