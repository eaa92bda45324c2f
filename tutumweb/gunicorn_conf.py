"""gunicorn's settings for the API and admin servers (the Procfile passes `--config
tutumweb/gunicorn_conf.py`): prometheus_client's multiprocess mode, so that /metrics, which
any one worker answers, counts the requests of every worker (tutumweb/metrics.py).

The workers write their measurements to memory-mapped files in a directory this server makes
for itself under METRICS_DIR when it starts and removes when it stops. One per server: the API
and the admin sharing one would each count the other's requests. A new one each start: no file
of an earlier run is ever summed (a new worker with an old one's process id would carry on
from its counts).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from tutumweb import settings

# Which server made the directory: gunicorn reads this file again when it reloads (SIGHUP),
# in the same process, which must go on with the directory its workers write to.
_MADE_BY = "TUTUMWEB_METRICS_SERVER"


def _measurements_directory() -> str:
    current = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if os.environ.get(_MADE_BY) == str(os.getpid()) and os.path.isdir(current):
        return current
    settings.METRICS_DIR.mkdir(parents=True, exist_ok=True)
    os.environ[_MADE_BY] = str(os.getpid())
    return tempfile.mkdtemp(prefix=f"server-{os.getpid()}-", dir=settings.METRICS_DIR)


# Now, before anything imports prometheus_client (with --preload, the application does before
# any hook runs): it chooses file-backed values only if this is set when it is imported, and
# the workers inherit it.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _measurements_directory()


def child_exit(server, worker) -> None:
    """A worker ended (stopped, killed, restarted): its requests in progress are over. Its
    counts stay, summed with the others', so no total goes down."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
