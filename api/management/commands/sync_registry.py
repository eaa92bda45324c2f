"""Reconcile the database with our registry (repairs missed push notifications)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from api.registry_sync import sync_registry
from builds.registry import RegistryError


class Command(BaseCommand):
    help = "Record tags pushed to our registry that the API missed, and drop deleted ones."

    def handle(self, *args, **options):
        try:
            report = sync_registry()
        except RegistryError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{report.repositories} repositories: {report.recorded} tags recorded, "
            f"{report.unchanged} unchanged, {report.removed} removed, {report.failed} failed"
        )
