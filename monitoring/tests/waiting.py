"""Ending a job from another thread while a synchronous endpoint's request waits for it."""
import threading
import time

from django.db import connection

from monitoring.models import Job


def end_while_waiting(kind: str, end) -> threading.Thread:
    """A started thread that calls `end` on the first job of `kind` once the request has queued it."""

    def watch():
        try:
            for _ in range(200):
                job = Job.objects.filter(kind=kind).first()
                if job is not None:
                    end(job)
                    return
                time.sleep(0.05)
        finally:
            connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    return watcher
