"""Stop a real API server under the admin: friendly messages and a retry, never a traceback."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.fixtures.ports import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api_process(project_process, settings):
    """The API in its own gunicorn process, on the test database."""
    process, url = project_process()
    settings.TUTUM_API_URL = url
    return process


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

    # Refused: htmx ignores a 403, so it is told to reload the page; no row was added.
    assert refused.headers["HX-Refresh"] == "true"
    assert "settings-TOTAL_FORMS" not in refused.content.decode()
    assert accepted.status_code == 200
    assert 'name="settings-TOTAL_FORMS" value="1"' in accepted.content.decode()


@pytest.fixture
def hung_api(signed_in, settings):
    """Swap the live API for one that accepts connections and never answers (alive but
    hung), after signing in; the admin waits TUTUM_API_READ_TIMEOUT for it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    settings.TUTUM_API_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings.TUTUM_API_READ_TIMEOUT = 1
    yield signed_in
    listener.close()


def timed(call) -> tuple[object, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_a_hung_api_gets_the_friendly_page_within_the_read_timeout_and_says_what_happened(
    hung_api, alice
):
    new_image = {
        "name": f"{django_settings.REGISTRY_HOST}/alice/app",
        "autotests": "OFF",
        "settings-TOTAL_FORMS": "0",
        "settings-INITIAL_FORMS": "0",
    }

    page, page_took = timed(lambda: hung_api.get("/?q=web"))
    partial, partial_took = timed(lambda: hung_api.get("/?q=web", headers={"HX-Request": "true"}))
    form, form_took = timed(lambda: hung_api.post("/images/new/", new_image))
    login, login_took = timed(
        lambda: Client().post("/login/", {"username": "alice", "password": alice.password})
    )

    # One wait of the read timeout each, never a retry of a read that timed out.
    waits = {"page": page_took, "htmx": partial_took, "form": form_took, "login": login_took}
    assert all(took < 1 + 1 for took in waits.values()), waits
    assert page.status_code == 503
    assert "took too long to answer" in page.content.decode()
    assert "Nothing was changed." in page.content.decode()
    assert partial.status_code == 200 and "Try again" in partial.content.decode()
    assert form.status_code == 503
    assert "did not answer in time" in form.content.decode()
    assert "Your change may have been saved." in form.content.decode()
    assert "Nothing was changed" not in form.content.decode()
    assert "did not answer in time. Please try again in a moment." in login.content.decode()


@pytest.mark.parametrize("path", ["/forgot-password/", "/invite/some-token/", "/signup/"])
def test_the_pages_for_people_not_signed_in_survive_an_unreachable_api(settings, path):
    settings.TUTUM_API_URL = f"http://127.0.0.1:{free_port()}"

    response = Client().get(path)

    assert response.status_code in (404, 503)
    if path != "/signup/":  # (sign-up's "is it open?" reads an unreachable API as "no")
        assert response.status_code == 503
        assert "We can't reach the image service" in response.content.decode()


def test_a_registry_our_api_cannot_reach_is_named_not_the_image_service(signed_in, settings):
    # An image name without a registry host is looked up on Docker Hub, which is down here.
    settings.PUBLIC_REGISTRY_URL = f"http://127.0.0.1:{free_port()}"

    page = signed_in.get("/images/busybox/-/")
    partial = signed_in.get("/images/busybox/-/", headers={"HX-Request": "true"})

    assert page.status_code == 502
    assert "The image service can't reach something it needs" in page.content.decode()
    assert "could not reach registry docker.io" in page.content.decode()
    assert "We can't reach the image service" not in page.content.decode()
    assert partial.status_code == 200
    assert "could not reach registry docker.io" in partial.content.decode()
    assert "Try again" in partial.content.decode()
    for response in (page, partial):
        assert "Traceback" not in response.content.decode()


def test_a_proxy_saying_the_api_is_down_is_still_the_image_service(signed_in, settings):
    """A 502 without the API's own sentence comes from in front of it: the API is down."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    settings.TUTUM_API_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"

    def bad_gateway():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 11\r\n"
                b"Connection: close\r\n\r\nBad Gateway"
            )

    server = threading.Thread(target=bad_gateway, daemon=True)
    server.start()
    page = signed_in.get("/?q=web")
    server.join(timeout=5)
    listener.close()

    assert page.status_code == 503
    assert "We can't reach the image service" in page.content.decode()
    assert "The image service had a problem" in page.content.decode()
