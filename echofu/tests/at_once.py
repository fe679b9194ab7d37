"""Calls made at the same moment from threads, as simultaneous requests or workers reach the server."""
from __future__ import annotations

import threading
from typing import Callable


def at_once(calls: list[Callable[[], object]], timeout: float) -> list[object]:
    """Each call in its own thread, all released together; their results in order, an exception as
    raised, None for one still running after `timeout` seconds. Each thread closes its own database
    connection, which Django opened for it."""
    from django.db import connection

    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            start.wait(timeout=timeout)
            results[index] = calls[index]()
        except Exception as exc:  # the caller asserts on it
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results
