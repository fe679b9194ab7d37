"""How long a job should take, learned from this server's own finished jobs.

A job is queued with its workload: what its running time grows with (seconds of speech to render,
characters to speak, seconds of a reference or a video to analyse, or the job itself for a chat
turn, whose answer's length nobody knows beforehand) and the conditions that change the pace (the
model type, CPU or GPU, the synthesis engine). Its estimate is a start-up time plus that amount times
seconds per unit, a line fitted to the last successful jobs with the same workload basis: every render
loads its model first, so one rate per unit made short jobs come out under and long ones over. The
fit is Theil-Sen's (the median slope between pairs of jobs, then the median start-up under it), so a
job slowed by a training beside it does not move the line. Where the jobs' amounts are too alike to
tell a slope (a chat turn is always one turn) or the line makes no sense (a negative start-up or
slope, from noise), the median seconds per unit. Until there are enough jobs, a built-in rate
chosen on the slow side, so that a first forecast errs late rather than early; a training's is its
engine's own estimate where the engine makes one (EchoLite, from the frames and the epochs: its
workload is that estimate, which this server's trainings calibrate), and none otherwise (ER-NeRF's
and SyncTalk's iterations take what their GPU and checkout make of them).
The estimate taken when the job is queued is kept in its params, as the record of what was said then; a forecast reads the estimate again (`Current`), so that a job queued before this
server had timed any job like it is forecast from those that finished while it waited.
"""
from __future__ import annotations

import itertools
import logging
import statistics
from dataclasses import dataclass

from echofu import paths
from engines import media
from monitoring.models import Job

logger = logging.getLogger(__name__)

HISTORY = 20  # the latest successful jobs a rate is learned from: the server's pace now, not a year ago
MIN_HISTORY = 3  # fewer finished jobs than this teach nothing yet (the first one also loads the models)
# Two jobs tell a slope only when one's amount is this many times the other's: 10 s and 10.5 s of
# speech differ by their noise, not by their length.
AMOUNTS_APART = 1.25

# Seconds per unit until this server has timed its own jobs. The README's job bench measured, at load
# average 2-3, a 10 s EchoLite render in 3.65 s idle and 5.07 s beside two trainings, and 5 s of speech
# (about 20 Chinese or 70 English characters) in 1.24 s / 1.62 s; these are about three times those, for
# slower or busier machines, and for text the Chinese rate (fewer characters per second of speech).
PRIOR_SECONDS_PER_UNIT = {
    "speech_seconds": 1.0,  # a render of that much recorded speech
    "characters": 0.1,  # speech synthesis of a text
    "characters_rendered": 0.4,  # a render that first speaks its text: the speech, then about 0.25 s of video per character
    # A voice cloned from a recording: cleaning, transcription and a fit per base voice, about 1-1.5 s per
    # second of speech on 2 cores (58-83 s for 57 s), then its self-evaluation, about 15 s whatever the length
    # (PRIOR_STARTUP_SECONDS): 26 s for an 8 s recording on 2026-12-07.
    "reference_seconds": 1.2,
    "video_seconds": 0.5,  # an upload's check: probing, then every model type's face and audio check
    "video": 60.0,  # an upload's check where the upload's length is not known
    "turn": 60.0,  # a chat turn: transcription, the LLM's answer, its speech and video
}
# Seconds a job of that unit takes whatever its amount, until this server has timed its own.
PRIOR_STARTUP_SECONDS = {"reference_seconds": 15.0}
# A training's workload in seconds of its engine's own estimate: until this server has timed trainings
# like it, that estimate as it is, said to be the engine's (learned_from None), not a built-in rate.
ENGINE_SECONDS = "engine_seconds"


@dataclass(frozen=True)
class Estimate:
    seconds: float
    learned_from: int | None  # how many finished jobs it comes from; 0: the built-in rate; None: not this server's history (a training's engine)


@dataclass(frozen=True)
class Rate:
    seconds_per_unit: float
    learned_from: int | None
    startup_seconds: float = 0.0

    def estimate(self, amount: float) -> Estimate:
        return Estimate(self.startup_seconds + self.seconds_per_unit * amount, self.learned_from)


def device_class(device: str) -> str:
    """cuda:0 and cuda:1 run at one pace, the CPU at another."""
    return device.partition(":")[0] or "cpu"


