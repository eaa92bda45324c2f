"""Shared fixtures. Real-server fixtures live in the fixtures_* modules listed here."""

from __future__ import annotations

import pytest
from django.core.cache import caches

pytest_plugins = [
    "tests.fixtures_registry",
    "tests.fixtures_our_registry",
    "tests.fixtures_api",
    "tests.fixtures_admin",
    "tests.fixtures_builds",
    "tests.fixtures_postgres",
    "tests.fixtures_mail",
]


@pytest.fixture(autouse=True)
def forget_password_checks():
    """Remembered password checks (api/auth.py) live in this process; each test starts afresh."""
    caches["password-checks"].clear()
