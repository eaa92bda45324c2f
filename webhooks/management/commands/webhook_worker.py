"""`manage.py webhook_worker`: django-tasks' database worker for the webhook queue, with
WEBHOOK_WORKER_THREADS deliveries under way at once, so that one receiver that does not answer
(a timeout per attempt) does not hold up everyone else's."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connection
from django_tasks_db.management.commands import db_worker

log = logging.getLogger(__name__)


class Command(db_worker.Command):
    help = "Send webhook deliveries from the queue (several workers may share it)."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help="Deliveries sent at once (default: WEBHOOK_WORKER_THREADS).",
        )
        # Polling five times a second keeps a delivery's wait near 0.1 s (as build_worker).
        parser.set_defaults(queue_name="webhooks", interval=0.2, reload=False)

    def handle(self, *args, **options) -> None:
        threads = options.pop("threads") or settings.WEBHOOK_WORKER_THREADS
        if threads <= 1:
            super().handle(*args, **options)
            return
        self.configure_logging(options["verbosity"])
        workers = [self._worker(options, n) for n in range(threads)]
        # The first worker runs here, so that signals stop it (and the process) as usual; the
        # others are daemons that end with it (a delivery cut off is sent again: see
        # webhooks.delivery.resume_lost).
        others = [threading.Thread(target=_run, args=(w,), daemon=True) for w in workers[1:]]
        for thread in others:
            thread.start()
        workers[0].configure_signals()
        workers[0].run()
        if options["batch"]:
            for thread in others:
                thread.join()

    def _worker(self, options: dict, number: int) -> db_worker.Worker:
        return db_worker.Worker(
            queue_names=options["queue_name"].split(","),
            excluded_queue_names=[q for q in options.get("exclude_queues", "").split(",") if q],
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=f"{options['worker_id']}-{number}",
        )


def _run(worker: db_worker.Worker) -> None:
    try:
        worker.run()
    finally:
        connection.close()
