"""Accounts with API keys, authenticated API clients and images recorded in the database."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from records.models import Image, Layer, Membership, Registry, State, Tag, Team


@dataclass
class Account:
    user: object
    username: str
    password: str
    key: str

    def basic(self, secret: str | None = None) -> str:
        raw = f"{self.username}:{self.key if secret is None else secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def apikey(self, secret: str | None = None) -> str:
        return f"ApiKey {self.username}:{self.key if secret is None else secret}"


class ApiClient(Client):
    """Django's test client speaking JSON with an Authorization header on every request."""

    def __init__(self, authorization: str | None = None):
        headers = {"Authorization": authorization} if authorization else {}
        super().__init__(headers=headers)

    def post(self, path, data=None, **kwargs):
        return super().post(path, data, content_type="application/json", **kwargs)

    def patch(self, path, data=None, **kwargs):
        return super().patch(path, data, content_type="application/json", **kwargs)


@pytest.fixture
def make_account(db):
    from records.models import ApiKey

    def make(username: str, *, staff: bool = False) -> Account:
        password = f"{username}-Secret-Passw0rd"
        user = get_user_model().objects.create_user(username, password=password, is_staff=staff)
        _, key = ApiKey.issue(user)
        return Account(user=user, username=username, password=password, key=key)

    return make


@pytest.fixture
def alice(make_account) -> Account:
    return make_account("alice")


@pytest.fixture
def bob(make_account) -> Account:
    return make_account("bob")


@pytest.fixture
def api(alice) -> ApiClient:
    """Alice's API client (Basic user:apikey, as current Tutum clients send)."""
    return ApiClient(alice.basic())


@pytest.fixture
def our_registry_row(db) -> Registry:
    return Registry.objects.get_or_create(
        host=settings.REGISTRY_HOST,
        defaults={
            "name": "This installation's registry",
            "is_tutum_registry": True,
            "is_ssl": False,
        },
    )[0]


LAYER_FIELDS = {
    "author": "Fernando Mayo <fernando@tutum.co>",
    "creation": datetime(2013, 11, 8, 0, 22, 26, tzinfo=UTC),
    "entrypoint": "",
    "run_command": "/run.sh",
    "envvars": [{"key": "HOME", "value": "/"}, {"key": "PATH", "value": "/usr/bin:/bin"}],
    "labels": [{"key": "Tutum", "value": "Pure awesomeness"}],
    "ports": [{"port": 80, "protocol": "tcp"}],
    "volumes": [{"container_path": "/app"}],
}


@pytest.fixture
def make_image(our_registry_row):
    """Record an image on our registry with pushed tags, as a registry notification would."""
    counter = iter(range(1, 1_000_000))

    def make(
        owner: Account | Team | None, repo: str, *, tags=("latest",), private=True, **fields
    ) -> Image:
        team = owner if isinstance(owner, Team) else None
        namespace = owner.name if team else owner.username if owner else "library"
        image = Image.objects.create(
            name=f"{settings.REGISTRY_HOST}/{namespace}/{repo}",
            owner=None if team or owner is None else owner.user,
            team=team,
            registry=our_registry_row,
            is_private_image=private,
            **fields,
        )
        for tag in tags:
            n = next(counter)
            layer = Layer.objects.create(docker_id=f"{n:064x}", **LAYER_FIELDS)
            Tag.objects.create(
                image=image,
                name=tag,
                layer=layer,
                state=State.SUCCESS,
                digest=f"sha256:{n:064x}",
                last_build_date=LAYER_FIELDS["creation"],
                creation=layer.creation,
            )
        image.refresh_state()
        return image

    return make


@pytest.fixture
def make_team(db):
    """A team with its members: `make_team("web", alice="Owner", bob="Reader")`."""

    def make(name: str, **roles: str) -> Team:
        team = Team.objects.create(name=name)
        for username, role in roles.items():
            user = get_user_model().objects.get(username=username)
            Membership.objects.create(team=team, user=user, role=role)
        return team

    return make
