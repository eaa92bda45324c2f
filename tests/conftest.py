"""Shared fixtures. Real-server fixtures live in the tests/fixtures/ modules listed here."""

from __future__ import annotations

import pytest
from django.core.cache import caches

pytest_plugins = [
    "tests.fixtures.registry",
    "tests.fixtures.our_registry",
    "tests.fixtures.api",
    "tests.fixtures.admin",
    "tests.fixtures.builds",
    "tests.fixtures.collections",
    "tests.fixtures.metrics",
    "tests.fixtures.postgres",
    "tests.fixtures.mail",
    "tests.fixtures.redis",
    "tests.fixtures.seaweedfs",
    "tests.fixtures.sync_counts",
    "tests.fixtures.instance",
    "tests.fixtures.webhooks",
]


@pytest.fixture(autouse=True)
def forget_password_checks():
    """Remembered password checks (accounts/credentials.py) live in this process: each test
    starts afresh."""
    caches["password-checks"].clear()


@pytest.fixture(autouse=True)
def collections_at_full_priority(settings):
    """Tests run collections inside the test process, beside the live server's and their
    pushers' threads, all sharing one GIL: a thread at a lower CPU priority that holds the GIL
    stalls them all (a run took minutes instead of a second). A collection has a process of
    its own (housekeeping) or a thread of a worker that only waits for it; test_collect_priority
    checks the priority itself."""
    settings.GC_NICENESS = 0
