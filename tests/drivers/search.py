"""Driven by test_image_search.py in a separate process on a migrated PostgreSQL database (the
test process itself runs on SQLite): search the image list and report the plans of its SQL."""

from __future__ import annotations

import json
import random

import django

IMAGES = 20_000


def catalogue() -> list[str]:
    """Names varied like a real catalogue's, made of 400 made-up words: trigrams shared by
    every name (`app0`) would rightly make the planner read the table instead."""
    rng = random.Random(7)
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 8)))
        for _ in range(400)
    ]
    names: set[str] = set()
    while len(names) < IMAGES:
        names.add(f"127.0.0.1:5000/searcher/{rng.choice(words)}-{rng.choice(words)}-{len(names)}")
    return sorted(names)


def main() -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from records.models import ApiKey, Image, Registry

    user = get_user_model().objects.create_user("searcher")
    _, key = ApiKey.issue(user)
    registry = Registry.objects.create(host="127.0.0.1:5000", name="ours", is_tutum_registry=True)
    names = catalogue()
    Image.objects.bulk_create(
        (Image(name=name, owner=user, registry=registry) for name in names), batch_size=5000
    )
    # One image's words, as someone who half remembers a name would type them.
    wanted = names[IMAGES // 2].split("/")[-1].rsplit("-", 1)[0].upper()
    # Enough rows, and their statistics, that the planner picks the index on its own, as it
    # would on a real catalogue (not enable_seqscan=off, which would prove only that it can).
    # VACUUM moves the new rows from GIN's pending list into the index proper, autovacuum's
    # job on a live server: until then the planner rightly costs reading that whole list.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE api_image")

    client = Client(headers={"Authorization": f"ApiKey searcher:{key}"}, SERVER_NAME="localhost")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/image/?name__icontains={wanted}")
    assert response.status_code == 200, response.content
    plans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            if "LIKE UPPER(" in query["sql"]:
                cursor.execute("EXPLAIN " + query["sql"])
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return {"total_count": response.json()["meta"]["total_count"], "plans": plans}


if __name__ == "__main__":
    django.setup()
    print(json.dumps(main()))
