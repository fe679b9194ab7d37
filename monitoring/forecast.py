"""When queued jobs should start and end.

Each queue is its own django-q2 cluster whose workers take its jobs first come first served, so a
queued job starts when a worker is free for it: after the time left of the jobs running in its
queue and the estimated durations of the jobs queued ahead of it (anyone's), never because of
another queue. Where one of those is unknown (a job queued without an estimate, a running one past its
estimate with no pace yet), so is everything after it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from django.conf import settings

from monitoring.models import Job

# A GPU queue this server does not serve itself (another machine's) has one worker, as every GPU queue.
GPU_QUEUE_WORKERS = 1
# What Job.eta() reads, and no more: a queue may hold many jobs with long logs.
TIMING_FIELDS = ("id", "status", "progress", "eta_seconds", "params", "started_at", "finished_at")


@dataclass(frozen=True)
class Forecast:
    """Seconds from now; None where the queue's jobs do not tell."""
    starts_in: float | None
    ends_in: float | None


def queue_workers(queue: str) -> int:
    if queue == settings.INTERACTIVE_QUEUE:
        return settings.Q_CLUSTER["workers"]
    return settings.Q_CLUSTER["ALT_CLUSTERS"].get(queue, {"workers": GPU_QUEUE_WORKERS})["workers"]


def schedule(workers: int, running_left: list[float | None], waiting: list[tuple[str, float | None]]) -> dict[str, Forecast]:
    """The forecast of each waiting (job id, estimated duration), in the order the queue serves them,
    for the jobs it can tell; `running_left` are the running jobs' times left. More jobs running than
    `workers` means more workers than this server's settings say (another machine's cluster): each counts."""
    free_in = [0.0] * max(workers - len(running_left), 0) + list(running_left)
    forecasts = {}
    for job_id, duration in waiting:
        known = [seconds for seconds in free_in if seconds is not None]
        if not known or (None in free_in and min(known) > 0):
            break  # a worker nobody can time may be the next one free
        starts_in = min(known)
        ends_in = None if duration is None else starts_in + duration
        free_in.remove(starts_in)
        free_in.append(ends_in)
        forecasts[job_id] = Forecast(starts_in, ends_in)
    return forecasts


def queue_forecasts(queue: str) -> dict[str, Forecast]:
    jobs = Job.objects.filter(queue=queue).only(*TIMING_FIELDS)
    running = jobs.filter(status=Job.Status.RUNNING)
    waiting = jobs.filter(status=Job.Status.QUEUED).order_by("created_at", "id")
    return schedule(queue_workers(queue), [job.eta() for job in running], [(job.pk, job.eta()) for job in waiting])


def forecasts_for(jobs: Iterable[Job]) -> dict[str, Forecast]:
    """The forecasts of the queued ones among `jobs`, one look at each of their queues."""
    forecasts = {}
    for queue in {job.queue for job in jobs if job.status == Job.Status.QUEUED}:
        forecasts.update(queue_forecasts(queue))
    return forecasts


def forecast(job: Job, forecasts: dict[str, Forecast]) -> Forecast:
    """A queued job's place in its queue's forecast; a running or finished one ends when its time left says."""
    if job.status == Job.Status.QUEUED:
        return forecasts.get(job.pk, Forecast(None, None))
    return Forecast(None, job.eta())
