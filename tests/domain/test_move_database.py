"""`manage.py move_database TARGET_DATABASE_URL`: an installation with data on SQLite (people,
API keys, a team with its token, images public, private and the team's, tags and layers, build
settings and builds, audit events, the recycle bin, a cleanup policy) moved into an empty
PostgreSQL database, then served from it by an API of its own (gunicorn): the same answers, the
same credentials, fresh ids for new rows, counters that count, the name search; and what the
move refuses."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import jwt
import psycopg
import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.db.utils import ConnectionDoesNotExist
from django.utils import timezone

from records.models import (
    ApiKey,
    BinEntry,
    Build,
    Image,
    ImageCount,
    Layer,
    Membership,
    Registry,
    Tag,
    TagCount,
    Team,
)
from tests.fixtures.api import Account, ApiClient, record_image
from tests.fixtures.instance import Instance
from tutumweb.moves import MoveError
from tutumweb.moves.database import move_database

# Also what makes pytest-django set the test database up for a run of these tests alone.
pytestmark = pytest.mark.django_db

H = settings.REGISTRY_HOST
ALICE_APP = f"{H}/alice/app"
# What a person, a team member and staff ask the API: lists (with their counts, pages and
# filters), details, and the extensions' lists.
ASKED = {
    "alice": [
        "/api/v1/image/",
        "/api/v1/image/?limit=10&offset=10",
        "/api/v1/image/?name__icontains=bulk-1",
        "/api/v1/image/?is_private_image=false",
        "/api/v1/image/?order_by=-last_build_date&limit=100",
        f"/api/v1/image/{ALICE_APP}/",
        f"/api/v1/image/{ALICE_APP}/tag/",
        f"/api/v1/image/{ALICE_APP}/tag/latest/",
        f"/api/v1/image/{ALICE_APP}/tag/latest/build/",
        f"/api/v1/image/{ALICE_APP}/cleanup-policy/",
        f"/api/v1/image/{H}/alice/web/",
        f"/api/v1/image/{H}/web/site/tag/",
        f"/api/v1/layer/{1:064x}/",
        "/api/v1/registry/",
        "/api/v1/team/",
        "/api/v1/team/web/member/",
        "/api/v1/team/web/token/",
        "/api/v1/audit/",
        "/api/v1/deleted/",
    ],
    "bob": ["/api/v1/image/", f"/api/v1/image/{H}/web/site/"],
    "carol": ["/api/v1/user/", "/api/v1/audit/?limit=100"],
}


@dataclass
class Moved:
    accounts: dict[str, Account]
    team_token: dict
    answers: dict[tuple[str, str], dict]  # (who, path): the JSON the SQLite installation gave
    rows: dict[str, int]  # table: its rows in the source
    highest_ids: dict[str, int]  # table: the highest id copied
    counts: dict[str, list]  # counter table: its rows in the source
    output: str
    warnings: str
    target_url: str
    api: Instance

    def get(self, who: str, path: str) -> requests.Response:
        return requests.get(
            f"{self.api.api_url}{path}",
            headers={"Authorization": self.accounts[who].basic()},
            timeout=30,
        )


def account(username: str, *, staff: bool = False) -> Account:
    password = f"{username}-Secret-Passw0rd"
    user = get_user_model().objects.create_user(username, password=password, is_staff=staff)
    _, key = ApiKey.issue(user)
    return Account(user=user, username=username, password=password, key=key)


def fill_an_installation() -> tuple[dict[str, Account], dict]:
    """What an installation that has been used holds, made as its users make it (through the
    API) where that needs no registry, else as the registry's notifications record it."""
    people = {name: account(name) for name in ("alice", "bob")}
    people["carol"] = account("carol", staff=True)
    alice, bob = people["alice"], people["bob"]
    ours = Registry.objects.create(
        host=H, name="This installation's registry", is_tutum_registry=True, is_ssl=False
    )
    web = Team.objects.create(name="web")
    Membership.objects.create(team=web, user=alice.user, role="Owner")
    Membership.objects.create(team=web, user=bob.user, role="Reader")
    numbers = itertools.count(1)
    app = record_image(ours, alice, "app", tags=("latest", "v1", "old"), numbers=numbers)
    record_image(ours, alice, "public", private=False, numbers=numbers)
    record_image(ours, web, "site", tags=("latest", "v2"), numbers=numbers)
    record_image(ours, bob, "secret", numbers=numbers)
    for number in range(24):
        record_image(ours, alice, f"bulk-{number}", numbers=numbers)
    owner = ApiClient(alice.basic())
    registered = owner.post(
        "/api/v1/image/",
        {
            "name": f"{H}/alice/web",
            "description": "Web front end",
            "build_source": {
                "owner": "acme",
                "repository": "web",
                "build_settings": [{"tag": "latest", "branch": "main", "dockerfile": "/"}],
            },
        },
    )
    assert registered.status_code == 201, registered.content
    token = owner.post("/api/v1/team/web/token/", {"name": "ci", "expires": _in_days(30)})
    assert token.status_code == 201, token.content
    policy = owner.put(
        f"/api/v1/image/{ALICE_APP}/cleanup-policy/",
        {"keep_last": 5},
        content_type="application/json",
    )
    assert policy.status_code == 200, policy.content
    assert owner.post("/api/v1/apikey/", {"label": "laptop"}).status_code == 201
    latest = app.tags.get(name="latest")
    Build.objects.create(
        tag=latest,
        triggered_by=alice.user,
        clone_url="https://github.com/acme/app.git",
        branch="main",
        dockerfile="/",
        state=Build.State.SUCCESS,
        log="STEP 1/1: FROM busybox\n",
        started=timezone.now(),
        finished=timezone.now(),
    )
    old = app.tags.get(name="old")
    BinEntry.objects.create(
        kind=BinEntry.Kind.TAG,
        image=app,
        image_name=app.name,
        namespace="alice",
        owner=alice.user,
        tag_name="old",
        digest=old.digest,
        layer=old.layer,
        deleted_at=timezone.now(),
    )
    old.delete()
    app.refresh_state()
    return people, token.json()


