"""schemathesis: generated requests against the OpenAPI schema give no 5xx and match the schema."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
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
    return alice


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_matches_its_schema_and_never_errors(case, world):
    case.headers = {**(case.headers or {}), "Authorization": world.basic()}
    case.call_and_validate(checks=CHECKS)
