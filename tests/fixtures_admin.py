"""The web admin against a real API server (pytest-django's live server, real database)."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def api_server(live_server, settings, transactional_db):
    """Point the admin's service module at the live API server."""
    settings.TUTUM_API_URL = live_server.url
    return live_server


@pytest.fixture
def signed_in(api_server, alice) -> Client:
    """A browser-like client signed in to the admin as alice."""
    client = Client()
    response = client.post("/login/", {"username": alice.username, "password": alice.password})
    assert response.status_code == 302, response.content.decode()[:500]
    return client
