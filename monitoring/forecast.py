"""How long jobs take, and when queued ones should start and end.

Each queue is its own django-q2 cluster whose workers take its jobs first come first served, so a
queued job starts when a worker is free for it: after the time left of the jobs running in its
queue and the estimated durations of the jobs queued ahead of it (anyone's), never because of
another queue. Where one of those is unknown (a job queued without an estimate, a running one past its
estimate and less than half done), so is everything after it, and the forecast says which of the two
it is. Estimates are read as this server knows them
when asked (monitoring.estimates.Current), not as they were when each job was queued.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from monitoring.estimates import Current, Estimate
from monitoring.models import PACE_FROM, Job, seconds_left

# A GPU queue this server does not serve itself (another machine's) has one worker, as every GPU queue.
GPU_QUEUE_WORKERS = 1
# Past its estimate, a job's own pace is trusted from this far along: a stage that stalls early (a
# probe's face check at 10 %) made the pace of its first tenth say nine times the time it had run.
PACE_PAST_ESTIMATE_FROM = 0.5
# Why a queued job's start is not known (start_unknown_reason): a job running ahead of it has overrun its
# estimate and is not yet half done, or a job ahead has no estimate (none queued with it, or none learned yet).
AHEAD_OVERRAN = "job_ahead_overran"
AHEAD_NOT_ESTIMATED = "job_ahead_not_estimated"
# What the job cards and the admin say for each.
START_UNKNOWN_EXPLAINED = {
    AHEAD_OVERRAN: _("Start not known yet (the job ahead is taking longer than estimated)"),
    AHEAD_NOT_ESTIMATED: _("Start not known yet (a job ahead has no estimate yet)"),
}
# What a forecast reads, and no more: a queue may hold many jobs with long logs.
TIMING_FIELDS = ("id", "kind", "status", "progress", "eta_seconds", "params", "started_at", "finished_at")


@dataclass(frozen=True)
class Forecast:
    """Seconds from now; None where the queue's jobs do not tell."""
    starts_in: float | None
    ends_in: float | None
    left: float | None  # eta_seconds: a queued job's estimated duration, a running one's time left, a finished one's 0
    estimate: Estimate | None  # an unfinished job's duration as this server knows it now
    past_estimate_by: float | None = None  # a running job that has run longer than its estimate: by how much
    start_unknown_because: str | None = None  # a queued job whose start is not known: AHEAD_OVERRAN or AHEAD_NOT_ESTIMATED


def time_left(job: Job, expected: Estimate | None) -> float | None:
    """A running job's comes from its progress and the time it has run until now, not from its last
    report: a stage that reports rarely (a probe's face check) otherwise shows the time left at that
    report, a fraction of a second, for as long as it works on. It counts down the estimate (a
    training prepares its frames for minutes at 0 %) and weighs it against its own pace as its
    progress grows: progress is reported per stage (a chat turn is 10 % along when its LLM starts, a
    render from text 30 % once its quick speech is made), so early on it tells little about the pace,
    and before 10 % nothing. Within its estimate that weighing never says more than the estimate's
    share not yet done. Past its estimate the estimate has nothing left to say: its own pace, once
    it is more than half done; before that nobody knows (None, and forecasts_for says how far past
    it is), rather than 0 while it still works or a stalled stage's pace stretched without end.
    A queued job's is its estimate, a finished one's 0."""
    if job.status == Job.Status.RUNNING and job.started_at:
        elapsed = job.elapsed_seconds()
        paced = seconds_left(elapsed, job.progress)
        if expected is None:
            return paced
        if elapsed >= expected.seconds:
            return paced if job.progress >= PACE_PAST_ESTIMATE_FROM else None
        # The estimate's say: its share not yet done, or what is left of it if less (it counts down at 0 %).
        estimated = min(expected.seconds - elapsed, (1 - job.progress) * expected.seconds)
        if paced is None:
            return estimated
        # The pace's weight grows from 0 where it is first read, so the figure does not jump there. A
        # weight of `progress` itself cancelled: p x pace + (1 - p) x (estimate - elapsed) is
        # (1 - p) x estimate, whatever the pace.
        pace_weight = (job.progress - PACE_FROM) / (1 - PACE_FROM)
        return pace_weight * paced + (1 - pace_weight) * estimated
    if job.status == Job.Status.QUEUED:
        return None if expected is None else expected.seconds
    return job.eta_seconds


