"""Searching images by part of their name (`?name__icontains=`): what `icontains` finds,
read from a trigram index instead of every image (records/name_search.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from records import name_search
from records.models import Image, Registry
from tests.fixtures.api import ApiClient
from tests.fixtures.builds import ROOT, worker_environment

H = settings.REGISTRY_HOST

# Names no client could register (the reference grammar wants lowercase ASCII), but rows made
# before that rule or in Django's admin may hold them, and the search must not care.
TRICKY_NAMES = [
    "Web-APP",
    "web-app-2",
    "100%_done",
    "100x_done",
    "under_score",
    "underXscore",
    "back\\slash",
    "café",
    "CAFÉ-bar",
    "Ünïcode/数据库",
    'say"hi"',
    "a",
    "ab",
]
SEARCHES = [
    "a", "A", "é", "É", "%", "_", "\\", '"',
    "ab", "AB", "%_", "_s", "数据",
    "app", "APP", "web-app", "0%_", "0x_", "r_s", "k\\s", "caf", "café", "CAFÉ", "数据库",
    "ünï", "ÜNÏ", '"hi"', "zzz",
]  # fmt: skip


def search(api: ApiClient, text: str, extra: str = "") -> dict:
    response = api.get(f"/api/v1/image/?limit=100&name__icontains={quote(text)}{extra}")
    assert response.status_code == 200, response.json()
    return response.json()


def names_found(api: ApiClient, text: str) -> set[str]:
    return {image["name"] for image in search(api, text)["objects"]}


def assert_index_in_step() -> None:
    """FTS5 compares its index with the names in api_image, failing on any difference."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {name_search.TABLE}({name_search.TABLE}, rank) "
            "VALUES ('integrity-check', 1)"
        )


@pytest.fixture
def tricky(alice, our_registry_row) -> None:
    for name in TRICKY_NAMES:
        Image.objects.create(name=name, owner=alice.user, registry=our_registry_row)


@pytest.mark.parametrize("text", SEARCHES)
def test_it_finds_exactly_what_icontains_finds(api, tricky, text):
    expected = set(Image.objects.filter(name__icontains=text).values_list("name", flat=True))

    body = search(api, text)

    assert {image["name"] for image in body["objects"]} == expected
    assert body["meta"]["total_count"] == len(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0%_", {"100%_done"}),
        ("r_s", {"under_score"}),
        ("k\\s", {"back\\slash"}),
        ("APP", {"Web-APP", "web-app-2"}),
        ('"hi"', {'say"hi"'}),
        ("数据库", {"Ünïcode/数据库"}),
    ],
)
def test_percent_underscore_backslash_and_quotes_are_plain_characters(api, tricky, text, expected):
    assert names_found(api, text) == expected


def test_the_search_keeps_to_what_the_viewer_may_see_and_to_the_other_filters(
    api, alice, bob, make_image
):
    make_image(alice, "search-one")
    make_image(alice, "search-two", private=False)
    make_image(bob, "search-secret")
    make_image(bob, "search-open", private=False)
    make_image(bob, "other-open", private=False)

    body = search(api, "SEARCH", "&is_private_image=false&order_by=-name")

    assert [image["name"] for image in body["objects"]] == [
        f"{H}/bob/search-open",
        f"{H}/alice/search-two",
    ]
    assert body["meta"]["total_count"] == 2
    assert names_found(api, "search-") == {
        f"{H}/alice/search-one",
        f"{H}/alice/search-two",
        f"{H}/bob/search-open",
    }


def _plans_of_searches(queries) -> list[str]:
    plans = []
    with connection.cursor() as cursor:
        for query in queries:
            if name_search.TABLE in query["sql"]:
                cursor.execute("EXPLAIN QUERY PLAN " + query["sql"])
                plans.append("\n".join(row[-1] for row in cursor.fetchall()))
    return plans


def test_on_sqlite_the_search_reads_the_trigram_index_and_scans_no_images(api, alice, make_image):
    for n in range(30):
        make_image(alice, f"app{n:02d}", tags=())

    with CaptureQueriesContext(connection) as queries:
        body = search(api, "APP1")

    assert body["meta"]["total_count"] == 10
    plans = _plans_of_searches(queries.captured_queries)
    assert len(plans) == 1, plans  # the page: it holds them all, so nothing else counts
    for plan in plans:
        assert re.search(rf"SCAN {name_search.TABLE} VIRTUAL TABLE INDEX \d+:M", plan), plan
        assert "SEARCH api_image USING INTEGER PRIMARY KEY" in plan, plan
        assert not re.search(r"SCAN api_image\b", plan), plan


