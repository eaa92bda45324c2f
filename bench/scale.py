"""Figure: the image list's paths as the database grows, each against its baseline at that size.

At every size (10,000 and 100,000 images on SQLite; also 1,000,000 on a throwaway PostgreSQL,
started as the scale-out tests start theirs: tests/fixtures/postgres.py) each path of the API
is measured against one minimal view on the same database (BASELINE below: the first 25
images with their tag names, plain ORM, no count), requests interleaved, medians compared.
Goals: every path but the deep offset <= 2.5x the baseline at every size, and its growth
(ratio at the largest size / ratio at the smallest) <= 1.5x. At the largest size the
admin's list page keeps its own goal against its floor (<= 1.3x, as bench/admin_list.py),
and the slowest query of each path is shown with its plan.

The database at N images, filled anew for each size:
- N/2 images of `bench` (the owner every path asks as, unless noted), every other one
  public; N/2 spread evenly over 50 teams acme00..acme49, one in ten public, each team with a
  lead of its own; `member`, who owns nothing, is in 20 of the teams (as
  harness.populate_teams). Each image has tags latest, v1 and v2 on a layer of its own, and a
  last_build_date spread over three years, none for one image in ten.
- The name search finds the same number of images at every size: every (N/2/100)-th image of
  the owner and of the teams is called needle<number> instead of app<number>, so
  `name__icontains=needle` matches 100 of the owner's images and 100 private team images
  they cannot see, at any N (`member` sees the owner's 100, all public, and 40 of theirs).
- bench/thousand-tags with 1,000 tags and bench/many-tags with --big-tags (100,000) tags,
  each tag with a layer of its own (dated, with the steps a push records).
The rows go in through plain INSERTs (executemany on SQLite, COPY on PostgreSQL) into the
real tables, so whatever triggers the schema has fire as they would for the ORM (PostgreSQL's
foreign keys are checked in one query after each table's load rather than row by row); then
ANALYZE (VACUUM ANALYZE on PostgreSQL, so counts can use index-only scans as on a settled
database).

Run: .venv/bin/python bench/scale.py [--database sqlite|postgres|both] [--sizes 10000,100000]
     [--rounds 50] [--big-tags 100000]
Without --sizes: 10,000 and 100,000 on SQLite, and 1,000,000 too on PostgreSQL. A path whose
requests are slow gets fewer rounds (about 30 seconds each), as its line at each size says.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402
from bench.admin_list import sign_in  # noqa: E402
from bench.population import MANY, NEEDLE, PASSWORD, THOUSAND, Population, populate  # noqa: E402

RATIO_GOAL, GROWTH_GOAL, ADMIN_GOAL = 2.5, 1.5, 1.3
# Seconds of measuring a path may take before it gets fewer rounds than asked.
BUDGET = 30
# Every path is held against the same minimal view (bench/api_list.py's, as the issue measured):
# the first 25 images by name with their tag names, plain ORM, no sign-in, and no count,
# which would read the whole table. Its cost does not depend on the size, so a path's growth
# is its own.
BASELINE = "/baseline/images/?count=no"
# The same page served as the API serves: signed in, through DRF. Its ratio to BASELINE is
# what any API request costs before its own work; each path is also shown against it.
API_FLOOR = "/baseline/api-floor/?count=no"
FLOOR_LABEL = "API floor: sign-in + DRF (no goal)"
DEFAULT_SIZES = {"sqlite": [10_000, 100_000], "postgres": [10_000, 100_000, 1_000_000]}


@dataclass
class Probe:
    label: str
    api: str
    baseline: str
    auth: str
    goal: bool = True


def probes(population: Population, big_tags: int) -> list[Probe]:
    from django.contrib.auth import get_user_model

    from teams.access import visible_images

    owner = get_user_model().objects.get(pk=population.owner_id)
    visible = visible_images(owner)
    offset = visible.count() * 9 // 10
    matches = visible.filter(name__icontains=NEEDLE).count()
    print(f"  the owner sees {visible.count():,} images, {matches} named {NEEDLE}...")
    as_owner = f"ApiKey bench:{population.owner_key}"
    found = [
        Probe("first page ?limit=25", "/api/v1/image/?limit=25", BASELINE, as_owner),
        Probe(
            "member of 20 teams ?limit=25",
            "/api/v1/image/?limit=25",
            BASELINE,
            f"ApiKey member:{population.member_key}",
        ),
        Probe(FLOOR_LABEL, API_FLOOR, BASELINE, as_owner, goal=False),
        # Four times the rows: held against the baseline's own page of 100.
        Probe("?limit=100", "/api/v1/image/?limit=100", f"{BASELINE}&limit=100", as_owner),
        Probe(
            "?order_by=-last_build_date",
            "/api/v1/image/?order_by=-last_build_date",
            BASELINE,
            as_owner,
        ),
        Probe(
            f"?name__icontains={NEEDLE}",
            f"/api/v1/image/?name__icontains={NEEDLE}",
            BASELINE,
            as_owner,
        ),
        Probe(
            "?is_private_image=false",
            "/api/v1/image/?is_private_image=false",
            BASELINE,
            as_owner,
        ),
        Probe(
            "deep ?offset=90% (no goal)",
            f"/api/v1/image/?limit=25&offset={offset}",
            BASELINE,
            as_owner,
            goal=False,
        ),
        Probe(
            "one image",
            f"/api/v1/image/{population.one_image}/",
            BASELINE,
            as_owner,
        ),
    ]
    for name, count in [(THOUSAND, 1000)] + ([(MANY, big_tags)] if big_tags else []):
        found += [
            Probe(f"tags of {count:,}-tag image", f"/api/v1/image/{name}/tag/", BASELINE, as_owner),
            Probe(
                f"  ?order_by=-creation ({count:,})",
                f"/api/v1/image/{name}/tag/?order_by=-creation",
                BASELINE,
                as_owner,
            ),
        ]
    return found


@dataclass
class Figure:
    api_s: float
    baseline_s: float
    rounds: int

    @property
    def ratio(self) -> float:
        return self.api_s / self.baseline_s


def measure(measured, baseline, rounds: int) -> Figure:
    """harness.compare, with fewer rounds (and warm-ups) for requests slow enough that
    `rounds` of them would take more than BUDGET seconds."""
    start = time.perf_counter()
    measured()
    baseline()
    pair = time.perf_counter() - start
    rounds = max(7, min(rounds, int(BUDGET / pair)))
    api_s, baseline_s = harness.compare(measured, baseline, rounds, warmup=min(20, rounds // 3))
    return Figure(api_s, baseline_s, rounds)


def slowest_queries(probe_list: list[Probe]) -> None:
    """Each path's queries in this process (Django's test client): how many, how long, the
    two slowest, and the plan of the slowest (EXPLAIN ANALYZE on PostgreSQL)."""
    from django.db import connection
    from django.test import Client

    print("\nThe API's queries at the largest size (in this process, the second request):")
    for probe in probe_list:
        client = Client(headers={"Authorization": probe.auth}, SERVER_NAME="localhost")
        client.get(probe.api)
        timed: list[tuple[float, str, tuple]] = []

        def timing(execute, sql, params, many, context, timed=timed):
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                timed.append((time.perf_counter() - start, sql, params))

        with connection.execute_wrapper(timing):
            assert client.get(probe.api).status_code == 200, probe.api
        total = sum(seconds for seconds, _, _ in timed)
        print(f"  {probe.label.strip()}: {len(timed)} queries, {total * 1000:.1f} ms")
        slowest = sorted(timed, key=lambda query: query[0], reverse=True)
        for seconds, sql, _ in slowest[:2]:
            print(f"    {seconds * 1000:7.2f} ms  {' '.join(sql.split())[:240]}")
        _, sql, params = slowest[0]
        explain = "EXPLAIN ANALYZE " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
        with connection.cursor() as cursor:
            cursor.execute(explain + sql, params)
            plan = [row[0] if len(row) == 1 else row[-1] for row in cursor.fetchall()]
        for line in plan[:14]:
            print(f"               {line}")


@dataclass
class Results:
    sizes: list[int] = field(default_factory=list)
    figures: dict[str, dict[int, Figure]] = field(default_factory=dict)
    goals: dict[str, bool] = field(default_factory=dict)
    baselines: dict[str, str] = field(default_factory=dict)
    populated: dict[int, float] = field(default_factory=dict)


def run_size(size: int, args, results: Results, *, largest: bool) -> None:
    population = populate(size, args.big_tags)
    results.populated[size] = population.seconds
    print(
        f"\n{size:,} images x 3 tags, one image with 1,000 tags"
        + (f" and one with {args.big_tags:,}" if args.big_tags else "")
        + f": populated in {population.seconds:.1f} s ("
        + ", ".join(f"{phase} {seconds:.1f}" for phase, seconds in population.phases.items())
        + ")"
    )
    api_port, admin_port = harness.free_port(), harness.free_port()
    servers = [harness.start_gunicorn(api_port)]
    try:
        api = f"http://127.0.0.1:{api_port}"
        session = requests.Session()
        probe_list = probes(population, args.big_tags)
        for probe in probe_list:
            figure = measure(
                lambda probe=probe: session.get(
                    api + probe.api, headers={"Authorization": probe.auth}
                ).raise_for_status(),
                lambda probe=probe: session.get(api + probe.baseline).raise_for_status(),
                args.rounds,
            )
            results.figures.setdefault(probe.label, {})[size] = figure
            results.goals[probe.label] = probe.goal
            results.baselines[probe.label] = probe.baseline
            print(
                f"  {probe.label:34} API {figure.api_s * 1000:8.2f} ms  baseline "
                f"{figure.baseline_s * 1000:8.2f} ms  {figure.ratio:5.2f}x  "
                f"({figure.rounds} rounds)"
            )
        if largest:
            servers.append(harness.start_gunicorn(admin_port, env={"TUTUM_API_URL": api}))
            admin = f"http://127.0.0.1:{admin_port}"
            browser = sign_in(admin, "bench", PASSWORD)
            figure = measure(
                lambda: browser.get(f"{admin}/").raise_for_status(),
                lambda: browser.get(f"{admin}/baseline/floor/").raise_for_status(),
                args.rounds,
            )
            label = "admin list page vs its floor"
            results.figures[label] = {size: figure}
            print(
                f"  {label:34} page {figure.api_s * 1000:7.2f} ms  floor "
                f"{figure.baseline_s * 1000:8.2f} ms  {figure.ratio:5.2f}x  "
                f"({figure.rounds} rounds)"
            )
            slowest_queries(probe_list)
    finally:
        for server in servers:
            server.terminate()
            server.wait()


def print_table(title: str, results: Results) -> None:
    sizes = results.sizes
    first, last = sizes[0], sizes[-1]
    print(f"\n{title}: ratio to the baseline (API ms / baseline ms, medians)")
    if len(sizes) > 1:
        print(
            f"Goals: <= {RATIO_GOAL}x at every size; growth (ratio at {last:,} / ratio at "
            f"{first:,}) <= {GROWTH_GOAL}x. 'API x': the API's own time at {last:,} / {first:,}."
        )
    else:
        print(f"Goal: <= {RATIO_GOAL}x (growth needs two sizes)")
    floor = results.figures.get(FLOOR_LABEL, {}).get(last)
    if floor is not None:
        print(
            f"'/floor': at {last:,}, the path's ratio over the API floor's "
            f"({floor.ratio:.2f}x), the API's own work past signing in and DRF."
        )
    header = f"{'path':34}" + "".join(f"{size:>24,}" for size in sizes)
    print(f"{header}{'growth':>8}{'API x':>8}{'/floor':>8}  {'goal':18} verdict")
    for label, by_size in results.figures.items():
        cells = ""
        for size in sizes:
            figure = by_size.get(size)
            cell = ""
            if figure is not None:
                cell = (
                    f"{figure.ratio:.2f}x {figure.api_s * 1000:.1f}/{figure.baseline_s * 1000:.1f}"
                )
            cells += f"{cell:>24}"
        if label.startswith("admin"):
            verdict = "PASS" if by_size[last].ratio <= ADMIN_GOAL else "MISS"
            goal = f"<= {ADMIN_GOAL}x at {last:,}"
            print(f"{label:34}{cells}{'-':>8}{'-':>8}{'-':>8}  {goal:18} {verdict}")
            continue
        growth = by_size[last].ratio / by_size[first].ratio
        api_growth = by_size[last].api_s / by_size[first].api_s
        trend = f"{growth:7.2f}x{api_growth:7.2f}x" if len(sizes) > 1 else f"{'-':>8}{'-':>8}"
        # Only a path held against the same baseline as the floor is divided by it.
        over = "-"
        if floor is not None and results.baselines[label] == BASELINE and label != FLOOR_LABEL:
            over = f"{by_size[last].ratio / floor.ratio:.2f}x"
        trend += f"{over:>8}"
        if not results.goals[label]:
            print(f"{label:34}{cells}{trend}  {'none':18} -")
            continue
        ok = all(figure.ratio <= RATIO_GOAL for figure in by_size.values())
        ok = ok and (len(sizes) == 1 or growth <= GROWTH_GOAL)
        goal = f"<= {RATIO_GOAL}x, <= {GROWTH_GOAL}x"
        print(f"{label:34}{cells}{trend}  {goal:18} {'PASS' if ok else 'MISS'}")
    times = ", ".join(f"{size:,}: {seconds:.1f} s" for size, seconds in results.populated.items())
    print(f"Population: {times}")


def run_database(database: str, database_url: str | None, args) -> None:
    """Every size on one database, in this process (Django is set up once, for it)."""
    sizes = sorted(args.sizes or DEFAULT_SIZES[database])
    data_dir = harness.configure(**({"DATABASE_URL": database_url} if database_url else {}))
    # Static files are not collected into the throwaway data directory: WhiteNoise says so
    # in every process (as pyproject.toml silences it for pytest).
    os.environ["PYTHONWARNINGS"] = "ignore:No directory at:UserWarning"
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        start = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"{database}: migrated in {time.perf_counter() - start:.1f} s")
        results = Results(sizes=sizes)
        for size in sizes:
            run_size(size, args, results, largest=size == sizes[-1])
            if size != sizes[-1]:
                # The next size starts from empty tables, ids from 1 (and content types back).
                call_command("flush", interactive=False, verbosity=0)
        print_table("SQLite" if database == "sqlite" else "PostgreSQL", results)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run_worker(database: str) -> None:
    """run_database in a process of its own, next to a throwaway PostgreSQL if it needs one.

    The server is started here, not in the worker: its fixture imports pytest, and with
    pytest imported the project's settings are the test suite's (MD5 passwords, which the
    gunicorn servers would not accept).
    """
    # The last --database given wins.
    command = [sys.executable, __file__, *sys.argv[1:], "--database", database]
    if database == "sqlite":
        subprocess.run([*command, "--worker"], check=True)
        return
    from tests.fixtures.postgres import start_postgres

    server = start_postgres()
    try:
        subprocess.run([*command, "--worker", "--database-url", server.url], check=True)
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--sizes",
        type=lambda raw: [int(size) for size in raw.split(",")],
        help="comma-separated numbers of images (default: see above)",
    )
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--big-tags", type=int, default=100_000)
    # How run_worker calls this script back.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_database(args.database, args.database_url, args)
        return
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        run_worker(database)


if __name__ == "__main__":
    main()