def past_estimate_by(job: Job, expected: Estimate | None) -> float | None:
    if job.status != Job.Status.RUNNING or not job.started_at or expected is None:
        return None
    over = job.elapsed_seconds() - expected.seconds
    return over if over > 0 else None


def queue_workers(queue: str) -> int:
    if queue == settings.INTERACTIVE_QUEUE:
        return settings.Q_CLUSTER["workers"]
    return settings.Q_CLUSTER["ALT_CLUSTERS"].get(queue, {"workers": GPU_QUEUE_WORKERS})["workers"]


def schedule(workers: int, running_left: list[float | None], waiting: list[tuple[str, float | None]]) -> dict[str, tuple[float, float | None]]:
    """(starts in, ends in) of each waiting (job id, estimated duration), in the order the queue serves
    them, for the jobs it can tell; `running_left` are the running jobs' times left. More jobs running
    than `workers` means more workers than this server's settings say (another machine's cluster): each counts."""
    free_in = [0.0] * max(workers - len(running_left), 0) + list(running_left)
    scheduled = {}
    for job_id, duration in waiting:
        known = [seconds for seconds in free_in if seconds is not None]
        if not known or (None in free_in and min(known) > 0):
            break  # a worker nobody can time may be the next one free
        starts_in = min(known)
        ends_in = None if duration is None else starts_in + duration
        free_in.remove(starts_in)
        free_in.append(ends_in)
        scheduled[job_id] = (starts_in, ends_in)
    return scheduled


def queue_schedule(queue: str, current: Current) -> tuple[dict[str, tuple[float, float | None]], str]:
    """The queue's schedule, and why a job it leaves out cannot be timed."""
    jobs = Job.objects.filter(queue=queue).only(*TIMING_FIELDS)
    running_left, overran = [], False
    for job in jobs.filter(status=Job.Status.RUNNING):
        expected = current.of(job)
        left = time_left(job, expected)
        overran = overran or (left is None and past_estimate_by(job, expected) is not None)
        running_left.append(left)
    waiting = jobs.filter(status=Job.Status.QUEUED).order_by("created_at", "id")
    scheduled = schedule(queue_workers(queue), running_left, [(job.pk, time_left(job, current.of(job))) for job in waiting])
    return scheduled, AHEAD_OVERRAN if overran else AHEAD_NOT_ESTIMATED


def forecasts_for(jobs: Iterable[Job]) -> dict[str, Forecast]:
    """The forecast of each of `jobs`, one look at each of their queues that has queued ones among them."""
    jobs = list(jobs)
    current = Current()
    scheduled, unknown_because = {}, {}
    for queue in {job.queue for job in jobs if job.status == Job.Status.QUEUED}:
        queue_scheduled, unknown_because[queue] = queue_schedule(queue, current)
        scheduled.update(queue_scheduled)
    forecasts = {}
    for job in jobs:
        expected = None if job.is_finished else current.of(job)
        left = time_left(job, expected)
        if job.status == Job.Status.QUEUED and job.pk in scheduled:
            forecasts[job.pk] = Forecast(*scheduled[job.pk], left, expected)
        elif job.status == Job.Status.QUEUED:
            forecasts[job.pk] = Forecast(None, None, left, expected, start_unknown_because=unknown_because[job.queue])
        else:  # running or finished: it ends when its time left says
            forecasts[job.pk] = Forecast(None, left, left, expected, past_estimate_by(job, expected))
    return forecasts


def of(job: Job) -> Forecast:
    return forecasts_for([job])[job.pk]
