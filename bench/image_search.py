"""Figure: GET /api/v1/image/?name__icontains= served by the trigram index, against the plain
`name__icontains` filter (a scan) on the same SQLite database.

100,000 images named from 400 made-up words in 100 namespaces, half of them private, owned by
one person. Each search is asked through the API in process (Django's test client), the
baseline with records.name_search.name_contains swapped for the plain filter; requests
interleaved, medians compared. Prints, per search, both times, the ratio and the matches.
Run: .venv/bin/python bench/image_search.py [--images 100000] [--rounds 30]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402


def catalogue(count: int) -> list[str]:
    rng = random.Random(7)
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 8)))
        for _ in range(400)
    ]
    names: set[str] = set()
    while len(names) < count:
        namespace = f"ns{rng.randrange(100):02d}"
        names.add(f"127.0.0.1:5000/{namespace}/{rng.choice(words)}-{rng.choice(words)}")
    return sorted(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    harness.configure()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from records import name_search
    from records.models import ApiKey, Image, Registry

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench")
    _, key = ApiKey.issue(user)
    registry = Registry.objects.create(host="127.0.0.1:5000", name="ours", is_tutum_registry=True)
    names = catalogue(args.images)
    Image.objects.bulk_create(
        (
            Image(name=name, owner=user, registry=registry, is_private_image=n % 2 == 0)
            for n, name in enumerate(names)
        ),
        batch_size=2000,
    )
    client = Client(headers={"Authorization": f"ApiKey bench:{key}"}, SERVER_NAME="localhost")
    one = names[len(names) // 2].split("/")[-1]
    searches = [one, one.split("-")[0], "ns42/", "zzzz", "ab"]

    def search(text: str) -> dict:
        response = client.get("/api/v1/image/", {"name__icontains": text})
        assert response.status_code == 200, response.content
        return response.json()

    indexed = name_search.name_contains

    def plain(queryset, text):
        return queryset.filter(name__icontains=text)

    def with_plain_filter(text: str) -> dict:
        name_search.name_contains = plain
        try:
            return search(text)
        finally:
            name_search.name_contains = indexed

    print(f"{args.images} images, {args.rounds} interleaved rounds, SQLite, in process")
    for text in searches:
        indexed_s, plain_s = harness.compare(
            lambda text=text: search(text), lambda text=text: with_plain_filter(text), args.rounds
        )
        matches = search(text)["meta"]["total_count"]
        assert with_plain_filter(text)["meta"]["total_count"] == matches
        print(
            f"{text!r:20} index {indexed_s * 1000:6.1f} ms  plain {plain_s * 1000:6.1f} ms  "
            f"ratio {indexed_s / plain_s:4.2f}x  matches {matches}"
        )


if __name__ == "__main__":
    main()
