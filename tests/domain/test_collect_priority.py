"""A collection runs at a lower CPU priority, in its own thread only, and leaves the thread as it
found it (tests/conftest.py runs the others at full priority)."""

from __future__ import annotations

import os
import threading

import pytest

from lifecycle.collect import collect
from lifecycle.tasks import _in_a_thread_of_its_own

pytestmark = pytest.mark.django_db(transaction=True)


def priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_a_collection_runs_niced_and_the_thread_is_as_it_was_after(garbage, settings):
    settings.GC_NICENESS = 10
    seen = []

    collect("schedule", lambda step, digest: seen.append(priority()) if step == "marked" else None)

    assert seen == [10]
    assert priority() == 0


def test_a_worker_runs_the_collection_in_a_thread_that_ends_with_it(garbage, settings):
    settings.GC_NICENESS = 10
    threads = []

    def work():
        threads.append((threading.get_native_id(), priority()))
        return collect("root").state

    assert _in_a_thread_of_its_own(work) == "done"
    assert threads[0][0] != threading.get_native_id()
    assert priority() == 0
