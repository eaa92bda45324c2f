"""Shared fixtures. Real-server fixtures live in the fixtures_* modules listed here."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures_registry",
    "tests.fixtures_our_registry",
    "tests.fixtures_api",
    "tests.fixtures_admin",
    "tests.fixtures_builds",
    "tests.fixtures_postgres",
]
