"""`make run`'s set-up: the registry config it writes starts a registry that asks the API."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import requests
from django.core.management import call_command

from lib.storage_url import parse_storage_url
from records.models import ApiKey
from registry.config import storage_driver
from tests.fixtures.ports import free_port

pytestmark = [pytest.mark.registry, pytest.mark.django_db]


def test_setup_writes_a_registry_config_that_runs(settings, tmp_path, capsys):
    port = free_port()
    settings.DATA_DIR = tmp_path
    settings.REGISTRY_URL = f"http://127.0.0.1:{port}"
    settings.REGISTRY_TOKEN_KEY = tmp_path / "registry" / "token.key"
    settings.REGISTRY_CONFIG = tmp_path / "registry" / "config.yml"
    settings.REGISTRY_NOTIFICATION_SECRET = "s3cret-for-the-test"

    call_command("setup_instance")

    config = json.loads((tmp_path / "registry" / "config.yml").read_text())
    assert config["http"]["addr"] == f"127.0.0.1:{port}"
    # Garbage collection finds the same storage the registry serves.
    assert storage_driver() == ("filesystem", {"rootdirectory": str(tmp_path / "registry/storage")})
    assert config["auth"]["token"]["realm"] == f"{settings.API_PUBLIC_URL}/api/v1/registry-token/"
    assert config["notifications"]["endpoints"][0]["headers"] == {
        "Authorization": ["Bearer s3cret-for-the-test"]
    }
    assert (tmp_path / "registry" / "config.yml").stat().st_mode & 0o077 == 0
    assert "username admin, password" in capsys.readouterr().out
    assert ApiKey.objects.filter(user__username="admin").exists()

    registry = subprocess.Popen(
        ["docker-registry", "serve", str(tmp_path / "registry" / "config.yml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        challenge = _wait_for_challenge(f"http://127.0.0.1:{port}/v2/")
    finally:
        registry.terminate()
        registry.wait()
    assert challenge.startswith(f'Bearer realm="{settings.API_PUBLIC_URL}/api/v1/registry-token/"')


def test_setup_writes_the_bucket_it_is_given_into_the_registry_config(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.REGISTRY_TOKEN_KEY = tmp_path / "registry" / "token.key"
    settings.REGISTRY_CONFIG = tmp_path / "registry" / "config.yml"
    settings.REGISTRY_NOTIFICATION_SECRET = "x"
    settings.REGISTRY_STORAGE = parse_storage_url("s3://key:secret@127.0.0.1:8333/registry")

    call_command("setup_instance")

    assert storage_driver() == ("s3", settings.REGISTRY_STORAGE["s3"])
    assert (tmp_path / "registry" / "config.yml").stat().st_mode & 0o077 == 0


def _wait_for_challenge(url: str) -> str:
    for _ in range(100):
        try:
            return requests.get(url, timeout=5).headers["WWW-Authenticate"]
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError("the registry did not start with the generated config")


def test_setup_keeps_an_existing_admin(settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path
    settings.REGISTRY_TOKEN_KEY = tmp_path / "registry" / "token.key"
    settings.REGISTRY_NOTIFICATION_SECRET = "x"
    call_command("setup_instance")
    capsys.readouterr()

    call_command("setup_instance")

    assert "password" not in capsys.readouterr().out


def test_sync_command_reports_what_it_did(our_registry, push_image, alice, capsys):
    push_image(alice, "reported")

    call_command("sync_registry")

    assert "repositories" in capsys.readouterr().out