def _in_days(days: int) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


def highest_ids() -> dict[str, int]:
    return {
        model._meta.db_table: model.objects.order_by("-pk").values_list("pk", flat=True)[0]
        for model in (Image, Tag, Layer, ApiKey, Build, BinEntry, Team)
    }


@pytest.fixture(scope="module")
def moved(django_db_setup, django_db_blocker, postgres, tmp_path_factory):
    """The installation filled, asked, moved into PostgreSQL by `manage.py move_database`,
    and an API serving the moved database (its own gunicorn, as on a new machine)."""
    with django_db_blocker.unblock():
        people, token = fill_an_installation()
        answers = {
            (who, path): ApiClient(people[who].basic()).get(path).json()
            for who, paths in ASKED.items()
            for path in paths
        }
        ids = highest_ids()
        rows = {model._meta.db_table: model.objects.count() for model in (Image, Tag, Team)}
        counts = {
            "api_imagecount": sorted(ImageCount.objects.values_list("reach", "images", "changes")),
            "api_tagcount": sorted(TagCount.objects.values_list("image_id", "tags", "changes")),
        }
        source = f"sqlite:///{connection.settings_dict['NAME']}"
        target = postgres.create_database("moved")
        api = Instance(
            tmp_path_factory.mktemp("moved"),
            target,
            H,
            tmp_path_factory.mktemp("moved-logs"),
        )
        try:
            moving = api.manage("move_database", target, DATABASE_URL=source)
            assert moving.returncode == 0, moving.stderr
            api.start_api()
            yield Moved(
                people, token, answers, rows, ids, counts, moving.stdout, moving.stderr, target, api
            )
        finally:
            api.stop()
            # The rows this module made are no other test's.
            call_command("flush", interactive=False, verbosity=0)


def test_the_moved_installation_answers_every_list_count_and_detail_as_before(moved):
    for (who, path), before in moved.answers.items():
        response = moved.get(who, path)
        assert response.status_code == 200, (path, response.text)
        if "order_by=-last_build_date" in path:
            # Each database's own place for no date: SQLite sorts it as the smallest,
            # PostgreSQL as the largest, so images never built move from last to first.
            before["objects"] = never_built_first(before["objects"])
        assert response.json() == before, path


def never_built_first(images: list[dict]) -> list[dict]:
    return [i for i in images if i["last_build_date"] is None] + [
        i for i in images if i["last_build_date"] is not None
    ]


def test_api_keys_and_team_tokens_still_sign_in(moved):
    alice = moved.accounts["alice"]
    signed_in = requests.get(
        f"{moved.api.api_url}/api/v1/auth/", auth=("alice", alice.key), timeout=30
    )
    assert signed_in.status_code == 200
    assert signed_in.json()["objects"][0]["username"] == "alice"
    token = moved.team_token
    grant = moved.api.registry_token(
        token["username"], token["secret"], "repository:web/site:pull,push"
    )
    # Signed by the new API's key; what it grants is what counts here.
    claims = jwt.decode(grant["token"], options={"verify_signature": False})
    assert claims["access"] == [{"type": "repository", "name": "web/site", "actions": ["pull"]}]
    refused = requests.get(
        f"{moved.api.api_url}/api/v1/auth/", auth=("alice", "not-her-key"), timeout=30
    )
    assert refused.status_code == 401


def test_the_counters_are_the_sources_and_equal_a_fresh_count(moved):
    with psycopg.connect(moved.target_url) as target:
        copied = {
            "api_imagecount": target.execute(
                "SELECT reach, images, changes FROM api_imagecount ORDER BY reach"
            ).fetchall(),
            "api_tagcount": target.execute(
                "SELECT image_id, tags, changes FROM api_tagcount ORDER BY image_id"
            ).fetchall(),
        }
        recounted = target.execute(
            "SELECT image_id, COUNT(*) FROM api_tag GROUP BY image_id ORDER BY image_id"
        ).fetchall()

    # The source's counts and changes, not what the triggers counted while copying.
    assert copied == moved.counts
    assert [(key, tags) for key, tags, _ in copied["api_tagcount"] if tags] == recounted
    assert "equal a fresh count of the rows" in moved.output