def test_one_or_two_characters_are_searched_without_the_index(api, alice, make_image):
    make_image(alice, "xy-app")

    with CaptureQueriesContext(connection) as queries:
        assert names_found(api, "XY") == {f"{H}/alice/xy-app"}

    assert _plans_of_searches(queries.captured_queries) == []


# -- the index keeps up with every way an image comes and goes ------------------------------


def test_a_registered_image_is_found_at_once(api):
    assert api.post("/api/v1/image/", {"name": f"{H}/alice/fresh-search"}).status_code == 201

    assert names_found(api, "fresh-sea") == {f"{H}/alice/fresh-search"}
    assert_index_in_step()


def test_a_renamed_image_is_found_by_its_new_name_only(api, alice, make_image):
    image = make_image(alice, "before-rename")
    image.name = f"{H}/alice/after-rename"
    image.save()
    assert names_found(api, "before-re") == set()
    assert names_found(api, "after-re") == {f"{H}/alice/after-rename"}

    Image.objects.filter(pk=image.pk).update(name=f"{H}/alice/again-renamed")

    assert names_found(api, "after-re") == set()
    assert names_found(api, "again-re") == {f"{H}/alice/again-renamed"}
    assert_index_in_step()


def test_changing_other_fields_leaves_the_index_alone(api, alice, make_image):
    image = make_image(alice, "stays-put")

    image.refresh_state()
    assert api.patch(f"/api/v1/image/{image.name}/", {"description": "new"}).status_code == 200

    assert names_found(api, "stays-p") == {image.name}
    assert_index_in_step()


def test_images_made_in_bulk_are_found(api, alice, our_registry_row):
    Image.objects.bulk_create(
        Image(name=f"{H}/alice/bulk{n}", owner=alice.user, registry=our_registry_row)
        for n in range(5)
    )

    assert names_found(api, "ALICE/BULK") == {f"{H}/alice/bulk{n}" for n in range(5)}
    assert_index_in_step()


def test_a_deleted_image_is_gone_from_the_search_and_back_when_restored(api, alice):
    registry = Registry.objects.create(host="registry.example.com", name="elsewhere")
    name = "registry.example.com/alice/binned-app"
    Image.objects.create(name=name, owner=alice.user, registry=registry)

    assert api.delete(f"/api/v1/image/{name}/").status_code == 204
    assert names_found(api, "binned") == set()
    assert_index_in_step()

    [entry] = api.get("/api/v1/deleted/?kind=image").json()["objects"]
    assert api.post(f"/api/v1/deleted/{entry['id']}/restore/").status_code == 200

    assert names_found(api, "binned") == {name}
    assert_index_in_step()


@pytest.mark.django_db(transaction=True)
def test_the_search_keeps_up_after_a_migration_rebuilds_the_image_table(api, alice, make_image):
    make_image(alice, "before-rebuild")
    # What Django's SQLite schema editor does to alter most columns: copy the table into a
    # new one and drop the old, triggers and all.
    with connection.schema_editor() as editor:
        editor._remake_table(Image)

    call_command("migrate", verbosity=0)
    make_image(alice, "after-rebuild")

    assert names_found(api, "-rebuild") == {
        f"{H}/alice/before-rebuild",
        f"{H}/alice/after-rebuild",
    }
    assert_index_in_step()


# -- PostgreSQL --------------------------------------------------------------------------------


def test_on_postgresql_the_search_reads_the_trigram_index(postgres):
    # A database of its own on the shared throwaway server: other tests migrate `tutumweb`.
    with psycopg.connect(postgres.url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS image_search")
        admin.execute("CREATE DATABASE image_search")
    url = postgres.url.rsplit("/", 1)[0] + "/image_search"
    environment = worker_environment(url)
    for command in (
        ["manage.py", "migrate", "--verbosity", "0"],
        ["-m", "tests.drivers.search"],
    ):
        result = subprocess.run(
            [sys.executable, *command],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["total_count"] == 1
    assert len(report["plans"]) == 1, report  # the page: it holds them all, no count
    for plan in report["plans"]:
        assert "Bitmap Index Scan on image_name_trigram" in plan, plan
        assert "Seq Scan on api_image" not in plan, plan
