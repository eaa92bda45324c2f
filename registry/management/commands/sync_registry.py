"""Reconcile the database with our registry (repairs missed push notifications)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from registry.client import RegistryError
from registry.sync import SyncReport, sync_registry


class Command(BaseCommand):
    help = "Record tags pushed to our registry that the API missed, and drop deleted ones."

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            type=int,
            metavar="SECONDS",
            help="Keep running, syncing every SECONDS (what `make run` does).",
        )

    def handle(self, *args, every: int | None = None, **options):
        while True:
            try:
                report = sync_registry()
                self.stdout.write(
                    f"{report.repositories} repositories ({_source(report)}): "
                    f"{report.recorded} tags recorded, {report.unchanged} unchanged, "
                    f"{report.removed} removed, {report.failed} failed"
                )
            except RegistryError as error:
                if not every:
                    raise CommandError(str(error)) from error
                self.stderr.write(f"sync failed, will retry: {error}")
            if not every:
                return
            time.sleep(every)


def _source(report: SyncReport) -> str:
    # Says why a sync is slow when the storage cannot be read (one request per tag instead).
    if not report.read_from_storage:
        return "tags asked from the registry"
    if report.read_from_storage == report.repositories:
        return "tags read from the registry's storage"
    return f"tags of {report.read_from_storage} read from the registry's storage"