def test_new_rows_get_fresh_ids_and_the_counters_count_them(moved):
    alice = moved.accounts["alice"]
    before = moved.get("alice", "/api/v1/image/").json()["meta"]["total_count"]

    registered = requests.post(
        f"{moved.api.api_url}/api/v1/image/",
        json={"name": f"{H}/alice/after-the-move"},
        headers={"Authorization": alice.basic()},
        timeout=30,
    )
    key = requests.post(
        f"{moved.api.api_url}/api/v1/apikey/",
        json={"label": "new machine"},
        headers={"Authorization": alice.basic()},
        timeout=30,
    )

    assert registered.status_code == 201, registered.text
    assert key.status_code == 201, key.text
    assert moved.get("alice", "/api/v1/image/").json()["meta"]["total_count"] == before + 1
    with psycopg.connect(moved.target_url) as target:
        (image_id,) = target.execute(
            "SELECT id FROM api_image WHERE name = %s", [f"{H}/alice/after-the-move"]
        ).fetchone()
        (key_id,) = target.execute("SELECT MAX(id) FROM api_apikey").fetchone()
        (event_id,) = target.execute("SELECT MAX(id) FROM api_auditevent").fetchone()
    assert image_id == moved.highest_ids["api_image"] + 1
    assert key_id == moved.highest_ids["api_apikey"] + 1
    assert event_id > 1


def test_the_move_tells_what_it_copied_and_what_it_left_out(moved):
    assert "Moving the database: SQLite " in moved.output
    assert "-> PostgreSQL database moved on 127.0.0.1:" in moved.output
    for table, rows in moved.rows.items():
        assert f"  {table}: {rows:,} row" in moved.output
    assert "  auth_user: 3 rows" in moved.output
    assert "  api_listwalk: a cache of where offset walks ended" in moved.output
    assert "  tutumweb_shared: a cache" in moved.output
    assert "every table holds as many rows as the source" in moved.output
    assert "set past the highest id copied" in moved.output
    # This test run has the database open, as a process left running would.
    assert "-wal exists: a process still has the database open" in moved.warnings


def test_the_name_search_reads_postgresqls_trigram_index(moved):
    found = moved.get("alice", "/api/v1/image/?name__icontains=BULK-2").json()
    assert sorted(image["name"] for image in found["objects"]) == [
        f"{H}/alice/bulk-2",
        *(f"{H}/alice/bulk-2{n}" for n in range(4)),
    ]
    with psycopg.connect(moved.target_url) as target:
        target.execute("SET enable_seqscan = off")
        plan = target.execute(
            "EXPLAIN SELECT id FROM api_image WHERE UPPER(name::text) LIKE UPPER('%bulk-2%')"
        ).fetchall()
    assert "image_name_trigram" in " ".join(row[0] for row in plan)


def test_a_target_holding_rows_is_refused_and_left_as_it_was(moved):
    source = f"sqlite:///{connection.settings_dict['NAME']}"
    with psycopg.connect(moved.target_url) as target:
        (users,) = target.execute("SELECT COUNT(*) FROM auth_user").fetchone()

    again = moved.api.manage("move_database", moved.target_url, DATABASE_URL=source)

    assert again.returncode == 1
    assert "The PostgreSQL database moved on 127.0.0.1:" in again.stderr
    assert "is not empty: " in again.stderr and "auth_user holds 3 rows" in again.stderr
    with psycopg.connect(moved.target_url) as target:
        assert target.execute("SELECT COUNT(*) FROM auth_user").fetchone() == (users,)


# -- what the move refuses, in this process ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_source_that_changes_while_copying_is_refused_and_the_target_left_empty(postgres):
    account("dave")
    target = postgres.create_database("changing")
    written = []

    def a_process_still_writing(copied) -> None:
        if not written:
            written.append(get_user_model().objects.create_user("mallory").pk)

    with pytest.raises(MoveError, match=r"changed while it was copied \(auth_user: \d+ when"):
        move_database(target, progress=a_process_still_writing)

    with psycopg.connect(target) as moved:
        assert moved.execute("SELECT COUNT(*) FROM auth_user").fetchone() == (0,)
        assert moved.execute("SELECT COUNT(*) FROM api_apikey").fetchone() == (0,)
    # Stopped, it moves.
    again = move_database(target)
    users = get_user_model().objects.count()
    assert {table.table: table.rows for table in again.tables}["auth_user"] == users
    for alias in ("move_source", "move_target"):
        with pytest.raises(ConnectionDoesNotExist):
            connections[alias]


def test_a_target_that_is_not_postgresql_is_refused_without_showing_its_password(tmp_path):
    out = io.StringIO()
    with pytest.raises(CommandError, match="must name a PostgreSQL database, not sqlite3"):
        call_command("move_database", f"sqlite:///{tmp_path / 'x.db'}", stdout=out)
    with pytest.raises(CommandError, match="must be a PostgreSQL URL") as refused:
        call_command("move_database", "nosuchdb://root:hunter2@db/x", stdout=out)
    assert "hunter2" not in str(refused.value)
    assert not Path(tmp_path / "x.db").exists()
