"""Driven by test_query_plans.py in a process of its own, on the database DATABASE_URL names
(SQLite or PostgreSQL): fill it with a catalogue, ask the API for each list, and print each
SQL statement it ran with the database's plan for it, as JSON.

Run: DATABASE_URL=... python -m tests.drivers.plans
"""

from __future__ import annotations

import json
import sys

import django

IMAGES = 20_000
TEAMS = 20
TAGS = 3
BIG = 3_000  # tags of one image


def populate() -> dict:
    """IMAGES images over a person (half public) and TEAMS teams (one in ten public), with
    TAGS tags each, one image with BIG tags; `member` is in half the teams and owns 10."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from records.models import (
        ApiKey,
        Category,
        Image,
        Layer,
        Membership,
        Registry,
        Role,
        State,
        Tag,
        Team,
    )

    users = get_user_model()
    owner = users.objects.create_user("owner")
    member = users.objects.create_user("member")
    _, owner_key = ApiKey.issue(owner)
    _, member_key = ApiKey.issue(member)
    teams = Team.objects.bulk_create(Team(name=f"team{t:02d}") for t in range(TEAMS))
    Membership.objects.bulk_create(
        Membership(team=team, user=member, role=Role.WRITER) for team in teams[::2]
    )
    registry = Registry.objects.create(host="127.0.0.1:5000", name="ours", is_tutum_registry=True)
    now = timezone.now()

    def image(number: int) -> Image:
        team = teams[number % TEAMS] if number % 3 else None
        owner_of = None if team else (member if number % 1000 == 1 else owner)
        return Image(
            name=f"127.0.0.1:5000/{team.name if team else owner_of.username}/app{number:06d}",
            owner=owner_of,
            team=team,
            registry=registry,
            is_private_image=(number % 10 != 0) if team else (number % 2 == 0),
            jumpstart=number % 100 == 0,
            state=State.FAILED if number % 50 == 0 else State.SUCCESS,
            last_build_date=None if number % 7 == 0 else now - timedelta(minutes=number),
        )

    images = Image.objects.bulk_create((image(n) for n in range(IMAGES)), batch_size=2000)
    big = Image.objects.create(
        name="127.0.0.1:5000/owner/many-tags", owner=owner, registry=registry
    )
    category = Category.objects.create(name="Databases")
    category.images.add(*images[:10_000:5])
    Category.objects.create(name="Web").images.add(*images[1:10_000:5])
    layers = Layer.objects.bulk_create(
        (Layer(docker_id=f"{n:064x}", creation=now) for n in range(IMAGES + 1)), batch_size=2000
    )
    Tag.objects.bulk_create(
        (
            Tag(image=img, name=name, layer=layer, state=State.SUCCESS)
            for img, layer in zip(images, layers, strict=False)
            for name in ("latest", "v1", "v2")[:TAGS]
        ),
        batch_size=5000,
    )
    Tag.objects.bulk_create(
        (
            Tag(image=big, name=f"v{n:05d}", layer=layers[-1], creation=now - timedelta(hours=n))
            for n in range(BIG)
        ),
        batch_size=5000,
    )
    return {
        "owner": f"ApiKey owner:{owner_key}",
        "member": f"ApiKey member:{member_key}",
        "some_image": images[2].name,
        "team": teams[10].name,  # one in ten of its images is public
    }


def explain(sql: str, *, seqscan: bool = True) -> list[str]:
    """The plan's lines. `seqscan=False` (PostgreSQL): the plan with sequential scans priced
    out, i.e. whether an index can serve the statement at all, whatever the table's size."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            return [row[3] for row in cursor.fetchall()]
        cursor.execute(f"SET enable_seqscan = {'on' if seqscan else 'off'}")
        cursor.execute("EXPLAIN " + sql)
        lines = [row[0] for row in cursor.fetchall()]
        cursor.execute("SET enable_seqscan = on")
        return lines


