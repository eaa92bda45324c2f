"""Admin sign-ins against a real multi-worker gunicorn: what the session holds and how it ends."""

from __future__ import annotations

import re

import pytest
import requests
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def sign_in(url: str, alice) -> requests.Session:
    browser = requests.Session()
    token = CSRF.search(browser.get(f"{url}/login/").text).group(1)
    response = browser.post(
        f"{url}/login/",
        data={"csrfmiddlewaretoken": token, "username": "alice", "password": alice.password},
        headers={"Referer": f"{url}/login/"},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:1000]
    return browser


def fresh_visits(url: str, session_id: str, count: int = 20) -> list[int]:
    # A new connection per request: the kernel hands them to both workers.
    cookies = {"sessionid": session_id}
    return [
        requests.get(f"{url}/", cookies=cookies, allow_redirects=False).status_code
        for _ in range(count)
    ]


def sign_out(url: str, browser: requests.Session) -> None:
    token = CSRF.search(browser.get(f"{url}/").text).group(1)
    signed_out = browser.post(
        f"{url}/logout/",
        data={"csrfmiddlewaretoken": token},
        headers={"Referer": f"{url}/"},
        allow_redirects=False,
    )
    assert signed_out.status_code == 302


def shown_signed_in(url: str, session_id: str) -> bool:
    """Whether the sign-in page, which reads the session and nothing else (no API call that a
    revoked key would fail), says who is signed in."""
    page = requests.get(f"{url}/login/", cookies={"sessionid": session_id})
    assert page.status_code == 200
    return "Signed in as" in page.text


@pytest.mark.parametrize("sessions", ["database", "redis"])
def test_signing_out_ends_the_session_in_every_worker(project_process, alice, sessions, request):
    environment = {}
    if sessions == "redis":
        environment["REDIS_URL"] = request.getfixturevalue("redis_server").url
    _, url = project_process(workers=2, **environment)
    browser = sign_in(url, alice)
    session_id = browser.cookies["sessionid"]
    assert fresh_visits(url, session_id) == [200] * 20

    sign_out(url, browser)

    assert fresh_visits(url, session_id) == [302] * 20


def test_signing_out_through_one_admin_process_ends_the_session_in_another(
    project_process, alice, redis_server
):
    redis_server.client().flushdb()
    _, first = project_process(REDIS_URL=redis_server.url)
    _, second = project_process(REDIS_URL=redis_server.url)
    browser = sign_in(first, alice)
    session_id = browser.cookies["sessionid"]
    # The second process has read the session now: a cache of its own would keep serving it.
    assert shown_signed_in(second, session_id)
    assert redis_server.keys(f"tutumweb:sessions:*{session_id}") != []

    sign_out(first, browser)

    assert not shown_signed_in(second, session_id)
    assert redis_server.keys(f"tutumweb:sessions:*{session_id}") == []


def admin_on_redis(on_redis, server, alice) -> Client:
    """A browser signed in to this process's admin with its sessions in `server`."""
    on_redis(server)
    browser = Client()
    response = browser.post("/login/", {"username": "alice", "password": alice.password})
    assert response.status_code == 302, response.content.decode()[:500]
    return browser


def test_a_redis_restart_signs_nobody_out(api_server, alice, on_redis, own_redis):
    browser = admin_on_redis(on_redis, own_redis, alice)
    session_id = browser.cookies["sessionid"].value

    own_redis.stop()
    own_redis.start()  # empty

    assert own_redis.keys() == []
    assert browser.get("/").status_code == 200
    # Read from the database, and cached again.
    assert own_redis.keys(f"tutumweb:sessions:*{session_id}") != []


def test_while_redis_is_down_pages_go_on_and_signing_out_ends_the_session(
    api_server, alice, on_redis, own_redis
):
    browser = admin_on_redis(on_redis, own_redis, alice)
    assert browser.get("/").status_code == 200

    own_redis.stop()
    pages = [browser.get("/") for _ in range(3)]
    signed_out = browser.post("/logout/")
    after = browser.get("/")

    assert [page.status_code for page in pages] == [200, 200, 200]
    assert "Signed in as" in pages[-1].content.decode()
    assert signed_out.status_code == 302
    assert after.status_code == 302 and after.url.startswith("/login/")


def test_the_session_keeps_the_api_key_encrypted(api_server, alice, on_redis, redis_server):
    from django.contrib.sessions.models import Session

    browser = admin_on_redis(on_redis, redis_server, alice)
    rows = [repr(session.get_decoded()) for session in Session.objects.all()]
    client = redis_server.client()
    cached = b"".join(client.get(key) for key in redis_server.keys("tutumweb:sessions:*"))

    assert rows and all(alice.key not in row for row in rows)
    assert cached and alice.key.encode() not in cached
    assert browser.get("/").status_code == 200


def test_a_session_from_before_encryption_asks_to_sign_in_again(signed_in, alice):
    session = signed_in.session
    session["tutum_api"] = {"username": "alice", "key": alice.key}
    session.save()

    response = signed_in.get("/")

    assert response.status_code == 302
    assert response.url == "/login/?next=%2F"


def test_a_visitor_who_never_signs_in_keeps_a_session_for_a_day_only(api_server, alice):
    from django.conf import settings

    client = Client()
    client.get("/login/")
    visitor_age = client.session.get_expiry_age()
    client.post("/login/", {"username": "alice", "password": alice.password})

    assert visitor_age == 24 * 3600
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    client.get("/login/")
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
