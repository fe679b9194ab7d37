"""How long a job of the interactive queue should take, learned from this server's own finished jobs.

A job is queued with its workload: what its running time grows with (seconds of speech to render,
characters to speak, seconds of a reference or a video to analyse, or the job itself for a chat
turn, whose answer's length nobody knows beforehand) and the conditions that change the pace (the
model type, CPU or GPU, the synthesis engine). Its estimate is that amount times the median seconds
per unit of the last successful jobs with the same workload basis; until there are enough of them,
a built-in rate chosen on the slow side, so that a first forecast errs late rather than early.
The estimate taken when the job is queued is kept in its params like a training's, as the record of
what was said then; a forecast reads the estimate again (`Current`), so that a job queued before this
server had timed any job like it is forecast from those that finished while it waited.
"""
from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass

from echofu import paths
from engines import media
from monitoring.models import Job

logger = logging.getLogger(__name__)

HISTORY = 20  # the latest successful jobs a rate is learned from: the server's pace now, not a year ago
MIN_HISTORY = 3  # fewer finished jobs than this teach nothing yet (the first one also loads the models)

# Seconds per unit until this server has timed its own jobs. The README's job bench measured a 10 s
# EchoLite render in 3.65 s idle and 5.07 s beside two trainings, and 5 s of speech (about 20 Chinese
# or 70 English characters) in 1.24 s / 1.62 s; these are about three times those, for slower or
# busier machines, and for text the Chinese rate (fewer characters per second of speech).
PRIOR_SECONDS_PER_UNIT = {
    "speech_seconds": 1.0,  # a render of that much recorded speech
    "characters": 0.1,  # speech synthesis of a text
    "characters_rendered": 0.4,  # a render that first speaks its text: the speech, then about 0.25 s of video per character
    "reference_seconds": 0.5,  # a speaker profile from a reference recording (cleaning, pitch, embedding)
    "video_seconds": 0.5,  # an upload's check: probing, then every model type's face and audio check
    "video": 60.0,  # an upload's check where the upload's length is not known
    "turn": 60.0,  # a chat turn: transcription, the LLM's answer, its speech and video
}


@dataclass(frozen=True)
class Estimate:
    seconds: float
    learned_from: int | None  # how many finished jobs it comes from; 0: the built-in rate; None: not this server's history (a training's engine)


@dataclass(frozen=True)
class Rate:
    seconds_per_unit: float
    learned_from: int

    def estimate(self, amount: float) -> Estimate:
        return Estimate(self.seconds_per_unit * amount, self.learned_from)


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


def seconds_per_unit(kind: str, basis: str, limit: int = HISTORY) -> list[float]:
    """The pace of the latest successful jobs of this workload basis, newest first."""
    finished = (Job.objects.filter(kind=kind, status=Job.Status.SUCCEEDED, params__workload__basis=basis,
                                   started_at__isnull=False, finished_at__isnull=False)
                .order_by("-finished_at").values_list("started_at", "finished_at", "params")[:limit])
    return [(end - start).total_seconds() / params["workload"]["amount"] for start, end, params in finished]


def rate(kind: str, job_workload: dict) -> Rate:
    """The pace jobs of this workload's basis go at, from the finished ones there are now."""
    rates = seconds_per_unit(kind, job_workload["basis"])
    if len(rates) < MIN_HISTORY:
        return Rate(PRIOR_SECONDS_PER_UNIT[job_workload["unit"]], 0)
    return Rate(statistics.median(rates), len(rates))


def estimate(kind: str, job_workload: dict) -> Estimate:
    return rate(kind, job_workload).estimate(job_workload["amount"])


class Current:
    """Jobs' estimated durations as this server knows them when asked, each workload basis looked up once."""

    def __init__(self):
        self._rates: dict[tuple[str, str], Rate] = {}

    def of(self, job: Job) -> Estimate | None:
        """A job with a workload: from the jobs like it finished by now. Any other keeps the figure it
        was queued with (a training's engine estimate); a queued job's eta_seconds is that figure, a
        running one's is the runner's last pace, not an estimate."""
        job_workload = job.params.get("workload")
        if job_workload:
            key = (job.kind, job_workload["basis"])
            if key not in self._rates:
                self._rates[key] = rate(job.kind, job_workload)
            return self._rates[key].estimate(job_workload["amount"])
        seconds = job.params.get("estimated_seconds", job.eta_seconds if job.status == Job.Status.QUEUED else None)
        return None if seconds is None else Estimate(seconds, job.params.get("estimate_learned_from"))


def with_estimate(kind: str, params: dict) -> dict:
    """`params` with its workload's estimate, as a training is queued with its own (estimated_seconds)."""
    if "estimated_seconds" in params or not params.get("workload"):
        return params
    found = estimate(kind, params["workload"])
    return {**params, "estimated_seconds": round(found.seconds, 1), "estimate_learned_from": found.learned_from}
