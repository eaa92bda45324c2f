"""Every list the API serves is read through an index, on SQLite and on PostgreSQL.

tests/drivers/plans.py fills a database of its own with 20,000 images (a person's, and 20
teams' of which `member` is in 10), asks the API for each list as `owner` and as `member`,
and prints the plan of every statement the request ran. A full scan of a table that grows
with the catalogue (images, tags, layers, image categories) fails the test; small tables
(people, teams, memberships, registries, categories, the reach counts) may be scanned.

PostgreSQL prices plans by the table's size: at 20,000 rows it rightly prefers reading a few
pages of a filtered list in a row over an index, which it does not at a million. So there,
each statement is also planned with sequential scans priced out (`indexed_plan`): an index
must serve it, and the lists everybody sees must use one even at this size.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.fixtures.builds import ROOT
from tests.fixtures.postgres import _bin, driver_environment

GROWING = r"(api_image|api_tag|api_layer|api_image_categories)\b"
FULL_SCAN = {
    "sqlite": re.compile(r"\bSCAN " + GROWING),
    "postgresql": re.compile(r"Seq Scan on " + GROWING),
}

# The lists PostgreSQL must read through an index even at 20,000 images.
EVERYDAY = [
    f"{who} {label}"
    for who in ("owner", "member")
    for label in (
        "first page",
        "order_by=name",
        "order_by=-name",
        "order_by=last_build_date",
        "order_by=-last_build_date",
        "after a deep name",
        "-built after a deep name",
        "is_private_image=false",
        "is_private_image=true",
        "team",
        "name",
    )
] + [
    "owner tags",
    "owner tags order_by=-name",
    "owner tags state",
    "owner tags order_by=creation",
    "owner tags order_by=-creation",
]


def run_driver(database_url: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "tests.drivers.plans"],
        cwd=ROOT,
        env=driver_environment(database_url),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def sqlite_plans(tmp_path_factory):
    return run_driver(f"sqlite:///{tmp_path_factory.mktemp('plans') / 'plans.sqlite3'}")


@pytest.fixture(scope="module")
def postgres_plans(postgres):
    # A database of its own on the session's server (the scale-out test uses `tutumweb`).
    subprocess.run(
        [_bin("createdb"), "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "tutumweb", "plans"],
        capture_output=True,
        check=True,
    )
    return run_driver(f"postgres://tutumweb@127.0.0.1:{postgres.port}/plans")


@pytest.fixture(params=["sqlite", "postgresql"])
def plans(request):
    return request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_plans")


def statements(found: dict, label: str) -> list[dict]:
    return found["paths"][label]["sql"]


def plan_text(found: dict, label: str) -> str:
    return "\n".join(line for s in statements(found, label) for line in s["plan"])


def test_no_list_reads_a_whole_growing_table(plans):
    plan = "plan" if plans["vendor"] == "sqlite" else "indexed_plan"
    scanned = {}
    for label, path in plans["paths"].items():
        pattern = FULL_SCAN[plans["vendor"]]
        hits = [s["sql"][:200] for s in path["sql"] if any(pattern.search(x) for x in s[plan])]
        if hits:
            scanned[label] = hits
    assert scanned == {}


def test_postgresql_reads_the_everyday_lists_through_an_index_even_when_small(postgres_plans):
    pattern = FULL_SCAN["postgresql"]
    scanned = {
        label: [s["sql"][:200] for s in statements(postgres_plans, label)]
        for label in EVERYDAY
        if any(
            pattern.search(line) for s in statements(postgres_plans, label) for line in s["plan"]
        )
    }
    assert scanned == {}


def test_each_order_reads_its_own_index_within_each_reach(plans):
    for who in ("owner", "member"):
        assert "image_reach_name" in plan_text(plans, f"{who} first page")
        assert "image_reach_name" in plan_text(plans, f"{who} order_by=-name")
        assert "image_reach_name" in plan_text(plans, f"{who} after a deep name")
        assert "image_reach_name" in plan_text(plans, f"{who} before a deep name")
        assert "image_reach_built" in plan_text(plans, f"{who} order_by=last_build_date")
        assert "image_reach_built_desc" in plan_text(plans, f"{who} order_by=-last_build_date")
        # A page from an image on, in build-date order: ranges of the same indexes.
        for label in ("-built after a deep name", "-built before a deep name"):
            assert "image_reach_built_desc" in plan_text(plans, f"{who} {label}"), label
        assert "image_reach_built" in plan_text(plans, f"{who} built after a deep name")
        assert "image_team" in plan_text(plans, f"{who} team")
    assert "image_owner" in plan_text(plans, "owner is_user_image=true")


def test_the_total_of_an_unfiltered_list_is_read_from_the_kept_counts(plans):
    for label in ("owner first page", "member first page", "member is_private_image=false"):
        sql = [s["sql"] for s in statements(plans, label)]
        assert any("api_imagecount" in s for s in sql), sql
        assert not any("COUNT(" in s.upper() and 'api_image"' in s for s in sql), sql


def test_every_list_answers_what_the_plain_visibility_rule_gives(plans):
    for label, path in plans["paths"].items():
        if "expected" in path:
            assert path["total_count"] == path["expected"]["total_count"], label
            assert path["names"] == path["expected"]["names"], label


def test_tag_lists_of_one_image_read_its_range_of_the_tag_index(plans):
    index = "sqlite_autoindex_api_tag_1" if plans["vendor"] == "sqlite" else "unique_tag_per_image"
    for label in (
        "owner tags",
        "owner tags order_by=-name",
        "owner tags after a deep name",
        "owner tags before a deep name",
    ):
        assert index in plan_text(plans, label), plan_text(plans, label)


def test_no_tag_index_is_the_start_of_another(plans):
    # A planner that underrates an image's tags would pick the shorter one and sort them all.
    indexes = plans["tag_indexes"]
    shadowed = {
        name: other
        for name, columns in indexes.items()
        for other, longer in indexes.items()
        if name != other and len(longer) > len(columns) and longer[: len(columns)] == columns
    }
    assert shadowed == {}


def test_tag_lists_in_creation_order_read_the_creation_indexes(plans):
    assert "tag_creation" in plan_text(plans, "owner tags order_by=creation")
    assert "tag_creation_desc" in plan_text(plans, "owner tags order_by=-creation")


def test_the_kept_counts_follow_bulk_updates_moves_and_deletes(plans):
    assert plans["counts"]["kept"] == plans["counts"]["counted"]
    assert plans["counts"]["kept_tags"] == plans["counts"]["counted_tags"]
