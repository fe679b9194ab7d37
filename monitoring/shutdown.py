"""When the server this process belongs to started, and whether it was told to stop (SIGTERM or SIGINT
to `./run.sh serve`, which passes a SIGTERM on to each cluster and to gunicorn).

The start tells a job's worker that died with the whole server (its last heartbeat is older than the
server) from one that died while the server ran on (monitoring.runner's recovery).

A qcluster records it in its main process (monitoring/management/commands/qcluster.py) and its workers
read it: a job not begun by then is left queued for the next start rather than begun and killed at the
end of the grace period. A gunicorn worker records it for itself (echofu/gunicorn_conf.py): a request
waiting for its job answers before the grace period ends.
"""
import multiprocessing
import threading
import time
from datetime import datetime, timezone

import psutil

# Time left at the end of the grace period for a waiting request to write its answer.
ANSWER_MARGIN_SECONDS = 2.0

_stop = threading.Event()
_stopped_at: float | None = None
_started_at: datetime | None = None


def share_with_workers() -> None:
    """Called in a cluster's main process before it forks its workers, which then see its start and stop too."""
    global _stop, _started_at
    _stop = multiprocessing.get_context("fork").Event()
    _started_at = datetime.now(timezone.utc)


def server_started_at() -> datetime:
    """When this process's cluster started; outside a cluster (jobs run inline), when this process did.
    A worker's own start would not do: the cluster starts a new one for each that dies."""
    return _started_at or datetime.fromtimestamp(psutil.Process().create_time(), timezone.utc)


def request_stop() -> None:
    """Safe in a signal handler: nothing else takes the event's lock in the thread that runs handlers."""
    global _stopped_at
    if _stopped_at is None:
        _stopped_at = time.monotonic()
    _stop.set()


def stop_requested() -> bool:
    return _stop.is_set()


def answer_deadline(grace_seconds: float) -> float:
    """The time.monotonic() by which a request still waiting must answer: the server is killed at the
    end of the grace period. Only meaningful once stop_requested() in this process."""
    return (_stopped_at or time.monotonic()) + max(0.0, grace_seconds - ANSWER_MARGIN_SECONDS)


def forget() -> None:
    """For tests: this process was not told to stop."""
    global _stopped_at
    _stopped_at = None
    _stop.clear()
