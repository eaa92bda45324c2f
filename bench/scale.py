"""Figure: the image list's paths as the database grows, each against its baseline at that size.

At every size (10,000 and 100,000 images on SQLite; also 1,000,000 on a throwaway PostgreSQL,
started as the scale-out tests start theirs: tests/fixtures/postgres.py) each path of the API
is measured against one minimal view on the same database (BASELINE below: the first 25
images with their tag names, plain ORM, no count), requests interleaved, medians compared.
Goals: every path <= 2.5x the baseline at every size, and its growth (ratio at the largest
size / ratio at the smallest) <= 1.5x; but these:
- The deep ?offset=90% is a jump: no goal. Tutum's clients reach that page by walking
  (python-tutum's Image.list() asks for offset=k, then k+25, ..., and never follows `next`),
  and the walk has the ordinary goal: each measured request is the next page of one walk
  begun at 90 % of the list (further back if the rounds would reach its end), after ten
  pages walked unmeasured. At 10,000 and 100,000 the whole list is also walked that way
  once, from the first page to the last (pages, seconds; no goal).
- The GET of the --big-tags image lists every tag's URI: <= 0.3x the baseline per 1,000
  tags (its ratio divided by tags / 1,000), with its bytes shown; the same GET with
  ?tags=none (the image without its tag URIs) has the ordinary goal; the 1,000-tag image's
  GET is shown with its bytes and per-1,000 figure, no goal.
- At the largest size, the admin's pages (signed in as bench): its list page against its
  floor (<= 1.3x, as bench/admin_list.py), and the image page of the 1,000-tag and of the
  --big-tags image against the list page (<= 2x each).
At the largest size the slowest query of each path is also shown with its plan.

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
import math
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
# An image's GET carries one URI per tag: held to this much of the baseline per 1,000 tags.
PER_THOUSAND_GOAL = 0.3
# The admin's image page against its list page, however many tags the image has.
ADMIN_PAGE_GOAL = 2.0
# python-tutum's page: the API's default limit, which its Image.list() asks for again.
PAGE = 25
# Pages an offset walk goes through unmeasured before its first measured page.
LEAD_IN = 10
# The whole list walked by offset pages (informational) up to this size: at 1,000,000 it
# would be 22,000 requests.
WHOLE_WALK_UP_TO = 100_000
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


@dataclass(frozen=True)
class Goal:
    """What a line is held to; None: to nothing. `ratio`: at every size it is measured;
    `growth`: its ratio at the largest size / at the smallest. `tags`: the image's tags, when
    the ratio is taken per 1,000 of them (divided by tags / 1,000)."""

    ratio: float | None = RATIO_GOAL
    growth: float | None = GROWTH_GOAL
    tags: int | None = None

    def held(self, ratio: float) -> float:
        return ratio / (self.tags / 1000) if self.tags else ratio


NO_GOAL = Goal(None, None)


def offset_page(offset: int, limit: int = PAGE) -> str:
    # As python-tutum writes it (tests/api/test_client_compat.py): offset, then limit.
    return f"/api/v1/image/?offset={offset}&limit={limit}"


@dataclass
class Walk:
    """python-tutum's Image.list() going through the owner's list: offset=k, k+25, ... Each
    call asks for the next page of one walk, from `start`; `lead_in` first walks the LEAD_IN
    pages before it, unmeasured (the first of them a plain jump), so the first measured page
    continues a walk too. Only full pages are asked for: were the walk to reach the list's
    end (`total` images), it would begin again at `start`, a jump counted in `restarts`."""

    start: int
    total: int
    next_offset: int = 0
    restarts: int = 0

    def lead_in(self, get) -> None:
        for offset in range(max(0, self.start - LEAD_IN * PAGE), self.start, PAGE):
            get(offset_page(offset))
        self.next_offset = self.start

    def next_path(self) -> str:
        if self.next_offset + PAGE > self.total:
            self.next_offset = self.start
            self.restarts += 1
        offset, self.next_offset = self.next_offset, self.next_offset + PAGE
        return offset_page(offset)


@dataclass
class Probe:
    label: str
    api: str
    baseline: str
    auth: str
    goal: Goal = Goal()
    walk: Walk | None = None

    def path(self) -> str:
        """The request to make: `api`, or a walk's next page."""
        return self.walk.next_path() if self.walk else self.api