def plain_page(who: str, path: str) -> dict:
    """What the image list should answer, from the visibility rule applied the plain way
    (every image tested), to hold the ranges' page against."""
    from urllib.parse import urlsplit

    from django.contrib.auth import get_user_model
    from django.http import QueryDict

    from api.images import filters
    from teams.access import visible_images

    user = get_user_model().objects.get(username=who)
    params = QueryDict(urlsplit(path).query)
    whole = filters.filter_images(params, visible_images(user), user)
    limit = int(params.get("limit") or 25)
    offset = int(params.get("offset") or 0)
    listed = list(whole.values_list("name", flat=True))
    if cursor := params.get("after") or params.get("before"):
        # The names next to the cursor in the whole list, in its order. In name order the
        # cursor is a place between names (no image need have it); in build-date order, an
        # image of the list.
        order = params.get("order_by") or "name"
        if order in ("name", "-name"):
            place = sum(1 for n in listed if (n < cursor if order == "name" else n > cursor))
        else:
            place = listed.index(cursor)
        if params.get("after"):
            offset = place + (cursor in listed)
        else:
            offset, limit = max(place - limit, 0), place - max(place - limit, 0)
    return {"total_count": len(listed), "names": listed[offset : offset + limit]}


def plans(paths: dict[str, tuple[str, str]], auths: dict[str, str]) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    found = {}
    for label, (who, path) in paths.items():
        client = Client(headers={"Authorization": auths[who]}, SERVER_NAME="localhost")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.content[:500])
        statements = []
        for query in queries.captured_queries:
            sql = query["sql"]
            # The key's lookup and its last-used write are the same for every request.
            if "api_apikey" in sql or not sql.lstrip().upper().startswith("SELECT"):
                continue
            statements.append(
                {"sql": sql, "plan": explain(sql), "indexed_plan": explain(sql, seqscan=False)}
            )
        body = response.json()
        found[label] = {"total_count": body.get("meta", {}).get("total_count"), "sql": statements}
        if path.startswith("/api/v1/image/?"):
            found[label]["names"] = [image["name"] for image in body["objects"]]
            found[label]["expected"] = plain_page(who, path)
    return found


def counts_kept() -> dict:
    """Change visibility, namespaces and rows the ways the ORM can (bulk, one by one), then
    hold records.ImageCount against a count of the images by reach, and records.TagCount
    against a count of the tags by image."""
    from django.db.models import Count
    from django.db.models import Value as V
    from django.db.models.functions import Concat

    from records.models import Image, ImageCount, Tag, TagCount, Team

    some = list(Image.objects.order_by("pk").values_list("pk", flat=True)[:3])
    Tag.objects.filter(image_id=some[0], name="v1").delete()
    Tag.objects.filter(image_id=some[1]).update(image_id=some[2], name=Concat("name", V("-x")))
    Tag.objects.bulk_create(Tag(image_id=some[0], name=f"extra{n}") for n in range(5))
    moved = Image.objects.filter(team__isnull=False).order_by("pk")
    Image.objects.filter(pk__in=moved.values("pk")[:300]).update(is_private_image=False)
    Image.objects.filter(pk__in=moved.values("pk")[300:400]).update(team=Team.objects.last())
    Image.objects.filter(pk__in=Image.objects.order_by("-pk").values("pk")[:200]).delete()
    one = Image.objects.filter(owner__isnull=False).first()
    one.is_private_image = not one.is_private_image
    one.save()
    Image.objects.filter(pk=one.pk).update(state="Failed")  # no reach change
    kept = {c.reach: c.images for c in ImageCount.objects.all() if c.images}
    rows = Image.objects.exclude(reach=None).values("reach").annotate(n=Count("pk"))
    counted = {row["reach"]: row["n"] for row in rows}
    kept_tags = {c.image_id: c.tags for c in TagCount.objects.all() if c.tags}
    rows = Tag.objects.values("image_id").annotate(n=Count("pk"))
    tags = {row["image_id"]: row["n"] for row in rows}
    return {
        "kept": sorted(kept.items()),
        "counted": sorted(counted.items()),
        "kept_tags": sorted(kept_tags.items()),
        "counted_tags": sorted(tags.items()),
    }


