"""/api/docs/: the API's interactive reference, built from the schema and served with its
assets from this server alone (the browser suite checks that it renders without a request
leaving it)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ASSET = re.compile(r'(?:src|href)="([^"]+)"')


def test_the_api_reference_answers_and_references_only_this_servers_assets():
    client = Client()

    page = client.get("/api/docs/")

    assert page.status_code == 200
    assets = ASSET.findall(page.content.decode())
    assert len(assets) >= 5  # favicon, two stylesheets, two scripts of Swagger UI, its start
    for asset in assets:
        assert asset.startswith("/") and not asset.startswith("//"), asset
        assert client.get(asset).status_code == 200, asset


def test_the_api_reference_starts_from_our_schema_with_no_validator_badge():
    script = Client().get("/api/docs/?script=").content.decode()

    assert 'url: "/api/schema/"' in script
    assert '"validatorUrl": null' in script


def test_only_the_api_reference_lets_in_data_images_and_never_inline_code():
    docs = Client().get("/api/docs/")["Content-Security-Policy"]
    sign_in = Client().get("/login/")["Content-Security-Policy"]

    assert "img-src 'self' data:" in docs
    assert "unsafe" not in docs and "script-src" not in docs and "style-src" not in docs
    assert "data:" not in sign_in
