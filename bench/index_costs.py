"""Figure: what the scale work's indexes and triggers cost, on disk and on writes.

Fills a SQLite database (bench.harness.populate: N images with 3 tags each), prints the size
of each index and of the search's FTS5 table (SQLite's dbstat), then times what registering
an image and recording a push write to the database (an Image row; a Tag row, its image's
state and build date) one transaction each, as the API does, interleaved with the same
writes after the scale indexes and triggers are dropped from a copy of the database.
Run: .venv/bin/python bench/index_costs.py [--images 100000] [--writes 2000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402

# What issue 17 added to the image and tag tables (it also took one away: the tags' own index
# on their image, which unique_tag_per_image made redundant).
INDEXES = [
    "image_reach_name",
    "image_reach_built",
    "image_reach_built_desc",
    "image_owner",
    "tag_creation",
    "tag_creation_desc",
]
TRIGGERS = [
    "image_count_insert",
    "image_count_delete",
    "image_count_update",
    "tag_count_insert",
    "tag_count_delete",
    "tag_count_update",
    "api_image_name_search_insert",
    "api_image_name_search_update",
    "api_image_name_search_delete",
]


def sizes(cursor) -> dict[str, int]:
    cursor.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")
    return dict(cursor.fetchall())


def writes(count: int, start: int, registry_id: int, owner_id: int) -> tuple[float, float]:
    """Median seconds of a registration and of a push's database writes."""
    from django.db import transaction
    from django.utils import timezone

    from records.models import Image, State, Tag

    register, push = [], []
    for n in range(start, start + count):
        began = time.perf_counter()
        image = Image.objects.create(
            name=f"127.0.0.1:5000/bench/new{n:07d}", owner_id=owner_id, registry_id=registry_id
        )
        register.append(time.perf_counter() - began)
        began = time.perf_counter()
        with transaction.atomic():
            now = timezone.now()
            Tag.objects.update_or_create(
                image=image,
                name="latest",
                defaults={"state": State.SUCCESS, "creation": now, "last_build_date": now},
            )
            image.refresh_state()
        push.append(time.perf_counter() - began)
    return statistics.median(register), statistics.median(push)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--writes", type=int, default=2000)
    args = parser.parse_args()
    data_dir = harness.configure()
    harness.populate(args.images)
    from django.db import connection

    from records.models import Image, Registry

    registry_id = Registry.objects.get().pk
    owner_id = Image.objects.values_list("owner_id", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM")
        found = sizes(cursor)
    total = sum(found.values())
    print(f"{args.images:,} images x 3 tags: database {total / 1e6:.1f} MB")
    for name in [*INDEXES, "api_image", "api_tag"]:
        print(f"  {name:24} {found.get(name, 0) / 1e6:7.2f} MB")
    search = sum(size for name, size in found.items() if name.startswith("api_image_name_search"))
    print(f"  {'name search (FTS5)':24} {search / 1e6:7.2f} MB")

    # A copy without them, written in turn with the real one so noise hits both alike.
    full = Path(connection.settings_dict["NAME"])
    plain = data_dir / "plain.sqlite3"
    connection.close()
    shutil.copy(full, plain)

    def use(path: Path) -> None:
        connection.close()
        connection.settings_dict["NAME"] = str(path)

    use(plain)
    with connection.cursor() as cursor:
        for name in INDEXES:
            cursor.execute(f"DROP INDEX {name}")
        for name in TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    timed: dict[str, list] = {"with": [], "without": []}
    batch = max(args.writes // 10, 1)
    for round_ in range(10):
        for label, path in (("with", full), ("without", plain)):
            use(path)
            timed[label].append(writes(batch, round_ * batch, registry_id, owner_id))
    for label, figures in timed.items():
        register = statistics.median(f[0] for f in figures) * 1000
        push = statistics.median(f[1] for f in figures) * 1000
        print(
            f"  {label:8} the indexes and triggers: register {register:.2f} ms, push {push:.2f} ms"
        )


if __name__ == "__main__":
    main()
