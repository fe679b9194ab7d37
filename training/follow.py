"""Terminal progress for management commands: run or wait for jobs and draw their bars."""
from __future__ import annotations

import re
import threading
import time

from django.core.management.base import CommandError
from django.db import connection

from monitoring import forecast, runner
from monitoring.models import Job

BAR_WIDTH = 30
START_UNKNOWN = {forecast.AHEAD_OVERRAN: "the job ahead is taking longer than estimated",
                 forecast.AHEAD_NOT_ESTIMATED: "a job ahead has no estimate yet"}


def _eta(job: Job, in_clusters: bool) -> str:
    """A running job's time left, and by how much it has overrun its estimate (its time left is then
    unknown until it is half done); a queued one's expected start and end (see monitoring.forecast),
    which counts the clusters' workers: jobs run here instead wait for one another, one at a time."""
    if job.status == Job.Status.RUNNING:
        timing = forecast.of(job)
        if timing.past_estimate_by is None:
            return f" eta {timing.left:.0f}s" if timing.left else ""
        left = "unknown" if timing.left is None else f"{timing.left:.0f}s"
        return f" eta {left}, {timing.past_estimate_by:.0f}s over its {timing.estimate.seconds:.0f}s estimate"
    if job.status != Job.Status.QUEUED or not in_clusters:
        return ""
    timing = forecast.of(job)
    if timing.starts_in is None:
        return f" eta start unknown: {START_UNKNOWN[timing.start_unknown_because]}"
    done = "" if timing.ends_in is None else f", done {timing.ends_in:.0f}s"
    return f" eta start {timing.starts_in:.0f}s{done}"


def bar(job: Job, in_clusters: bool = True) -> str:
    filled = int(round(job.progress * BAR_WIDTH))
    queue = f" (queue #{job.queue_position()})" if job.status == Job.Status.QUEUED else ""
    # The ETA goes last: _follow leaves it out when it decides whether a line moved.
    return f"{job.pk:<28} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {job.progress:4.0%} {job.status:<9} {job.stage}{queue}{_eta(job, in_clusters)}"


def start(jobs: list[Job], inline: bool) -> list[threading.Thread]:
    """Hand the jobs to the worker cluster, or run them here one after another (`inline`)."""
    if not inline:
        for job in jobs:
            runner.submit(job)
        return []

    def run_all() -> None:
        try:
            for job in jobs:
                runner.execute(job.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=run_all, daemon=True)
    thread.start()
    return [thread]


# How long Ctrl-C waits for a job run here to stop at its next progress report.
CANCEL_WAIT_SECONDS = 10


def follow(jobs: list[Job], write, workers: list[threading.Thread] = (), poll: float = 0.5, timeout: float | None = None) -> list[Job]:
    """Print each job's bar as it moves until all have ended (or `timeout`, or the inline `workers`
    are gone: a job they could not run must not keep the command waiting); returns the final rows.
    Ctrl-C cancels the jobs run here, and leaves those handed to the clusters running."""
    try:
        return _follow(jobs, write, workers, poll, timeout)
    except KeyboardInterrupt:
        ids = ", ".join(job.pk for job in jobs)
        if not workers:
            raise CommandError(f"interrupted: {ids} go on in the queue (GET /api/tasks/<id>)") from None
        for job in jobs:
            runner.request_cancel(job)
        for worker in workers:
            worker.join(CANCEL_WAIT_SECONDS)
        raise CommandError(f"interrupted: {ids} cancelled") from None


def _follow(jobs: list[Job], write, workers: list[threading.Thread], poll: float, timeout: float | None) -> list[Job]:
    deadline = time.monotonic() + timeout if timeout else None
    ids = [job.pk for job in jobs]
    shown: dict[str, str] = {}
    while True:
        rows = {job.pk: job for job in Job.objects.filter(pk__in=ids)}
        current = [rows[job_id] for job_id in ids]
        for job in current:
            line = bar(job, in_clusters=not workers)
            # A new line only when the bar, status, stage or the kind of ETA changed (one overrunning its
            # estimate says so once), not for every tick of its seconds.
            bar_part, _, eta_part = line.partition(" eta")
            key = bar_part + re.sub(r"\d+", "", eta_part)
            if shown.get(job.pk) != key:
                write(line)
                shown[job.pk] = key
        if all(job.is_finished for job in current) or (deadline and time.monotonic() > deadline):
            return current
        if workers and not any(worker.is_alive() for worker in workers):
            return [Job.objects.get(pk=job_id) for job_id in ids]
        time.sleep(poll)
