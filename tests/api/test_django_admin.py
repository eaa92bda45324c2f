"""Staff manage API keys, categories and the jumpstart flag in Django's admin site."""

from __future__ import annotations

import re

from django.test import Client

from records.models import ApiKey, Category
from tests.fixtures.api import ApiClient


def staff_client(make_account) -> tuple[Client, object]:
    staff = make_account("root", staff=True)
    staff.user.is_superuser = True
    staff.user.save()
    client = Client()
    client.force_login(staff.user)
    return client, staff


def test_staff_issue_an_api_key_that_is_shown_once_and_works(make_account, alice):
    client, _ = staff_client(make_account)

    response = client.post(
        "/django-admin/api/apikey/add/", {"user": alice.user.pk, "label": "ci"}, follow=True
    )

    text = response.content.decode()
    key = re.search(r"The new API key for alice is ([0-9a-f]{40})", text).group(1)
    assert ApiClient(alice.basic(key)).get("/api/v1/image/").status_code == 200
    listing = client.get("/django-admin/api/apikey/").content.decode()
    assert key not in listing
    assert key[:8] in listing
    assert ApiKey.objects.filter(user=alice.user).count() == 2


def test_deleting_an_api_key_revokes_it(make_account, alice):
    client, _ = staff_client(make_account)
    api_key = ApiKey.objects.get(user=alice.user)

    client.post(f"/django-admin/api/apikey/{api_key.pk}/delete/", {"post": "yes"})

    assert ApiClient(alice.basic()).get("/api/v1/image/").status_code == 401


def test_staff_set_categories_and_the_jumpstart_flag(make_account, alice, make_image, api):
    client, _ = staff_client(make_account)
    image = make_image(alice, "app", private=False)
    web = Category.objects.create(name="web")

    response = client.post(
        f"/django-admin/api/image/{image.pk}/change/",
        {
            "owner": alice.user.pk,
            "description": "",
            "is_private_image": "on",
            "jumpstart": "on",
            "star_count": 3,
            "categories": [web.pk],
            "registry_username": "",
            "tags-TOTAL_FORMS": 1,
            "tags-INITIAL_FORMS": 1,
            "tags-MIN_NUM_FORMS": 0,
            "tags-MAX_NUM_FORMS": 1000,
            "tags-0-id": image.tags.get().pk,
            "tags-0-image": image.pk,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    body = api.get(f"/api/v1/image/{image.name}/").json()
    assert body["jumpstart"] is True
    assert body["categories"] == [{"name": "web"}]
    assert body["star_count"] == 3


def test_staff_look_at_teams_tokens_and_the_audit_trail_without_changing_them(
    make_account, alice, make_team
):
    from datetime import timedelta

    from django.utils import timezone

    from records.models import AuditEvent, TeamToken

    client, _ = staff_client(make_account)
    team = make_team("web", alice="Owner")
    token = TeamToken.objects.create(
        team=team,
        name="ci",
        secret_hash="x" * 64,
        prefix="abcd1234",
        expires=timezone.now() + timedelta(days=30),
    )
    AuditEvent.objects.create(
        action="team.create", actor_kind="person", actor_name="alice", target="web", team=team
    )

    teams = client.get("/django-admin/api/team/").content.decode()
    team_page = client.get(f"/django-admin/api/team/{team.pk}/change/").content.decode()
    tokens = client.get("/django-admin/api/teamtoken/").content.decode()
    events = client.get("/django-admin/api/auditevent/").content.decode()
    change = client.post(f"/django-admin/api/team/{team.pk}/change/", {"name": "stolen"})
    revoked = client.post(f"/django-admin/api/teamtoken/{token.pk}/delete/", {"post": "yes"})

    assert "web" in teams and "alice" in team_page
    assert "abcd1234" in tokens
    assert "team.create" in events
    assert change.status_code == 403
    assert revoked.status_code == 302 and not TeamToken.objects.exists()
