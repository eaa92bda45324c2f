"""`manage.py build_worker`: django-tasks' database worker for the build queue, plus a presence
heartbeat and the reaper that fails builds whose worker died."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django_tasks_db.management.commands import db_worker

from builds import cache as build_cache
from builds import leases
from records.models import Build, Worker

log = logging.getLogger(__name__)


class Command(db_worker.Command):
    help = (
        "Run builds, and the garbage collections staff ask for, from the queue (several "
        "workers may share it)."
    )

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        # Polling five times a second keeps the wait before a build starts near 0.1 s and costs
        # about 1% of a core while idle (measured; the library's default is 1 s). The garbage
        # collections staff ask for (queue "storage") run here too, so `make run` needs no other
        # process; `--queue-name builds` leaves them to a worker of their own.
        parser.set_defaults(queue_name="builds,storage", interval=0.2, reload=False)

    def handle(self, *args, **options) -> None:
        worker_id = options["worker_id"]
        _remove_leftovers()
        stop = threading.Event()
        thread = threading.Thread(
            target=_presence, args=(worker_id, stop), name="presence", daemon=True
        )
        thread.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            Worker.objects.filter(worker_id=worker_id).delete()


def _presence(worker_id: str, stop: threading.Event) -> None:
    """Say this worker is alive, and fail builds whose worker is not."""
    hostname, pid = socket.gethostname(), os.getpid()
    try:
        while True:
            try:
                close_old_connections()
                Worker.objects.update_or_create(
                    worker_id=worker_id,
                    defaults={"hostname": hostname, "pid": pid, "seen": timezone.now()},
                )
                reaped = leases.reap_stale_builds()
                if reaped:
                    log.warning("failed %d build(s) whose worker stopped", reaped)
            except Exception:  # the database may be busy or restarting; try again next beat
                log.exception("build worker heartbeat failed")
            if stop.wait(settings.BUILD_HEARTBEAT):
                return
    finally:
        connection.close()


def _remove_leftovers() -> None:
    """What builds that are no longer running left (a worker was killed): their scratch
    directories, and buildah's half-built containers and images if the cache is over its cap."""
    build_cache.trim()
    work = settings.BUILD_DIR / "work"
    if not work.is_dir():
        return
    active = {
        str(u) for u in Build.objects.filter(state__in=Build.ACTIVE).values_list("uuid", flat=True)
    }
    for path in work.iterdir():
        if path.name not in active:
            shutil.rmtree(path, ignore_errors=True)
