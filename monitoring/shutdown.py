"""Whether the server this process belongs to was told to stop (SIGTERM or SIGINT to `./run.sh serve`,
which passes a SIGTERM on to each cluster and to gunicorn).

A qcluster records it in its main process (monitoring/management/commands/qcluster.py) and its workers
read it: a job not begun by then is left queued for the next start rather than begun and killed at the
end of the grace period. A gunicorn worker records it for itself (echofu/gunicorn_conf.py): a request
waiting for its job answers before the grace period ends.
"""
import multiprocessing
import threading
import time

# Time left at the end of the grace period for a waiting request to write its answer.
ANSWER_MARGIN_SECONDS = 2.0

_stop = threading.Event()
_stopped_at: float | None = None


def share_with_workers() -> None:
    """Called in a cluster's main process before it forks its workers, which then see its stop too."""
    global _stop
    _stop = multiprocessing.get_context("fork").Event()


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
