"""Driven by test_several_nodes.py on one of the cluster's nodes (its environment: its
PostgreSQL, S3 storage and Redis): what the cluster does by itself, done now."""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta

import django


def collect() -> dict:
    """Today's garbage collection, at once: the registry's 60 s of leeway past a push token's
    expiry is shortened to 1 s here (the test's registries never see an expired token used),
    and it waits until the test's pushes' tokens have expired."""
    from django.forms.models import model_to_dict

    from lifecycle.collect import collect as run_collection
    from registry import writers

    writers.REGISTRY_LEEWAY = timedelta(seconds=1)
    writers.CLOCK_SKEW = timedelta(0)
    deadline = time.monotonic() + 60
    while writers.being_written() and time.monotonic() < deadline:
        time.sleep(0.2)
    collected = run_collection("test")
    return model_to_dict(collected, exclude=["started", "finished"])


if __name__ == "__main__":
    django.setup()
    command, *args = sys.argv[1:]
    print(json.dumps({"collect": collect}[command](*args)))