def workload(kind: str, unit: str, amount: float | None, *conditions: str) -> dict | None:
    """The params entry a job is estimated by (None where its amount cannot be measured: no estimate)."""
    amount = None if amount is None else round(float(amount), 3)
    if not amount or amount < 0:  # a rate is seconds per unit: nothing to divide by
        return None
    return {"basis": "/".join([kind, *conditions, unit]), "unit": unit, "amount": amount}


def media_seconds(relative_path: str) -> float | None:
    """The length of a media file the request named, for its job's workload; None when it cannot be read."""
    try:
        return media.probe(paths.absolute(relative_path)).duration
    except Exception:  # the job itself reports an unreadable file; its forecast just has no end
        logger.info("no duration for %s: its job gets no estimate", relative_path, exc_info=True)
        return None


def timed(kind: str, basis: str, limit: int = HISTORY) -> list[tuple[float, float]]:
    """(amount, seconds taken) of the latest successful jobs of this workload basis, newest first."""
    finished = (Job.objects.filter(kind=kind, status=Job.Status.SUCCEEDED, params__workload__basis=basis,
                                   started_at__isnull=False, finished_at__isnull=False)
                .order_by("-finished_at").values_list("started_at", "finished_at", "params")[:limit])
    return [(params["workload"]["amount"], (end - start).total_seconds()) for start, end, params in finished]


def fitted_line(jobs: list[tuple[float, float]]) -> tuple[float, float] | None:
    """(start-up seconds, seconds per unit) through (amount, seconds) pairs; None where they tell no line."""
    slopes = [(longer_took - took) / (longer - amount)
              for (amount, took), (longer, longer_took) in itertools.combinations(sorted(jobs), 2)
              if longer >= amount * AMOUNTS_APART]
    if not slopes:
        return None
    per_unit = statistics.median(slopes)
    startup = statistics.median(took - per_unit * amount for amount, took in jobs)
    return (startup, per_unit) if per_unit > 0 and startup >= 0 else None


def prior(unit: str) -> Rate | None:
    """The rate used before this server has timed enough jobs like it; None where nothing is known (iterations)."""
    if unit == ENGINE_SECONDS:
        return Rate(1.0, None)
    if unit not in PRIOR_SECONDS_PER_UNIT:
        return None
    return Rate(PRIOR_SECONDS_PER_UNIT[unit], 0, PRIOR_STARTUP_SECONDS.get(unit, 0.0))


def rate(kind: str, job_workload: dict) -> Rate | None:
    """How long jobs of this workload's basis take, from the finished ones there are now."""
    jobs = timed(kind, job_workload["basis"])
    if len(jobs) < MIN_HISTORY:
        return prior(job_workload["unit"])
    line = fitted_line(jobs)
    if line is None:
        return Rate(statistics.median(took / amount for amount, took in jobs), len(jobs))
    startup, per_unit = line
    return Rate(per_unit, len(jobs), startup)


def estimate(kind: str, job_workload: dict) -> Estimate | None:
    found = rate(kind, job_workload)
    return None if found is None else found.estimate(job_workload["amount"])


class Current:
    """Jobs' estimated durations as this server knows them when asked, each workload basis looked up once."""

    def __init__(self):
        self._rates: dict[tuple[str, str], Rate | None] = {}

    def of(self, job: Job) -> Estimate | None:
        """A job with a workload: from the jobs like it finished by now. Any other keeps the figure it
        was queued with (a training queued before trainings had workloads); a queued job's eta_seconds is
        that figure, a running one's is the runner's last pace, not an estimate."""
        job_workload = job.params.get("workload")
        if job_workload:
            key = (job.kind, job_workload["basis"])
            if key not in self._rates:
                self._rates[key] = rate(job.kind, job_workload)
            found = self._rates[key]
            return None if found is None else found.estimate(job_workload["amount"])
        seconds = job.params.get("estimated_seconds", job.eta_seconds if job.status == Job.Status.QUEUED else None)
        return None if seconds is None else Estimate(seconds, job.params.get("estimate_learned_from"))


def with_estimate(kind: str, params: dict) -> dict:
    """`params` with its workload's estimate (estimated_seconds), where there is one."""
    if "estimated_seconds" in params or not params.get("workload"):
        return params
    found = estimate(kind, params["workload"])
    if found is None:
        return params
    return {**params, "estimated_seconds": round(found.seconds, 1), "estimate_learned_from": found.learned_from}
