"""schemathesis: generated requests against the OpenAPI schema give no 5xx and match the schema."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def api_schema(alice, make_image, settings_public_registry):
    make_image(alice, "app", tags=["latest", "v1"])
    make_image(alice, "public", private=False)
    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def settings_public_registry(settings, plain_registry):
    """Names without a host are looked up on a local registry, never the internet."""
    settings.PUBLIC_REGISTRY_URL = plain_registry.url


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_matches_its_schema_and_never_errors(case, alice):
    case.call_and_validate(headers={"Authorization": alice.basic()})
