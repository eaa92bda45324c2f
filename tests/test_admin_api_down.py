"""Stop a real API server under the admin: friendly messages and a retry, never a traceback."""

from __future__ import annotations

import pytest
from django.test import Client

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
