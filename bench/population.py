"""The database bench/scale.py measures, filled at N images (its docstring describes it):
plain INSERTs (COPY on PostgreSQL) into the real tables, so their triggers fire."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

from bench import harness

HOST = "127.0.0.1:5000"
TEAMS = 50
NEEDLE = "needle"
NEEDLES = 100
PASSWORD = "bench-password-1"
THOUSAND = f"{HOST}/bench/thousand-tags"
MANY = f"{HOST}/bench/many-tags"
CHUNK = 100_000
EPOCH = datetime(2022, 1, 1, tzinfo=UTC)
THREE_YEARS = 3 * 365 * 24 * 3600


def _chunks(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    rows = iter(rows)
    while chunk := list(islice(rows, size)):
        yield chunk


def load(model, columns: tuple[str, ...], rows: Iterable[tuple], fixed: dict | None = None):
    """Insert `rows` (values of `columns`, already as the database stores them) into `model`'s
    table; every other column gets its value in `fixed` or the field's default, as the ORM
    would give it. Plain INSERTs (COPY on PostgreSQL) into the real table, so its triggers
    fire and its constraints are checked, in transactions of CHUNK rows."""
    from django.db import connection, transaction

    fixed = fixed or {}
    names = [model._meta.get_field(name).column for name in columns]
    constants = []
    for column in model._meta.concrete_fields:
        if column.attname in columns:
            continue
        if column.attname in fixed:
            value = fixed[column.attname]
        elif column.primary_key or column.has_db_default() or column.generated:
            continue  # the database's to fill: an id nobody gives, what it computes
        else:
            value = column.get_default()
        names.append(column.column)
        if column.get_internal_type() == "JSONField":
            # Text the database parses (as SQLite stores it), not PostgreSQL's Jsonb wrapper:
            # COPY would encode that again for every row.
            constants.append(json.dumps(value, cls=column.encoder))
        else:
            constants.append(column.get_db_prep_save(value, connection))
    extra = tuple(constants)
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(name) for name in names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with _foreign_keys_checked_after(cursor, model._meta.db_table):
                for chunk in _chunks(rows, CHUNK):
                    with (
                        transaction.atomic(),
                        cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy,
                    ):
                        for row in chunk:
                            copy.write_row(row + extra)
            return
        marks = ", ".join(["%s"] * len(names))
        sql = f"INSERT INTO {table} ({quoted}) VALUES ({marks})"
        for chunk in _chunks(rows, CHUNK):
            with transaction.atomic():
                cursor.executemany(sql, [row + extra for row in chunk])


@contextmanager
def _foreign_keys_checked_after(cursor, table: str):
    """PostgreSQL checks a foreign key row by row (a query and a row lock each), which made
    most of the time of a COPY; as its manual advises for bulk loads ("Populating a
    Database"), the table's foreign keys are dropped meanwhile and added back, which checks
    every row in one query. Triggers and every other constraint stay as they are."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    keys = cursor.fetchall()
    quoted = f'"{table}"'
    for name, _ in keys:
        cursor.execute(f'ALTER TABLE {quoted} DROP CONSTRAINT "{name}"')
    try:
        yield
    finally:
        for name, definition in keys:
            cursor.execute(f'ALTER TABLE {quoted} ADD CONSTRAINT "{name}" {definition}')


@dataclass
class Population:
    size: int
    owner_id: int
    owner_key: str
    member_id: int
    member_key: str
    one_image: str
    seconds: float
    phases: dict[str, float]


def _image_name(namespace: str, number: int, stride: int) -> str:
    word = NEEDLE if number % stride == 1 else "app"
    return f"{HOST}/{namespace}/{word}{number:07d}"


def populate(size: int, big_tags: int) -> Population:
    """The database described in bench/scale.py, at `size` images (plus the two with many tags)."""
    from django.contrib.auth import get_user_model
    from django.core.management.color import no_style
    from django.db import connection

    from records.models import ApiKey, Image, Layer, Membership, Registry, Role, State, Tag, Team

    start = last = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(phase: str) -> None:
        nonlocal last
        now = time.perf_counter()
        phases[phase] = phases.get(phase, 0) + now - last
        last = now

    users = get_user_model()
    owner = users.objects.create_user("bench", password=PASSWORD)
    _, owner_key = ApiKey.issue(owner)
    member = users.objects.create_user("member")
    _, member_key = ApiKey.issue(member)
    leads = users.objects.bulk_create(users(username=f"lead{t:02d}") for t in range(TEAMS))
    teams = Team.objects.bulk_create(Team(name=f"acme{t:02d}") for t in range(TEAMS))
    Membership.objects.bulk_create(
        Membership(team=team, user=lead, role=Role.OWNER)
        for team, lead in zip(teams, leads, strict=True)
    )
    roles = [Role.READER, Role.WRITER, Role.OWNER]
    chosen = [team for t, team in enumerate(teams) if t % 5 in (1, 3)]
    Membership.objects.bulk_create(
        Membership(team=team, user=member, role=roles[i % 3]) for i, team in enumerate(chosen)
    )
    registry = Registry.objects.create(host=HOST, name="ours", is_tutum_registry=True)
    lap("people")

    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            # A throwaway file: nothing to keep safe from a crash while it fills.
            for pragma in ("synchronous=OFF", "journal_mode=MEMORY", "cache_size=-262144"):
                cursor.execute(f"PRAGMA {pragma}")
        else:
            cursor.execute("SET synchronous_commit = off")

    own = size // 2
    in_teams = size - own
    own_stride, team_stride = max(own // NEEDLES, 2), max(in_teams // NEEDLES, 2)
    adapt = connection.ops.adapt_datetimefield_value

    def built(n: int):
        if n % 10 == 3:
            return None
        # Knuth's multiplicative hash: dates in no order, as builds happen.
        return adapt(EPOCH + timedelta(seconds=n * 2654435761 % THREE_YEARS))

    def images() -> Iterator[tuple]:
        for i in range(own):
            n = i + 1
            name = _image_name("bench", i, own_stride)
            yield n, name, owner.pk, None, f"Benchmark image {n}", i % 2 == 0, built(n)
        for j in range(in_teams):
            n = own + j + 1
            team = teams[j * TEAMS // in_teams]
            name = _image_name(team.name, j, team_stride)
            yield n, name, None, team.pk, f"Benchmark team image {n}", j % 10 != 0, built(n)
        yield size + 1, THOUSAND, owner.pk, None, "1,000 tags", True, built(size + 1)
        if big_tags:
            yield size + 2, MANY, owner.pk, None, f"{big_tags} tags", True, built(size + 2)

    image_columns = ("id", "name", "owner_id", "team_id", "description", "is_private_image")
    load(
        Image,
        (*image_columns, "last_build_date"),
        images(),
        {"registry_id": registry.pk, "state": State.SUCCESS},
    )
    lap("images")
    light = {
        "author": "bench",
        "envvars": [{"key": "PATH", "value": "/bin"}],
        "labels": [{"key": "a", "value": "b"}],
        "ports": [{"port": 80, "protocol": "tcp"}],
        "volumes": [{"container_path": "/data"}],
    }
    load(Layer, ("id", "docker_id"), ((n, f"{n:064x}") for n in range(1, size + 1)), light)
    lap("layers")
    load(
        Tag,
        ("image_id", "name", "layer_id"),
        ((n, name, n) for n in range(1, size + 1) for name in ("latest", "v1", "v2")),
        {"state": State.SUCCESS},
    )
    lap("tags")
    # The two images with many tags: each tag on a layer of its own, dated, as pushed.
    big = [(size + 1, 1000)] + ([(size + 2, big_tags)] if big_tags else [])
    first_layer = size + 1
    pushed_layer = {**light, **harness._pushed_layer()}
    pushed_tag = harness._pushed_tag(0)
    for image_id, count in big:

        def layers(first=first_layer, count=count) -> Iterator[tuple]:
            for k in range(count):
                created = EPOCH + timedelta(minutes=k * 7919 % count)
                yield first + k, f"{first + k:064x}", adapt(created)

        load(Layer, ("id", "docker_id", "creation"), layers(), pushed_layer)

        def tags(image_id=image_id, first=first_layer, count=count) -> Iterator[tuple]:
            # A tag keeps its layer's creation (Tag.creation), as a push copies it.
            for k in range(count):
                created = adapt(EPOCH + timedelta(minutes=k * 7919 % count))
                yield image_id, f"v{k:06d}", first + k, f"sha256:{first + k:064x}", created

        load(
            Tag,
            ("image_id", "name", "layer_id", "digest", "creation"),
            tags(),
            {"state": State.SUCCESS}
            | {key: pushed_tag[key] for key in ("size", "platforms", "pushed_by", "pushed_at")},
        )
        first_layer += count
    lap("many-tag images")

    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("ANALYZE")
        else:
            # Explicit ids leave the identity sequences behind.
            for statement in connection.ops.sequence_reset_sql(no_style(), [Image, Layer]):
                cursor.execute(statement)
            for model in (Image, Layer, Tag, Membership):
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
            cursor.execute("ANALYZE")
    lap("analyze")
    return Population(
        size=size,
        owner_id=owner.pk,
        owner_key=owner_key,
        member_id=member.pk,
        member_key=member_key,
        one_image=_image_name("bench", own // 2, own_stride),
        seconds=time.perf_counter() - start,
        phases=phases,
    )
