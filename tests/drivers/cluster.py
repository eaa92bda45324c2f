"""Driven by test_several_nodes.py on one of the cluster's nodes (its environment: its
PostgreSQL, S3 storage and Redis): what the cluster does by itself, done now."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import timedelta

import django


def collect() -> dict:
    """Today's garbage collection, at once: the registry's 60 s of leeway past a push token's
    expiry is shortened to 1 s here (the test's registries never see an expired token used)."""
    from lifecycle.collect import collect as run_collection
    from registry import maintenance

    maintenance.REGISTRY_LEEWAY = timedelta(seconds=1)
    collected = run_collection()
    return {**dataclasses.asdict(collected), "bytes_freed": collected.bytes_freed}


if __name__ == "__main__":
    django.setup()
    command, *args = sys.argv[1:]
    print(json.dumps({"collect": collect}[command](*args)))