def main() -> None:
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    made = populate()
    if connection.vendor == "postgresql":
        # What autovacuum does on a running server. SQLite plans without statistics, as a
        # database nobody ever ran ANALYZE on does.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    from records.models import Image, Tag

    name, team = made["some_image"], made["team"]
    big = "127.0.0.1:5000/owner/many-tags"
    # Pages read from a name far down the list, where an offset would read every row before.
    deep_name = Image.objects.order_by("name").values_list("name", flat=True)[18_000]
    deep_tag = Tag.objects.filter(image__name=big).order_by("name").values_list("name", flat=True)
    deep_tag = deep_tag[2_500]
    # Public, so both people see it: one built, one never built.
    public = Image.objects.filter(is_private_image=False).order_by("-last_build_date", "name")
    deep_built = public.filter(last_build_date__isnull=False).values_list("name", flat=True)[3_000]
    never_built = public.filter(last_build_date__isnull=True).values_list("name", flat=True)[100]
    paths = {}
    for who in ("owner", "member"):
        for label, query in [
            ("first page", ""),
            ("order_by=name", "order_by=name"),
            ("order_by=-name", "order_by=-name"),
            ("order_by=last_build_date", "order_by=last_build_date"),
            ("order_by=-last_build_date", "order_by=-last_build_date"),
            ("limit=100", "limit=100"),
            ("is_private_image=false", "is_private_image=false"),
            ("is_private_image=true", "is_private_image=true"),
            ("is_user_image=true", "is_user_image=true"),
            ("is_user_image=false", "is_user_image=false"),
            ("jumpstart=true", "jumpstart=true"),
            ("state=Failed", "state=Failed"),
            ("registry", "registry=127.0.0.1:5000"),
            ("categories__name", "categories__name=Databases"),
            ("team", f"team={team}"),
            ("name", f"name={name}"),
            ("deep offset", "offset=9000"),
            ("after a deep name", f"after={deep_name}"),
            ("before a deep name", f"before={deep_name}"),
            ("-name after a deep name", f"order_by=-name&after={deep_name}"),
            ("-built after a deep name", f"order_by=-last_build_date&after={deep_built}"),
            ("built after a deep name", f"order_by=last_build_date&after={deep_built}"),
            ("-built before a deep name", f"order_by=-last_build_date&before={deep_built}"),
            ("built after a never built", f"order_by=last_build_date&after={never_built}"),
            ("-built after a never built", f"order_by=-last_build_date&after={never_built}"),
            ("past the end", "offset=30000"),
        ]:
            paths[f"{who} {label}"] = (who, f"/api/v1/image/?{query}")
    paths["owner one image"] = ("owner", f"/api/v1/image/{big}/")
    paths["owner one image without tag URIs"] = ("owner", f"/api/v1/image/{big}/?tags=none")
    # python-tutum's walk: the second page goes on from where the first ended.
    paths["owner offset page"] = ("owner", "/api/v1/image/?offset=25&limit=25")
    paths["owner offset page going on"] = ("owner", "/api/v1/image/?offset=50&limit=25")
    for label, query in [
        ("tags", ""),
        ("tags order_by=-name", "order_by=-name"),
        ("tags state", "state=Empty"),
        ("tags order_by=creation", "order_by=creation"),
        ("tags order_by=-creation", "order_by=-creation"),
        ("tags after a deep name", f"after={deep_tag}"),
        ("tags before a deep name", f"before={deep_tag}"),
    ]:
        paths[f"owner {label}"] = ("owner", f"/api/v1/image/{big}/tag/?{query}")
    found = {"vendor": connection.vendor, "paths": plans(paths, made)}
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "api_tag")
    found["tag_indexes"] = {
        name: c["columns"] for name, c in constraints.items() if c["index"] or c["unique"]
    }
    found["counts"] = counts_kept()
    print(json.dumps(found))


if __name__ == "__main__":
    sys.exit(main())
