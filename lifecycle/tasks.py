"""The background task a worker runs when staff ask for a garbage collection (django-tasks,
database backend, queue "storage": `manage.py build_worker` takes it with the builds)."""

from __future__ import annotations

import logging
import threading

from django import db
from django.conf import settings
from django.utils import timezone
from django_tasks import task

from lifecycle.collect import CollectFailed, collect
from records.models import Collection
from registry.locks import CollectionRunning, StorageHeld

log = logging.getLogger(__name__)

NO_CONFIG = (
    "Nothing was collected: the worker that took this run has no registry config at {path} "
    "(REGISTRY_CONFIG), so it cannot find the registry's storage. Run the worker where "
    "housekeeping runs, or give it the same REGISTRY_CONFIG."
)
BACKUP = (
    "Nothing was collected: a backup was copying the registry's storage, and nothing is "
    "deleted from it meanwhile. Tidy up again once the backup has ended."
)
UNREADABLE = "Nothing was collected: the registry's storage could not be opened ({error})."


@task(queue_name="storage")
def collect_storage(run_id: int) -> str:
    """Run the collection staff asked for (its record, Queued); returns how it ended. A run
    that could not start is recorded as failed with the reason, so whoever asked reads why on
    the Storage page instead of seeing nothing happen."""
    run = Collection.objects.filter(pk=run_id, state=Collection.State.QUEUED).first()
    if run is None:
        return "gone"
    if not settings.REGISTRY_CONFIG.exists():
        return _not_started(run, NO_CONFIG.format(path=settings.REGISTRY_CONFIG))
    try:
        return _in_a_thread_of_its_own(lambda: collect(run.trigger, run=run)).state
    except CollectionRunning:
        # Another run started first (housekeeping's, or one asked for at the same moment): it
        # does the same work, and its record is what the person sees.
        log.info("garbage collection asked for by %s: another run was under way", run.trigger)
        run.delete()
        return "merged"
    except StorageHeld:
        return _not_started(run, BACKUP)
    except CollectFailed:
        return Collection.State.FAILED  # recorded by the run, with its reason
    except (OSError, KeyError, ValueError) as error:
        # Raised by opening the storage the config names, before the run began.
        return _not_started(run, UNREADABLE.format(error=error))


def _in_a_thread_of_its_own(work):
    """`work()` in a thread that ends with it: a collection lowers its thread's CPU priority,
    which a worker without privilege could not raise again for the builds it runs next."""
    outcome = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # noqa: BLE001 - raised again in the worker's thread
            outcome["error"] = error
        finally:
            db.connections.close_all()

    thread = threading.Thread(target=run, name="collection")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _not_started(run: Collection, reason: str) -> str:
    run.state, run.finished, run.error = Collection.State.FAILED, timezone.now(), reason
    run.save(update_fields=["state", "finished", "error"])
    log.warning("garbage collection asked for by %s did not start: %s", run.trigger, reason)
    return Collection.State.FAILED
