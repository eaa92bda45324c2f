"""Password guessing: sign-ins pause for a username and address after repeated wrong passwords."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.test import Client

from lib import client_address
from records.models import ApiKey
from tests.fixtures.api import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def three_tries(settings):
    settings.AXES_FAILURE_LIMIT = 3


def basic(username: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()


def exchange(username: str, password: str, address: str = "10.0.0.1"):
    return ApiClient(basic(username, password)).get("/api/v1/auth/", REMOTE_ADDR=address)


def registry_token(username: str, secret: str, address: str = "10.0.0.1"):
    query = {"service": settings.REGISTRY_TOKEN_SERVICE}
    return ApiClient(basic(username, secret)).get(
        "/api/v1/registry-token/", query, REMOTE_ADDR=address
    )


def test_wrong_passwords_pause_sign_ins_for_that_username_and_address(alice):
    refused = [exchange("alice", f"guess-{i}").status_code for i in range(2)]
    paused = exchange("alice", "guess-3")
    right_password = exchange("alice", alice.password)

    assert refused == [401, 401]
    assert paused.status_code == 429
    assert right_password.status_code == 429
    assert right_password.json() == {
        "error": "Too many failed sign-ins for 'alice'. Try again in 15 minutes."
    }
    assert 840 < int(right_password.headers["Retry-After"]) <= 900


def test_a_pause_leaves_api_keys_other_addresses_and_other_users_alone(alice, bob):
    for i in range(3):
        exchange("alice", f"guess-{i}")

    assert ApiClient(alice.basic()).get("/api/v1/image/").status_code == 200
    assert exchange("alice", alice.password, address="10.0.0.2").status_code == 200
    assert exchange("bob", bob.password).status_code == 200


def test_sign_ins_resume_after_the_lockout_time(alice):
    for i in range(3):
        exchange("alice", f"guess-{i}")
    assert exchange("alice", alice.password).status_code == 429

    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )

    assert exchange("alice", alice.password).status_code == 200


def test_unknown_usernames_are_counted_like_wrong_passwords(db):
    replies = [exchange("nobody", f"guess-{i}").status_code for i in range(4)]

    assert replies == [401, 401, 429, 429]


def test_docker_login_with_passwords_is_paused_too_but_api_keys_still_work(alice):
    replies = [registry_token("alice", f"guess-{i}").status_code for i in range(3)]
    paused = registry_token("alice", alice.password)

    assert replies == [401, 401, 429]
    assert paused.status_code == 429
    assert "Too many failed sign-ins for 'alice'" in paused.json()["error"]
    assert "Retry-After" in paused.headers
    assert registry_token("alice", alice.key).status_code == 200


def test_djangos_admin_login_says_it_is_paused(make_account):
    make_account("root", staff=True)
    client = Client(REMOTE_ADDR="10.0.0.9")
    for i in range(3):
        client.post("/django-admin/login/", {"username": "root", "password": f"guess-{i}"})

    response = client.post("/django-admin/login/", {"username": "root", "password": "x"})

    assert response.status_code == 429
    assert "Too many failed sign-ins for 'root'" in response.content.decode()


def test_only_our_admin_can_say_whose_sign_in_it_is(alice):
    forged = {"HTTP_X_TUTUMWEB_CLIENT_ADDRESS": "10.9.9.9"}
    foreign_key = signing.dumps("10.9.9.8", key="not-our-secret", salt="tutumweb.client-address")
    for i in range(3):
        address = forged if i % 2 else {"HTTP_X_TUTUMWEB_CLIENT_ADDRESS": foreign_key}
        ApiClient(basic("alice", f"guess-{i}")).get("/api/v1/auth/", **address)

    # Counted against the connection's address whatever the header claimed.
    assert exchange("alice", alice.password, address="127.0.0.1").status_code == 429
    vouched = {"HTTP_X_TUTUMWEB_CLIENT_ADDRESS": client_address.vouch("10.0.0.5")}
    assert (
        ApiClient(basic("alice", alice.password)).get("/api/v1/auth/", **vouched).status_code == 200
    )


def list_images(username: str, secret: str, address: str = "10.0.0.1"):
    """What the tutum CLI sends after `tutum login`: the password, to a resource."""
    return ApiClient(basic(username, secret)).get("/api/v1/image/", REMOTE_ADDR=address)


def test_wrong_passwords_sent_to_a_resource_count_toward_the_pause(alice):
    replies = [list_images("alice", f"guess-{i}").status_code for i in range(3)]

    assert replies == [401, 401, 429]
    assert list_images("alice", alice.password).status_code == 429
    assert exchange("alice", alice.password).status_code == 429


def test_a_remembered_password_check_still_honours_a_pause(alice):
    assert list_images("alice", alice.password).status_code == 200
    for i in range(3):
        list_images("alice", f"guess-{i}")

    assert list_images("alice", alice.password).status_code == 429
    assert list_images("alice", alice.password, address="10.0.0.2").status_code == 200

    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert list_images("alice", alice.password).status_code == 200


@pytest.mark.parametrize("checks_in", ["process", "redis"])
def test_a_changed_password_no_longer_rides_on_the_old_check(alice, checks_in, request):
    if checks_in == "redis":
        redis = request.getfixturevalue("redis_server")
        request.getfixturevalue("on_redis")(redis)
    assert list_images("alice", alice.password).status_code == 200
    if checks_in == "redis":
        assert redis.keys("tutumweb:password-checks:*") != []

    alice.user.set_password("a-brand-new-Passw0rd")
    alice.user.save()

    old = list_images("alice", alice.password)
    assert old.status_code == 401
    assert old.json() == {"error": "Invalid username or password."}
    assert list_images("alice", "a-brand-new-Passw0rd").status_code == 200


def test_a_deactivated_user_is_refused_at_once_despite_a_remembered_check(alice):
    assert list_images("alice", alice.password).status_code == 200

    alice.user.is_active = False
    alice.user.save()

    assert list_images("alice", alice.password).status_code == 401
    assert ApiClient(alice.basic()).get("/api/v1/image/").status_code == 401


def test_api_keys_are_never_counted_as_wrong_passwords(alice):
    for _ in range(5):
        assert exchange("alice", alice.key).status_code == 200
        assert list_images("alice", alice.key).status_code == 200
        assert registry_token("alice", alice.key).status_code == 200

    assert not AccessAttempt.objects.exists()
    assert exchange("alice", alice.password).status_code == 200


def test_a_revoked_key_is_refused_as_a_key_and_not_counted(alice):
    ApiKey.objects.filter(user=alice.user).delete()

    replies = [list_images("alice", alice.key) for _ in range(5)]

    assert {reply.status_code for reply in replies} == {401}
    assert replies[0].json() == {"error": "Invalid username or API key."}
    assert not AccessAttempt.objects.exists()
    assert exchange("alice", alice.password).status_code == 200


def test_a_password_cannot_look_like_an_api_key(alice):
    with pytest.raises(ValidationError, match="looks like an API key"):
        validate_password("0123456789abcdef0123456789abcdef01234567", alice.user)


def through_balancer(username: str, password: str, forwarded_for: str):
    """A sign-in as our load balancer passes it on: from its address, with X-Forwarded-For."""
    return ApiClient(basic(username, password)).get(
        "/api/v1/auth/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR=forwarded_for
    )


def test_behind_a_balancer_failures_count_per_browser_address_not_the_balancers(alice, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    for i in range(3):
        through_balancer("alice", f"guess-{i}", "198.51.100.7")

    assert through_balancer("alice", alice.password, "198.51.100.7").status_code == 429
    assert through_balancer("alice", alice.password, "198.51.100.8").status_code == 200


def test_a_guesser_cannot_pick_a_fresh_address_by_writing_x_forwarded_for(alice, settings):
    settings.TRUSTED_PROXY_HOPS = 1
    # The balancer appends the address it was reached from; what the client wrote is on the left.
    for i in range(3):
        through_balancer("alice", f"guess-{i}", f"203.0.113.{i}, 198.51.100.7")

    assert through_balancer("alice", alice.password, "198.51.100.7").status_code == 429


def test_without_trusted_proxies_x_forwarded_for_is_ignored(alice):
    for i in range(3):
        through_balancer("alice", f"guess-{i}", f"203.0.113.{i}")

    # Every try came from the balancer's own address, which is what was paused.
    assert through_balancer("alice", alice.password, "198.51.100.8").status_code == 429