def probes(population: Population, big_tags: int, rounds: int) -> list[Probe]:
    from django.contrib.auth import get_user_model

    from teams.access import visible_images

    owner = get_user_model().objects.get(pk=population.owner_id)
    visible = visible_images(owner)
    total = visible.count()
    offset = total * 9 // 10
    matches = visible.filter(name__icontains=NEEDLE).count()
    print(f"  the owner sees {total:,} images, {matches} named {NEEDLE}...")
    # The walk's measured pages: as many as measure() may ask for, and slowest_queries' two.
    # From 90 % of the list, or as far before it as they need to fit before the end (at
    # 10,000 images 10 % of the owner's list is 22 pages), so the walk never starts again.
    pages = most_calls(rounds) + 2
    last_full = (total - PAGE) // PAGE * PAGE
    walk = Walk(max(0, min(offset // PAGE * PAGE, last_full - (pages - 1) * PAGE)), total)
    as_owner = f"ApiKey bench:{population.owner_key}"
    found = [
        Probe("first page ?limit=25", "/api/v1/image/?limit=25", BASELINE, as_owner),
        Probe(
            "member of 20 teams ?limit=25",
            "/api/v1/image/?limit=25",
            BASELINE,
            f"ApiKey member:{population.member_key}",
        ),
        Probe(FLOOR_LABEL, API_FLOOR, BASELINE, as_owner, goal=NO_GOAL),
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
            goal=NO_GOAL,
        ),
        # After the jump above, so that a page the walk went through is not what the jump
        # asks for (an API that remembers where offset pages end would make it a walk).
        Probe(
            "offset walk at 90% (python-tutum)",
            offset_page(walk.start),
            BASELINE,
            as_owner,
            walk=walk,
        ),
        Probe(
            "one image",
            f"/api/v1/image/{population.one_image}/",
            BASELINE,
            as_owner,
        ),
    ]
    for name, count in [(THOUSAND, 1000)] + ([(MANY, big_tags)] if big_tags else []):
        # An image's GET lists the URIs of all its tags: the big image's is held per 1,000
        # of them, and without them (?tags=none) as any path; the 1,000-tag image's is shown.
        if name == MANY:
            found += [
                Probe(
                    f"GET {count:,}-tag image",
                    f"/api/v1/image/{name}/",
                    BASELINE,
                    as_owner,
                    Goal(PER_THOUSAND_GOAL, None, tags=count),
                ),
                Probe(
                    f"  ?tags=none ({count:,})",
                    f"/api/v1/image/{name}/?tags=none",
                    BASELINE,
                    as_owner,
                ),
            ]
        else:
            found.append(
                Probe(
                    f"GET {count:,}-tag image (no goal)",
                    f"/api/v1/image/{name}/",
                    BASELINE,
                    as_owner,
                    Goal(None, None, tags=count),
                )
            )
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
    # The response's length, for the lines that show it.
    bytes: int | None = None
    # How a request failed, when one did: its ratio is then NaN, which meets no goal.
    failed: str | None = None

    @property
    def ratio(self) -> float:
        return self.api_s / self.baseline_s


def _rounds(asked: int, pair: float) -> tuple[int, int]:
    """(rounds, warm-ups) of measure(), given a pair of requests took `pair` seconds."""
    rounds = max(7, min(asked, int(BUDGET / pair) if pair else asked))
    return rounds, min(20, rounds // 3)


def measure(measured, baseline, rounds: int) -> Figure:
    """harness.compare, with fewer rounds (and warm-ups) for requests slow enough that
    `rounds` of them would take more than BUDGET seconds."""
    start = time.perf_counter()
    measured()
    baseline()
    rounds, warmup = _rounds(rounds, time.perf_counter() - start)
    api_s, baseline_s = harness.compare(measured, baseline, rounds, warmup=warmup)
    return Figure(api_s, baseline_s, rounds)


def measure_or_failure(measured, baseline, rounds: int) -> Figure:
    """measure(), or how a request of it failed: the admin answers 503 when its API call
    takes longer than its read timeout (TUTUM_API_READ_TIMEOUT), and that is a figure of the
    run, shown as a miss, rather than its end."""
    try:
        return measure(measured, baseline, rounds)
    except requests.HTTPError as error:
        seconds = error.response.elapsed.total_seconds()
        failed = f"HTTP {error.response.status_code} after {seconds:.1f} s"
        return Figure(seconds, math.nan, 0, failed=failed)


def most_calls(rounds: int) -> int:
    """The most times measure() calls `measured` (when a pair is fast): once to time the
    pair, then the warm-ups and rounds."""
    return 1 + sum(_rounds(rounds, 0.0))


def slowest_queries(probe_list: list[Probe]) -> None:
    """Each path's queries in this process (Django's test client): how many, how long, the
    two slowest, and the plan of the slowest (EXPLAIN ANALYZE on PostgreSQL)."""
    from django.db import connection
    from django.test import Client

    print("\nThe API's queries at the largest size (in this process, the second request):")
    for probe in probe_list:
        client = Client(headers={"Authorization": probe.auth}, SERVER_NAME="localhost")
        # A walk's two requests are two pages of it: the second continues the first.
        client.get(probe.path())
        timed: list[tuple[float, str, tuple]] = []

        def timing(execute, sql, params, many, context, timed=timed):
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                timed.append((time.perf_counter() - start, sql, params))

        with connection.execute_wrapper(timing):
            path = probe.path()
            assert client.get(path).status_code == 200, path
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
    goals: dict[str, Goal] = field(default_factory=dict)
    baselines: dict[str, str] = field(default_factory=dict)
    populated: dict[int, float] = field(default_factory=dict)
    # The whole list walked by offset pages, at each size it was: (pages, seconds).
    whole_walks: dict[int, tuple[int, float]] = field(default_factory=dict)

    def add(self, label: str, size: int, figure: Figure, goal: Goal, baseline: str) -> None:
        self.figures.setdefault(label, {})[size] = figure
        self.goals[label] = goal
        self.baselines[label] = baseline


def show(label: str, figure: Figure, goal: Goal, ours="API", theirs="baseline", note="") -> None:
    """A measured line as it is measured; `note`: what it walked, and the like."""
    if figure.failed:
        print(f"  {label:34} {figure.failed}")
        return
    if figure.bytes is not None:
        note += f"  {figure.bytes:,} bytes"
    if goal.tags:
        note += f", {goal.held(figure.ratio):.3f}x per 1,000 tags"
    print(
        f"  {label:34} {ours} {figure.api_s * 1000:8.2f} ms  {theirs} "
        f"{figure.baseline_s * 1000:8.2f} ms  {figure.ratio:6.2f}x  ({figure.rounds} rounds)" + note
    )


def walk_whole_list(get, total: int) -> tuple[int, float]:
    """python-tutum's Image.list() of the owner's whole list: the first page without offset
    or limit, then offset=25, 50, ... while a page has a `next` (it adds meta's limit to
    meta's offset; it never follows `next` itself). Each page's JSON is read, as it reads
    it. Returns (pages, seconds); says so if the pages did not hold the list once."""
    start = time.perf_counter()
    answer = get("/api/v1/image/").json()
    pages, names = 1, [image["name"] for image in answer["objects"]]
    while answer["meta"]["next"]:
        meta = answer["meta"]
        answer = get(offset_page(meta["offset"] + meta["limit"], meta["limit"])).json()
        pages += 1
        names += [image["name"] for image in answer["objects"]]
    seconds = time.perf_counter() - start
    print(
        f"  {'whole list by offset pages':34} {pages:,} pages in {seconds:.1f} s, "
        f"{seconds / pages * 1000:.2f} ms a page (python-tutum's Image.list(); no goal)"
    )
    if len(names) != total or len(set(names)) != total:
        print(
            f"  !! the pages held {len(names):,} images, {len(set(names)):,} different: "
            f"the list has {total:,}"
        )
    return pages, seconds


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

        def get(path: str, auth: str) -> requests.Response:
            response = session.get(api + path, headers={"Authorization": auth})
            response.raise_for_status()
            return response

        probe_list = probes(population, args.big_tags, args.rounds)
        for probe in probe_list:
            note = ""
            if probe.walk:
                probe.walk.lead_in(lambda path, probe=probe: get(path, probe.auth))
            figure = measure_or_failure(
                lambda probe=probe: get(probe.path(), probe.auth),
                lambda probe=probe: session.get(api + probe.baseline).raise_for_status(),
                args.rounds,
            )
            if probe.goal.tags and not figure.failed:
                # Its bytes from a request of its own, after the measured ones.
                figure.bytes = len(get(probe.api, probe.auth).content)
            results.add(probe.label, size, figure, probe.goal, probe.baseline)
            if walk := probe.walk:
                note = (
                    f"  offsets {walk.start:,}..{walk.next_offset - PAGE:,} of {walk.total:,} "
                    f"({walk.start / walk.total:.0%})"
                    + (f", started again {walk.restarts} times" if walk.restarts else "")
                )
            show(probe.label, figure, probe.goal, note=note)
        if size <= WHOLE_WALK_UP_TO:
            # Last, so that no measured path finds the pages it went through remembered.
            walk = next(probe.walk for probe in probe_list if probe.walk)
            as_owner = f"ApiKey bench:{population.owner_key}"
            results.whole_walks[size] = walk_whole_list(
                lambda path: get(path, as_owner), walk.total
            )
        if largest:
            servers.append(harness.start_gunicorn(admin_port, env={"TUTUM_API_URL": api}))
            admin = f"http://127.0.0.1:{admin_port}"
            browser = sign_in(admin, "bench", PASSWORD)
            # (label, page, what it is held against, its name, goal), as bench/admin_list.py.
            pages = [
                ("admin list page vs its floor", "/", "/baseline/floor/", "floor", ADMIN_GOAL),
                (
                    "admin image, 1,000 tags vs list",
                    f"/images/{THOUSAND}/-/",
                    "/",
                    "list ",
                    ADMIN_PAGE_GOAL,
                ),
            ]
            if args.big_tags:
                pages.append(
                    (
                        f"admin image, {args.big_tags:,} tags vs list",
                        f"/images/{MANY}/-/",
                        "/",
                        "list ",
                        ADMIN_PAGE_GOAL,
                    )
                )
            for label, page, against, theirs, ratio in pages:
                figure = measure_or_failure(
                    lambda page=page: browser.get(admin + page).raise_for_status(),
                    lambda against=against: browser.get(admin + against).raise_for_status(),
                    args.rounds,
                )
                goal = Goal(ratio, None)
                results.add(label, size, figure, goal, against)
                show(label, figure, goal, ours="page", theirs=theirs)
            slowest_queries(probe_list)
    finally:
        for server in servers:
            server.terminate()
            server.wait()


def describe(goal: Goal, measured: list[int], last: int) -> str:
    """The goal column: what the verdict checks."""
    if goal.ratio is None:
        return "none"
    if goal.tags:
        return f"<= {goal.ratio}x per 1,000 tags"
    if goal.growth is not None:
        return f"<= {goal.ratio}x, <= {goal.growth}x"
    # The admin's pages, measured at the largest size only.
    return f"<= {goal.ratio}x at {last:,}" if measured == [last] else f"<= {goal.ratio}x"


def verdict(goal: Goal, by_size: dict[int, Figure], growth: float | None) -> str:
    """PASS when the line meets its goal: its ratio (per 1,000 tags, if so held) at every
    size it was measured, and its growth when it has one and two sizes give it."""
    if goal.ratio is None:
        return "-"
    ok = all(goal.held(figure.ratio) <= goal.ratio for figure in by_size.values())
    if goal.growth is not None and growth is not None:
        ok = ok and growth <= goal.growth
    return "PASS" if ok else "MISS"


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
    print(
        "Unless the goal column says otherwise: an image's GET per 1,000 of its tags (its "
        "ratio / (tags / 1,000)), the admin's pages at the largest size against the page "
        "named."
    )
    floor = results.figures.get(FLOOR_LABEL, {}).get(last)
    if floor is not None:
        print(
            f"'/floor': at {last:,}, the path's ratio over the API floor's "
            f"({floor.ratio:.2f}x), the API's own work past signing in and DRF."
        )
    header = f"{'path':34}" + "".join(f"{size:>24,}" for size in sizes)
    print(f"{header}{'growth':>8}{'API x':>8}{'/floor':>8}  {'goal':22} verdict")
    for label, by_size in results.figures.items():
        goal = results.goals[label]
        cells = ""
        for size in sizes:
            figure = by_size.get(size)
            cell = ""
            if figure is not None:
                cell = (
                    f"{figure.ratio:.2f}x {figure.api_s * 1000:.1f}/{figure.baseline_s * 1000:.1f}"
                )
            if figure is not None and figure.failed:
                cell = figure.failed
            cells += f"{cell:>24}"
        measured = [size for size in sizes if size in by_size]
        failed = any(figure.failed for figure in by_size.values())
        growth = None
        trend = f"{'-':>8}{'-':>8}"
        if len(measured) > 1 and not failed:
            growth = by_size[last].ratio / by_size[first].ratio
            api_growth = by_size[last].api_s / by_size[first].api_s
            trend = f"{growth:7.2f}x{api_growth:7.2f}x"
        # Only a path held against the same baseline as the floor is divided by it.
        over = "-"
        if floor is not None and results.baselines[label] == BASELINE and label != FLOOR_LABEL:
            over = "-" if by_size[last].failed else f"{by_size[last].ratio / floor.ratio:.2f}x"
        trend += f"{over:>8}"
        # What the cells do not show: the image's GET per 1,000 tags, and its bytes.
        notes = ""
        if goal.tags and not failed:
            per = ", ".join(f"{goal.held(by_size[size].ratio):.3f}x" for size in measured)
            notes = f"  per 1,000 tags {per}; {by_size[last].bytes:,} bytes"
        print(
            f"{label:34}{cells}{trend}  {describe(goal, measured, last):22} "
            f"{verdict(goal, by_size, growth)}{notes}"
        )
    times = ", ".join(f"{size:,}: {seconds:.1f} s" for size, seconds in results.populated.items())
    print(f"Population: {times}")
    if results.whole_walks:
        walks = ", ".join(
            f"{size:,}: {pages:,} pages in {seconds:.1f} s ({seconds / pages * 1000:.2f} ms a page)"
            for size, (pages, seconds) in results.whole_walks.items()
        )
        print(f"The owner's whole list by offset pages of {PAGE} (python-tutum): {walks}")


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


def run_worker(database: str, script: str = __file__) -> None:
    """`script`'s run_database (this one's unless another bench's) in a process of its own,
    next to a throwaway PostgreSQL if it needs one.

    The server is started here, not in the worker: its fixture imports pytest, and with
    pytest imported the project's settings are the test suite's (MD5 passwords, which the
    gunicorn servers would not accept).
    """
    # The last --database given wins.
    command = [sys.executable, script, *sys.argv[1:], "--database", database]
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


def main_per_database(parser: argparse.ArgumentParser, run_database, script: str = __file__):
    """Add --database (and how run_worker calls `script` back) to a bench's own arguments,
    then run `run_database(database, database_url, args)` on each database asked for, each
    in a process of its own."""
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_database(args.database, args.database_url, args)
        return
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        run_worker(database, script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda raw: [int(size) for size in raw.split(",")],
        help="comma-separated numbers of images (default: see above)",
    )
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--big-tags", type=int, default=100_000)
    main_per_database(parser, run_database)


if __name__ == "__main__":
    main()
