"""Prepare a local installation for `make run`: data directory, secrets, database, registry."""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from records.models import ApiKey
from registry import config as registry_config
from registry import tokens as registry_token
from registry.hosts import registry_for_host


class Command(BaseCommand):
    help = "Create the data directory, secrets, database, admin account and registry config."

    def handle(self, *args, **options):
        data_dir = settings.DATA_DIR
        (data_dir / "registry").mkdir(parents=True, exist_ok=True)
        if not settings.REGISTRY_NOTIFICATION_SECRET:
            raise CommandError("Set REGISTRY_NOTIFICATION_SECRET (scripts/run.sh makes one).")
        call_command("migrate", interactive=False, verbosity=0)
        # The database caches' tables (rate limits, shared) come with the migrations, unless
        # they ran with REDIS_URL set and this installation now runs without it.
        call_command("createcachetable", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        registry_token.ensure_signing_key()
        registry_for_host(settings.REGISTRY_HOST)
        # Where the Procfile starts the registry from and garbage collection reads it.
        registry_config.write_registry_config(
            settings.REGISTRY_CONFIG,
            registry_config.registry_config(
                addr=settings.REGISTRY_BIND or urlsplit(settings.REGISTRY_URL).netloc,
                storage_dir=data_dir / "registry" / "storage",
                storage=settings.REGISTRY_STORAGE,
                realm=f"{settings.API_PUBLIC_URL}/api/v1/registry-token/",
                notify_url=f"{settings.API_PUBLIC_URL}/api/v1/registry-events/",
                secret=settings.REGISTRY_NOTIFICATION_SECRET,
                cert_path=settings.REGISTRY_TOKEN_KEY.with_suffix(".crt"),
            ),
        )
        self._ensure_admin()

    def _ensure_admin(self) -> None:
        User = get_user_model()
        if User.objects.filter(username="admin").exists():
            return
        password = os.environ.get("TUTUMWEB_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user = User.objects.create_superuser("admin", password=password)
        ApiKey.issue(user, label="created by make run")
        from_env = bool(os.environ.get("TUTUMWEB_ADMIN_PASSWORD"))
        shown = "(from TUTUMWEB_ADMIN_PASSWORD)" if from_env else password
        # The web admin's page, not Django's admin: only the former signs out the other
        # browsers (accounts.passwords.change_password).
        change_at = settings.ADMIN_PUBLIC_URL + reverse("images:password")
        self.stdout.write(
            self.style.SUCCESS(
                f"Created the admin account: username admin, password {shown}\n"
                "This password is shown only once; change it in the web admin under Your account"
                f" ({change_at})."
            )
        )
