"""Migrations keep what is there: images made before teams keep their owner."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE_TEAMS = [("api", "0007_invitation")]


def test_images_made_before_teams_keep_their_owner_and_belong_to_no_team():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("api")
    executor.migrate(BEFORE_TEAMS)
    old = executor.loader.project_state(BEFORE_TEAMS).apps
    User = old.get_model("auth", "User")
    Registry = old.get_model("api", "Registry")
    Image = old.get_model("api", "Image")
    alice = User.objects.create(username="alice")
    registry = Registry.objects.create(host="127.0.0.1:5000", name="ours")
    Image.objects.create(name="127.0.0.1:5000/alice/app", owner=alice, registry=registry)
    Image.objects.create(name="busybox", owner=None, registry=registry, is_private_image=False)

    executor = MigrationExecutor(connection)
    executor.migrate(latest)
    new = executor.loader.project_state(latest).apps
    images = new.get_model("api", "Image").objects.order_by("name")

    assert [(i.name, i.owner_id, i.team_id) for i in images] == [
        ("127.0.0.1:5000/alice/app", alice.pk, None),
        ("busybox", None, None),
    ]
