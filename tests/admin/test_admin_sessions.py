"""Admin sign-ins against a real multi-worker gunicorn: what the session holds and how it ends."""

from __future__ import annotations

import re
from pathlib import Path

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


@pytest.mark.parametrize("cache_dir", ["", "off"], ids=["shared cache", "no cache"])
def test_signing_out_ends_the_session_in_every_worker(project_process, alice, cache_dir):
    _, url = project_process(workers=2, **({"SESSION_CACHE_DIR": cache_dir} if cache_dir else {}))
    browser = sign_in(url, alice)
    session_id = browser.cookies["sessionid"]
    assert fresh_visits(url, session_id) == [200] * 20

    token = CSRF.search(browser.get(f"{url}/").text).group(1)
    signed_out = browser.post(
        f"{url}/logout/",
        data={"csrfmiddlewaretoken": token},
        headers={"Referer": f"{url}/"},
        allow_redirects=False,
    )

    assert signed_out.status_code == 302
    assert fresh_visits(url, session_id) == [302] * 20


def test_the_session_keeps_the_api_key_encrypted(signed_in, alice, settings):
    from django.contrib.sessions.models import Session

    rows = [repr(session.get_decoded()) for session in Session.objects.all()]
    cache_dir = Path(settings.CACHES["sessions"]["LOCATION"])
    cached = b"".join(path.read_bytes() for path in cache_dir.glob("*.djcache"))

    assert rows and all(alice.key not in row for row in rows)
    assert cached and alice.key.encode() not in cached
    assert signed_in.get("/").status_code == 200


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
