"""schemathesis: generated requests against the OpenAPI schema give no 5xx and match the schema."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
# Authentication has its own matrix (test_api_auth.py), and valid-looking data may rightly be
# refused by registry checks; here: no server errors, and every response as documented.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture
def world(alice, make_image, settings, plain_registry):
    """Some images to find, and a local registry in place of Docker Hub (never the internet)."""
    settings.PUBLIC_REGISTRY_URL = plain_registry.url
    make_image(alice, "app", tags=["latest", "v1"])
    make_image(alice, "public", private=False)
    # Requests go through the WSGI handler, which closes the database connection around each
    # one; the test's transaction lives on that connection, so keep it open (as Django's
    # own test client does).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield alice
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_matches_its_schema_and_never_errors(case, world):
    case.headers = {**(case.headers or {}), "Authorization": world.basic()}
    case.call_and_validate(checks=CHECKS)
